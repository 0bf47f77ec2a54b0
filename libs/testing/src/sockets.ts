import { io, type Socket } from 'socket.io-client';
import type {
  Ack,
  ClientEventAckData,
  ClientEventName,
  ClientEventPayload,
  ClientToServerEvents,
  ServerEventName,
  ServerEventPayload,
  ServerToClientEvents,
} from '@chat/contracts';

export type ChatClient = Socket<ServerToClientEvents, ClientToServerEvents>;

export interface ConnectOptions {
  token?: string;
  /** Sent as `Authorization: Bearer` instead of `auth.token`. */
  bearer?: string;
  /**
   * What to wait for: the server's `authenticated` (default with a token: the socket is then fully set up),
   * the connection only, or nothing.
   */
  wait?: 'authenticated' | 'connect' | false;
  /** More handshake `auth` fields (e.g. `deliveryAcks`). */
  auth?: Record<string, unknown>;
}

/** A socket.io client on the websocket transport, as the Flutter client connects. */
export async function connectClient(url: string, { token, bearer, wait, auth }: ConnectOptions = {}): Promise<ChatClient> {
  const socket: ChatClient = io(url, {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    autoConnect: false,
    ...(token === undefined && auth === undefined ? {} : { auth: { ...auth, ...(token === undefined ? {} : { token }) } }),
    ...(bearer === undefined ? {} : { extraHeaders: { authorization: `Bearer ${bearer}` } }),
  });
  const until = wait ?? (token === undefined && bearer === undefined ? 'connect' : 'authenticated');
  // Listen before connecting: the server may say `authenticated` in the same breath as the connect.
  const ready =
    until === false
      ? Promise.resolve()
      : new Promise<void>((resolve, reject) => {
          socket.once(until === 'authenticated' ? 'authenticated' : 'connect', () => resolve());
          socket.once('connect_error', (error) => reject(error));
        });
  socket.connect();
  await ready;
  return socket;
}

/** The next `event` the socket receives. */
export function nextEvent<E extends ServerEventName>(socket: ChatClient, event: E, timeoutMs = 5000): Promise<ServerEventPayload<E>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off(event, listener as never);
      reject(new Error(`no ${event} within ${timeoutMs} ms`));
    }, timeoutMs);
    const listener = (payload: ServerEventPayload<E>) => {
      clearTimeout(timer);
      resolve(payload);
    };
    socket.once(event, listener as never);
  });
}

/** Every `event` the socket receives from now on, for asserting counts and absence. */
export function collectEvents<E extends ServerEventName>(socket: ChatClient, event: E): ServerEventPayload<E>[] {
  const seen: ServerEventPayload<E>[] = [];
  socket.on(event, ((payload: ServerEventPayload<E>) => seen.push(payload)) as never);
  return seen;
}

/** Emits with an acknowledgement and resolves with it. */
export function emitWithAck<E extends ClientEventName>(
  socket: ChatClient,
  event: E,
  payload: ClientEventPayload<E>,
  timeoutMs = 10_000,
): Promise<Ack<ClientEventAckData<E>>> {
  const emit = socket.timeout(timeoutMs).emitWithAck as (event: E, payload: ClientEventPayload<E>) => Promise<unknown>;
  return emit.call(socket.timeout(timeoutMs), event, payload) as Promise<Ack<ClientEventAckData<E>>>;
}

/** Resolves once `check` returns true, polling; for state that has no event to wait on (e.g. a database). */
export async function waitFor(check: () => boolean | Promise<boolean>, { timeoutMs = 10_000, intervalMs = 25 } = {}): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

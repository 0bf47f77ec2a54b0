/**
 * A load generator: holds pairs of Socket.IO clients (both users of a pair live in this thread, so a
 * send and its `new_message` are timed on one clock) and idle clients. Driven by messages from `run.ts`, as a
 * worker thread or, when the connections need more descriptors than one process may hold, as a child process
 * (its init in BENCH_WORKER_INIT, messages over IPC).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { conversationIdOf, type UserId } from '@chat/contracts';
import { signToken } from '@chat/testing';
import { io, type Socket } from 'socket.io-client';
import { IdleSocket } from './idle-socket.ts';

export interface WorkerInit {
  /** Socket.IO URLs of the gateways; idle clients are spread over them, pairs over `pairUrls`. */
  urls: string[];
  /** Where pairs connect (a on one, b on the next): default `urls`. */
  pairUrls?: string[];
  /** Reconnect a client whose connection dropped, to the next URL (the reconnect storm of `--gateways`). */
  reconnect?: boolean;
  secret: string;
  /** Prefix of every user id and message key of this run and worker. */
  prefix: string;
  /** Connections opened at once while connecting. */
  connectConcurrency: number;
  /** What says a client is ready: ours emits `authenticated`; the baseline has only the connection. */
  readyOn: 'authenticated' | 'connect';
  /**
   * The idle clients' implementation: `light` (`idle-socket.ts`: `ws` and the protocol's parsers, a fraction of
   * the CPU per connect) or `official` (socket.io-client, as the pairs are).
   */
  idleClient: 'light' | 'official';
  /**
   * Whether idle users' tokens carry a `name` claim, as an app's do: each new user is then one profile event and
   * one profile upsert in the messages service (on FerretDB v1 a scan of the profiles table each).
   */
  idleNames: boolean;
}

export interface PhaseOptions {
  name: string;
  /** `rate`: open loop at `ratePerSecond` over all senders; `window`: each sender keeps `window` sends unacked. */
  mode: 'rate' | 'window';
  ratePerSecond: number;
  window: number;
  durationMs: number;
  ackTimeoutMs: number;
}

export interface PhaseResult {
  latencies: number[];
  ackLatencies: number[];
  sent: number;
  acked: number;
  failed: number;
  errors: Record<string, number>;
}

/** A load generator's event-loop delay over a stretch of the run. */
export interface LoopDelay {
  p99Ms: number;
  maxMs: number;
}

export interface FinalResult {
  phases: Record<string, PhaseResult>;
  sent: string[];
  acked: string[];
  failed: string[];
  received: Array<[string, number]>;
  orderViolations: number;
  errorEvents: number;
  disconnects: number;
}

export type WorkerRequest =
  | { id: number; type: 'connectPairs'; pairs: number }
  | { id: number; type: 'signIdle'; count: number }
  | { id: number; type: 'connectIdle'; count: number; offset: number }
  | { id: number; type: 'reconnects' }
  | { id: number; type: 'loopDelay' }
  | { id: number; type: 'closeIdle'; count?: number }
  | { id: number; type: 'phase'; options: PhaseOptions }
  | { id: number; type: 'drain'; timeoutMs: number }
  | { id: number; type: 'final' }
  | { id: number; type: 'close' };

interface Client {
  userId: string;
  /** The token it connected with, and reconnects with. */
  token: string;
  socket: Socket;
  /** Index in the URLs it connected to. */
  urlIndex: number;
  urls: string[];
  peer?: Client;
  conversationId?: string;
  /** Sends of this client counted per key, in order. */
  nextIndex: number;
  inFlight: number;
  /** Last index received from the peer (per-sender order). */
  lastFromPeer: number;
}

/** A user that only holds a connection (presence, subscriptions: the memory and connect-rate figures). */
interface IdleClient {
  userId: string;
  token: string;
  urlIndex: number;
  urls: string[];
  connection: { disconnect(): void };
}

const init = (parentPort ? workerData : JSON.parse(process.env.BENCH_WORKER_INIT ?? 'null')) as WorkerInit;
const port: { on(event: 'message', listener: (request: WorkerRequest) => void): void; postMessage(message: unknown): void } | undefined =
  parentPort
    ? parentPort
    : process.send
      ? { on: (event, listener) => process.on(event, listener as never), postMessage: (message) => process.send!(message) }
      : undefined;
if (!port) throw new Error('worker.ts runs as a worker thread or a child process with IPC');

const pairs: Client[] = [];
const idle: IdleClient[] = [];
/** When each key was sent, and the phase it counts in. */
const sendTimes = new Map<string, { at: number; phase: PhaseResult }>();
const phases: Record<string, PhaseResult> = {};
const sentKeys: string[] = [];
const ackedKeys: string[] = [];
const failedKeys: string[] = [];
const received = new Map<string, number>();
let orderViolations = 0;
let errorEvents = 0;
let disconnects = 0;
let closing = false;
let userCounter = 0;
/** Idle users and their tokens signed by `signIdle`, for the next `connectIdle`. */
let signed: { users: string[]; tokens: string[] } | undefined;
let pairCounter = 0;

/** A token as the surrounding app issues it, valid for longer than any run. */
const token = (userId: string, named = true): Promise<string> =>
  signToken({ userId, secret: init.secret, expiresIn: 6 * 3600, ...(named ? { claims: { name: userId } } : {}) });

/**
 * This load generator's own event-loop delay since the last `loopDelay` request: when it is seconds, what it times
 * (and the handshakes it is late to send: a gateway answers a request whose headers take 10 s with HTTP 408) is the
 * generator's, not the system's.
 */
const loopDelay = monitorEventLoopDelay({ resolution: 20 });
loopDelay.enable();

/** Reconnections after a dropped connection (`--gateways` storm): how many, how long each took, failures. */
const reconnects = { dropped: 0, reconnected: 0, attempts: 0, failedAttempts: 0, errors: {} as Record<string, number>, ms: [] as number[] };

/** Connects one chatting client (socket.io-client) and resolves once it is authenticated. */
async function connect(userId: string, urls: string[] = init.urls, urlIndex = 0, signed?: string): Promise<Client> {
  const signedToken = signed ?? (await token(userId));
  const socket = await openOfficial(urls[urlIndex % urls.length] as string, signedToken);
  const client: Client = {
    userId,
    token: signedToken,
    socket,
    urlIndex: urlIndex % urls.length,
    urls,
    nextIndex: 0,
    inFlight: 0,
    lastFromPeer: -1,
  };
  watchOfficial(client);
  return client;
}

function officialSocket(url: string, signedToken: string): Socket {
  return io(url, { transports: ['websocket'], reconnection: false, forceNew: true, autoConnect: false, auth: { token: signedToken } });
}

/** A socket.io-client socket once it is ready; closed again when it is not. */
async function openOfficial(url: string, signedToken: string): Promise<Socket> {
  const socket = officialSocket(url, signedToken);
  try {
    await ready(socket);
  } catch (error) {
    socket.close();
    throw error;
  }
  return socket;
}

/** Counts a chatting client's errors and drops; in the storm a dropped one reconnects, keeping its listeners. */
function watchOfficial(client: Client): void {
  client.socket.on('error', () => errorEvents++);
  client.socket.on('disconnect', () => {
    if (closing) return;
    disconnects++;
    if (!init.reconnect) return;
    void reconnect(client, async (url) => {
      const socket = await openOfficial(url, client.token);
      const listeners = client.socket.listeners('new_message');
      client.socket.removeAllListeners();
      client.socket = socket;
      for (const listener of listeners) socket.on('new_message', listener as never);
      watchOfficial(client);
    });
  });
}

/** Connects one idle client with the configured implementation; resolves once it is authenticated. */
async function connectIdle(userId: string, signedToken: string, urlIndex: number): Promise<IdleClient> {
  const client: IdleClient = {
    userId,
    token: signedToken,
    urls: init.urls,
    urlIndex: urlIndex % init.urls.length,
    connection: { disconnect() {} },
  };
  client.connection = await openIdle(client);
  return client;
}

/** An idle client's connection to its current URL, watched for drops (which, in the storm, reconnect it). */
async function openIdle(client: IdleClient): Promise<{ disconnect(): void }> {
  const url = client.urls[client.urlIndex] as string;
  const dropped = () => {
    if (closing) return;
    disconnects++;
    if (init.reconnect)
      void reconnect(client, async () => {
        client.connection = await openIdle(client);
      });
  };
  if (init.idleClient === 'official') {
    const socket = await openOfficial(url, client.token);
    socket.on('error', () => errorEvents++);
    socket.on('disconnect', dropped);
    return socket;
  }
  const socket = new IdleSocket(url, client.token);
  await socket.connect(init.readyOn);
  socket.onClose(dropped);
  socket.onServerError(() => errorEvents++);
  return socket;
}

/**
 * socket.io-client's reconnection delays with its defaults (`reconnectionDelay` 1 s, `reconnectionDelayMax` 5 s,
 * `randomizationFactor` 0.5): 1 s × 2^attempt, ± up to half of it at random, at most 5 s. The first attempt waits
 * too, as a real client's does after its connection dropped.
 */
function reconnectDelay(attempt: number): number {
  let ms = 1000 * 2 ** attempt;
  const rand = Math.random();
  const deviation = Math.floor(rand * 0.5 * ms);
  ms = (Math.floor(rand * 10) & 1) === 0 ? ms - deviation : ms + deviation;
  return Math.min(ms, 5000) | 0;
}

/**
 * Opens the same user's connection again, with the token it had (as a Socket.IO client does: its `auth` is kept),
 * after socket.io-client's backoff: first on a random other gateway (a load balancer's choice among the
 * survivors), then on the next, until it is back or the run ends. Failed attempts are counted by cause.
 */
async function reconnect(client: { urlIndex: number; urls: string[] }, open: (url: string) => Promise<void>): Promise<void> {
  reconnects.dropped++;
  const started = performance.now();
  client.urlIndex = (client.urlIndex + 1 + Math.floor(Math.random() * Math.max(1, client.urls.length - 1))) % client.urls.length;
  for (let attempt = 0; !closing; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, reconnectDelay(attempt)));
    if (closing) return;
    if (attempt > 0) client.urlIndex = (client.urlIndex + 1) % client.urls.length;
    reconnects.attempts++;
    try {
      await open(client.urls[client.urlIndex] as string);
    } catch (error) {
      reconnects.failedAttempts++;
      const code = String((error as Error).message).slice(0, 60);
      reconnects.errors[code] = (reconnects.errors[code] ?? 0) + 1;
      continue;
    }
    reconnects.reconnected++;
    reconnects.ms.push(performance.now() - started);
    return;
  }
}

/** Resolves once a socket is connected and (ours) authenticated. */
async function ready(socket: Socket): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no connection within 30 s')), 30_000);
    let connected = false;
    let authenticated = init.readyOn === 'connect';
    // Ours emits `authenticated` after the socket is subscribed; the baseline has no such event, so its
    // `connect` is enough (its handshake already verified the token).
    const done = () => {
      if (!connected || !authenticated) return;
      clearTimeout(timer);
      resolve();
    };
    socket.once('connect', () => {
      connected = true;
      done();
    });
    socket.once('authenticated', () => {
      authenticated = true;
      done();
    });
    socket.once('connect_error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.connect();
  });
}

async function inBatches<T>(count: number, make: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(count);
  let next = 0;
  const lanes = Array.from({ length: Math.min(count, init.connectConcurrency) }, async () => {
    while (next < count) {
      const i = next++;
      out[i] = await make(i);
    }
  });
  await Promise.all(lanes);
  return out;
}

function keyOf(client: Client, index: number): string {
  return `${client.userId}.${index}`;
}

function onNewMessage(client: Client, message: { content?: { text?: unknown } }): void {
  const text = message.content?.text;
  if (typeof text !== 'string' || !text.startsWith('bench ')) return;
  const key = text.slice('bench '.length);
  const dot = key.lastIndexOf('.');
  const senderId = key.slice(0, dot);
  // Both participants get the message (the sender too, on its other devices): only the receiver counts.
  if (senderId === client.userId) return;
  received.set(key, (received.get(key) ?? 0) + 1);
  const index = Number(key.slice(dot + 1));
  if (index <= client.lastFromPeer) orderViolations++;
  client.lastFromPeer = Math.max(client.lastFromPeer, index);
  const sent = sendTimes.get(key);
  if (sent) sent.phase.latencies.push(performance.now() - sent.at);
}

async function connectPairs(count: number): Promise<void> {
  const made = await inBatches(count, async () => {
    const n = pairCounter++;
    // The two users of a pair on two gateways (when there are several): every message crosses between them.
    const urls = init.pairUrls ?? init.urls;
    const a = await connect(`${init.prefix}a${n}`, urls, n);
    const b = await connect(`${init.prefix}b${n}`, urls, n + 1);
    a.peer = b;
    b.peer = a;
    a.conversationId = b.conversationId = conversationIdOf(a.userId as UserId, b.userId as UserId);
    for (const client of [a, b]) {
      client.socket.on('new_message', (message: { content?: { text?: unknown } }) => onNewMessage(client, message));
      client.socket.emit('join_conversation', { conversationId: client.conversationId, userId: client.userId });
    }
    return [a, b];
  });
  for (const [a, b] of made) pairs.push(a as Client, b as Client);
}

function send(client: Client, options: PhaseOptions, phase: PhaseResult, onDone?: () => void): void {
  const peer = client.peer as Client;
  const index = client.nextIndex++;
  const key = keyOf(client, index);
  const started = performance.now();
  sendTimes.set(key, { at: started, phase });
  sentKeys.push(key);
  phase.sent++;
  client.inFlight++;
  client.socket.timeout(options.ackTimeoutMs).emit(
    'send_message',
    {
      conversationId: client.conversationId,
      receiverId: peer.userId,
      messageType: 'text',
      content: { text: `bench ${key}` },
      clientMessageId: `m${index}`,
    },
    (error: Error | null, ack?: { ok: boolean; error?: { code?: string } }) => {
      client.inFlight--;
      if (!error && ack?.ok) {
        ackedKeys.push(key);
        phase.acked++;
        phase.ackLatencies.push(performance.now() - started);
      } else {
        failedKeys.push(key);
        const code = error ? 'ACK_TIMEOUT' : (ack?.error?.code ?? 'UNKNOWN');
        phase.failed++;
        phase.errors[code] = (phase.errors[code] ?? 0) + 1;
      }
      onDone?.();
    },
  );
}

/** Sends for the phase's duration; its latencies keep arriving after (collect them with `final`). */
async function runPhase(options: PhaseOptions): Promise<{ sent: number }> {
  const result: PhaseResult = { latencies: [], ackLatencies: [], sent: 0, acked: 0, failed: 0, errors: {} };
  phases[options.name] = result;
  const started = performance.now();
  const end = started + options.durationMs;
  if (pairs.length === 0) return { sent: 0 };
  if (options.mode === 'rate') {
    let sent = 0;
    let next = 0;
    await new Promise<void>((resolve) => {
      const tick = () => {
        const now = performance.now();
        const due = Math.min(options.durationMs, now - started) * (options.ratePerSecond / 1000);
        while (sent < due) {
          send(pairs[next] as Client, options, result);
          next = (next + 1) % pairs.length;
          sent++;
        }
        if (now >= end) {
          clearInterval(timer);
          resolve();
        }
      };
      const timer = setInterval(tick, 1);
    });
  } else {
    let stopped = false;
    const pump = (client: Client) => {
      while (!stopped && client.inFlight < options.window) {
        const failedBefore = result.failed;
        // After a refusal, wait a little instead of spinning on errors.
        send(client, options, result, () => (result.failed > failedBefore ? setTimeout(() => pump(client), 50) : pump(client)));
      }
    };
    for (const client of pairs) pump(client);
    await new Promise((resolve) => setTimeout(resolve, options.durationMs));
    stopped = true;
  }
  return { sent: result.sent };
}

async function drain(timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const inFlight = pairs.reduce((n, c) => n + c.inFlight, 0);
    const expected = ackedKeys.length;
    let seen = 0;
    for (const key of ackedKeys) if (received.has(key)) seen++;
    if (inFlight === 0 && seen === expected) return true;
    if (performance.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

port.on('message', async (request: WorkerRequest) => {
  try {
    switch (request.type) {
      case 'connectPairs':
        await connectPairs(request.pairs);
        port.postMessage({ id: request.id, ok: true, result: { connected: pairs.length } });
        return;
      case 'signIdle': {
        const users = Array.from({ length: request.count }, () => `${init.prefix}i${userCounter++}`);
        signed = { users, tokens: await Promise.all(users.map((userId) => token(userId, init.idleNames))) };
        port.postMessage({ id: request.id, ok: true, result: {} });
        return;
      }
      case 'connectIdle': {
        // Tokens are signed before the clock starts (here, or by `signIdle` before): the connection rate is the
        // gateway's, not jose's here.
        const prepared = signed?.users.length === request.count ? signed : undefined;
        signed = undefined;
        const users = prepared?.users ?? Array.from({ length: request.count }, () => `${init.prefix}i${userCounter++}`);
        const tokens = prepared?.tokens ?? (await Promise.all(users.map((userId) => token(userId, init.idleNames))));
        const started = performance.now();
        let failed = 0;
        const errors: Record<string, number> = {};
        const made = await inBatches(request.count, async (i) => {
          try {
            return await connectIdle(users[i] as string, tokens[i] as string, request.offset + i);
          } catch (error) {
            failed++;
            const code = String((error as Error).message).slice(0, 60);
            errors[code] = (errors[code] ?? 0) + 1;
            return undefined;
          }
        });
        const seconds = (performance.now() - started) / 1000;
        idle.push(...made.filter((client): client is IdleClient => client !== undefined));
        port.postMessage({ id: request.id, ok: true, result: { connected: idle.length, failed, errors, seconds } });
        return;
      }
      case 'reconnects':
        port.postMessage({ id: request.id, ok: true, result: { ...reconnects, ms: [...reconnects.ms] } });
        return;
      case 'loopDelay':
        port.postMessage({
          id: request.id,
          ok: true,
          result: { p99Ms: loopDelay.percentile(99) / 1e6, maxMs: loopDelay.max / 1e6 } satisfies LoopDelay,
        });
        loopDelay.reset();
        return;
      case 'closeIdle':
        closing = true;
        for (const client of idle.splice(request.count === undefined ? 0 : Math.max(0, idle.length - request.count)))
          client.connection.disconnect();
        closing = false;
        port.postMessage({ id: request.id, ok: true, result: {} });
        return;
      case 'phase': {
        const result = await runPhase(request.options);
        port.postMessage({ id: request.id, ok: true, result });
        return;
      }
      case 'drain':
        port.postMessage({ id: request.id, ok: true, result: { drained: await drain(request.timeoutMs) } });
        return;
      case 'final': {
        const result: FinalResult = {
          phases,
          sent: sentKeys,
          acked: ackedKeys,
          failed: failedKeys,
          received: [...received],
          orderViolations,
          errorEvents,
          disconnects,
        };
        port.postMessage({ id: request.id, ok: true, result });
        return;
      }
      case 'close':
        closing = true;
        for (const client of pairs) client.socket.disconnect();
        for (const client of idle) client.connection.disconnect();
        port.postMessage({ id: request.id, ok: true, result: {} });
        return;
    }
  } catch (error) {
    port.postMessage({ id: request.id, ok: false, error: String((error as Error).stack ?? error) });
  }
});

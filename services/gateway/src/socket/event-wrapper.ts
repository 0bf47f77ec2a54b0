import {
  ChatError,
  clientEvents,
  otherParticipant,
  toChatError,
  validationError,
  type Ack,
  type ConversationId,
  type ClientEventAckData,
  type ClientEventName,
  type ParsedClientEventPayload,
  type UserId,
} from '@chat/contracts';
import type { AuthUser } from '@chat/auth';
import type { Logger } from '@chat/logger';
import { inSpan, SpanKind } from '@chat/telemetry';
import { rateLimited, type Limits } from '../limits/limits.ts';
import type { LimitName } from '../limits/policy.ts';
import type { GatewayMetrics } from '../metrics.ts';
import type { ChatSocket } from '../chat-socket.ts';

export interface HandlerContext {
  socket: ChatSocket;
  /** The authenticated user (a `public` event may run without one: then it is absent). */
  user: AuthUser;
}

/** The context of an event about a conversation: the wrapper checked the user takes part in it. */
export interface ConversationContext extends HandlerContext {
  /** The conversation's other participant. */
  other: UserId;
}

/** The client events whose payload names a conversation: only its participants may send them. */
export type ConversationEventName = {
  [E in ClientEventName]: ParsedClientEventPayload<E> extends { conversationId: ConversationId } ? E : never;
}[ClientEventName];

export type EventHandler<E extends ClientEventName> = (
  context: E extends ConversationEventName ? ConversationContext : HandlerContext,
  payload: ParsedClientEventPayload<E>,
) => Promise<ClientEventAckData<E>>;

/** How the gateway handles one client event: its handler, and what the wrapper checks before calling it. */
export interface EventSpec<E extends ClientEventName> {
  handler: EventHandler<E>;
  /** The limit this event counts against (policy.ts), checked right after authentication, before the payload is validated. */
  limit?: LimitName;
  /** May run before the socket authenticated. */
  public?: boolean;
}

/**
 * Every client event of the contracts with its handler: a new event in `clientEvents` without an entry here
 * fails to compile (`satisfies EventTable`).
 */
export type EventTable = { [E in ClientEventName]: EventSpec<E> };

export interface WrapperOptions {
  logger: Logger;
  /** The limits in force; also counts the socket's invalid events and disconnects it past their limit. */
  limits?: Limits;
  metrics?: GatewayMetrics;
}

/**
 * Counts an invalid or unknown event of a socket; past the `invalid_event` limit the socket is told why and
 * disconnected (a client that keeps sending what the server cannot take is broken or hostile).
 */
export async function countInvalidEvent(socket: ChatSocket, limits: Limits | undefined): Promise<void> {
  if (!limits || socket.disconnected) return;
  const answer = await limits.take('invalid_event', socket.id);
  if (answer.allowed) return;
  socket.emit('error', rateLimited('invalid_event', answer.retryAfterMs, 'Too many invalid events: disconnected').toPayload());
  socket.disconnect(true);
}

/**
 * The listeners of an event table by event name, one per event, made once per server and shared by every socket
 * (called with the socket as `this`): no closure per socket and event, which at tens of thousands of sockets is a
 * good part of their memory. Keyed by every client event of the contracts (the table is exhaustive), so a name
 * missing here is not one the server handles.
 */
export function eventListeners(
  table: EventTable,
  options: WrapperOptions,
): ReadonlyMap<string, (this: ChatSocket, ...args: unknown[]) => Promise<void>> {
  return new Map(
    (Object.keys(table) as ClientEventName[]).map((event) => [
      event,
      eventListener(event, table[event] as EventSpec<typeof event>, options),
    ]),
  );
}

/**
 * The one wrapper every client event goes through: authenticated? → within its limit? → validate → a
 * participant of the conversation it names? → call → ack, timed and counted. Any failure answers the spec's
 * `error` event with a stable code, and the ack (when the client gave one) with `{ ok: false, error }`; nothing a
 * client sends can throw out of here.
 */
function eventListener<E extends ClientEventName>(
  event: E,
  { handler, limit, public: isPublic = false }: EventSpec<E>,
  { logger, limits, metrics }: WrapperOptions,
): (this: ChatSocket, ...args: unknown[]) => Promise<void> {
  const call = handler as (context: HandlerContext | ConversationContext, payload: unknown) => Promise<ClientEventAckData<E>>;
  // The listen map types payloads as `unknown`; this listener takes the raw arguments to find the ack.
  return async function (this: ChatSocket, ...args: unknown[]) {
    const socket = this;
    const ack = typeof args.at(-1) === 'function' ? (args.at(-1) as (response: Ack<ClientEventAckData<E>>) => void) : undefined;
    const raw = args.length > 0 && typeof args[0] !== 'function' ? args[0] : undefined;
    const endTimer = metrics?.eventSeconds.startTimer({ event });
    const attributes = { 'socket.io.event': event, ...(socket.data.user ? { 'user.id': socket.data.user.userId } : {}) };
    await inSpan(`socket.io ${event}`, { kind: SpanKind.SERVER, attributes }, async (span) => {
      try {
        const user = socket.data.user;
        if (!user && !isPublic) throw new ChatError('UNAUTHENTICATED');
        if (limit && limits) {
          const answer = await limits.take(limit, limits.per(limit) === 'user' && user ? user.userId : socket.id);
          if (!answer.allowed) throw rateLimited(limit, answer.retryAfterMs, 'Too many events of this kind: slow down and retry');
        }
        const parsed = clientEvents[event].payload.safeParse(raw);
        if (!parsed.success) throw validationError(parsed.error, `${event} payload`);
        const context: HandlerContext = { socket, user: user as AuthUser };
        const conversationId = (parsed.data as { conversationId?: unknown }).conversationId;
        let data: ClientEventAckData<E>;
        if (typeof conversationId === 'string' && user) {
          // The conversation id names both participants: anyone else is refused here, for every event.
          const other = otherParticipant(conversationId as ConversationId, user.userId);
          if (!other) throw new ChatError('NOT_PARTICIPANT');
          data = await call({ ...context, other }, parsed.data);
        } else {
          data = await call(context, parsed.data);
        }
        metrics?.events.inc({ event, outcome: 'ok' });
        ack?.({ ok: true, data });
      } catch (error) {
        const chatError = toChatError(error);
        if (chatError.code === 'INTERNAL_ERROR') logger.error({ err: error, event, socket: socket.id }, 'event handler failed');
        span.setAttribute('error.type', chatError.code);
        metrics?.events.inc({ event, outcome: chatError.code });
        if (event === 'send_message') metrics?.messagesFailed.inc({ code: chatError.code });
        const payload = chatError.toPayload({ event, ...clientMessageIdOf(raw) });
        socket.emit('error', payload);
        ack?.({ ok: false, error: payload });
        if (chatError.code === 'VALIDATION_ERROR') await countInvalidEvent(socket, limits);
      } finally {
        endTimer?.();
      }
    });
  };
}

/** Echo the client's message id on errors, so it can mark the right message as failed. */
function clientMessageIdOf(raw: unknown): { clientMessageId?: string } {
  if (typeof raw !== 'object' || raw === null) return {};
  const id = (raw as { clientMessageId?: unknown }).clientMessageId;
  return typeof id === 'string' && id.length <= 64 ? { clientMessageId: id } : {};
}

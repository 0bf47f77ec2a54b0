import {
  ChatError,
  clientEvents,
  toChatError,
  validationError,
  type Ack,
  type ClientEventAckData,
  type ClientEventName,
  type ParsedClientEventPayload,
} from '@chat/contracts';
import type { AuthUser } from '@chat/auth';
import type { Logger } from '@chat/logger';
import { inSpan, SpanKind } from '@chat/telemetry';
import type { Limits } from '../limits/limits.ts';
import type { LimitName } from '../limits/policy.ts';
import type { GatewayMetrics } from '../metrics.ts';
import type { ChatServer, ChatSocket } from './types.ts';

/** The metrics each server's events are counted in (set once per server, at start). */
const metricsOf = new WeakMap<object, GatewayMetrics>();
export function observeEvents(io: ChatServer, metrics: GatewayMetrics): void {
  metricsOf.set(io, metrics);
}

export interface HandlerContext {
  socket: ChatSocket;
  /** The authenticated user; handlers registered with `public: true` may run without one. */
  user: AuthUser;
}

export type EventHandler<E extends ClientEventName> = (
  context: HandlerContext,
  payload: ParsedClientEventPayload<E>,
) => Promise<ClientEventAckData<E>>;

export interface HandlerOptions {
  /** May run before the socket authenticated. */
  public?: boolean;
  /** The limit this event counts against (policy.ts), checked before anything else is done for it. */
  limit?: LimitName;
  /** The limits in force; also counts the socket's invalid events and disconnects it past their limit. */
  limits?: Limits;
}

/**
 * Counts an invalid or unknown event of a socket; past the `invalid_event` limit the socket is told why and
 * disconnected (a client that keeps sending what the server cannot take is broken or hostile).
 */
export async function countInvalidEvent(socket: ChatSocket, limits: Limits | undefined): Promise<void> {
  if (!limits || socket.disconnected || (await limits.take('invalid_event', socket.id))) return;
  socket.emit('error', new ChatError('RATE_LIMITED', 'Too many invalid events: disconnected', { limit: 'invalid_event' }).toPayload());
  socket.disconnect(true);
}

/**
 * The one wrapper every client event goes through: authenticated? → within its limit? → validate → call → ack.
 * Any failure answers the spec's `error` event with a stable code, and the ack (when the client gave one) with
 * `{ ok: false, error }`; nothing a client sends can throw out of here.
 */
export function registerHandler<E extends ClientEventName>(
  socket: ChatSocket,
  event: E,
  handler: EventHandler<E>,
  logger: Logger,
  options: HandlerOptions = {},
): void {
  socket.on(event, eventListener(event, handler, logger, options, metricsOf.get(socket.nsp.server)) as never);
}

/**
 * `registerHandler`'s listener, made once per server and event and shared by every socket (Socket.IO calls a
 * listener with the socket as `this`): no closure per socket and event, which at tens of thousands of sockets
 * is a good part of their memory.
 */
export function eventListener<E extends ClientEventName>(
  event: E,
  handler: EventHandler<E>,
  logger: Logger,
  { public: isPublic = false, limit, limits }: HandlerOptions = {},
  metrics?: GatewayMetrics,
): (this: ChatSocket, ...args: unknown[]) => Promise<void> {
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
        if (limit && limits && !(await limits.take(limit, limits.per(limit) === 'user' && user ? user.userId : socket.id))) {
          throw new ChatError('RATE_LIMITED', 'Too many events of this kind: slow down and retry', { limit });
        }
        const parsed = clientEvents[event].payload.safeParse(raw);
        if (!parsed.success) throw validationError(parsed.error, `${event} payload`);
        const data = await handler({ socket, user: user as AuthUser }, parsed.data as ParsedClientEventPayload<E>);
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

/** The metrics of a server's events (set by `observeEvents`). */
export const eventMetricsOf = (io: ChatServer): GatewayMetrics | undefined => metricsOf.get(io);

/** Echo the client's message id on errors, so it can mark the right message as failed. */
function clientMessageIdOf(raw: unknown): { clientMessageId?: string } {
  if (typeof raw !== 'object' || raw === null) return {};
  const id = (raw as { clientMessageId?: unknown }).clientMessageId;
  return typeof id === 'string' && id.length <= 64 ? { clientMessageId: id } : {};
}

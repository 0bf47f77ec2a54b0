import { type IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { ChatError, DELIVERY_ACKS_AUTH_FIELD, toChatError, type BusNames } from '@chat/contracts';
import { bearerToken, type AuthUser, type TokenVerifier } from '@chat/auth';
import type { Bus } from '@chat/bus';
import type { Logger } from '@chat/logger';
import type { ConversationCommands } from '../delivery/conversation-commands.ts';
import type { PendingSends } from '../delivery/pending-sends.ts';
import type { UserDeliveries } from '../delivery/user-deliveries.ts';
import type { GatewayMetrics } from '../metrics.ts';
import type { Limits } from '../limits/limits.ts';
import type { GatewayPresence } from '../presence/gateway-presence.ts';
import type { ProfilePublisher } from '../profiles/profile-publisher.ts';
import type { TypingRelay } from '../typing/typing-relay.ts';
import { userRoom } from '../rooms.ts';
import { authenticateHandler } from './handlers/authenticate.ts';
import { getOnlineStatusHandler } from './handlers/get-online-status.ts';
import { joinConversationHandler } from './handlers/join-conversation.ts';
import { markAsReadHandler } from './handlers/mark-as-read.ts';
import { sendMessageHandler } from './handlers/send-message.ts';
import { syncMessagesHandler } from './handlers/sync-messages.ts';
import { typingStartHandler, typingStopHandler } from './handlers/typing.ts';
import { countInvalidEvent, eventListeners, type EventTable } from './event-wrapper.ts';
import { tokenExpiries } from './token-expiry.ts';
import type { ChatServer, ChatSocket } from '../chat-socket.ts';

export interface ConnectionDeps {
  io: ChatServer;
  verifier: TokenVerifier;
  bus: Bus;
  names: BusNames;
  commands: ConversationCommands;
  deliveries: UserDeliveries;
  pending: PendingSends;
  profiles: ProfilePublisher;
  logger: Logger;
  presence: GatewayPresence;
  typing: TypingRelay;
  metrics: GatewayMetrics;
  limits: Limits;
  /** Sockets one user may hold on this gateway. */
  maxSocketsPerUser: number;
  /** Sockets from one address not authenticated yet, on this gateway. */
  maxUnauthenticatedPerAddress: number;
  authTimeoutMs: number;
  sendAckTimeoutMs: number;
  /** False once the gateway is shutting down: sends are refused so clients resend them elsewhere. */
  acceptingSends: () => boolean;
}

type Handshake = ChatSocket['handshake'];

/**
 * The request headers a socket keeps once it is set up. The handshake middleware (the token) and the origin check
 * read the full headers before that; afterwards only the Admin UI reads them (the client's address behind a proxy,
 * and its socket view). The rest (WebSocket keys, host, …) would stay in memory as long as the socket does.
 */
const KEPT_HEADERS = ['origin', 'user-agent', 'x-forwarded-for', 'cf-connecting-ip'] as const;
const NOTHING: Readonly<Record<string, never>> = Object.freeze({});

/** Drops what Socket.IO keeps of the handshake that nothing reads after the connection is set up. */
function trimHandshake(socket: ChatSocket): void {
  const handshake = socket.handshake;
  let kept: Record<string, string | string[]> | undefined;
  for (const name of KEPT_HEADERS) {
    const value = handshake.headers[name];
    if (value !== undefined) (kept ??= {})[name] = value;
  }
  handshake.headers = kept ?? NOTHING;
  handshake.query = NOTHING;
  handshake.auth = NOTHING;
  // engine.io's reference to the first HTTP request of the session (the upgrade request of a WebSocket): its
  // headers, raw headers, query and stream state. Socket.IO reads it only to build a namespace's handshake.
  (socket.conn as { request: unknown }).request = null;
}

/**
 * For a WebSocket upgrade, engine.io hands its middlewares a stand-in response that holds the request (and its TCP
 * socket), and that a `close` listener on the TCP socket holds for the socket's life: so the request outlived
 * `conn.request`. Once the upgrade is done (it completes within the microtasks of its turn), the stand-in lets the
 * request go.
 *
 * Until then the TCP socket is corked: `ws` writes the `101 Switching Protocols` answer and engine.io its `open`
 * packet in that same turn, and corked they leave in one write instead of two: one wake-up and read fewer for the
 * client (docs/benchmarks.md, seventh pass). An upgrade refused on the way (origin, bad request) is uncorked as it
 * is refused, so its error answer still goes out before engine.io destroys the socket (`uncorkRefused`).
 */
function coalesceUpgrade(request: IncomingMessage, response: unknown, next: (error?: Error) => void): void {
  if (!(response instanceof ServerResponse) && typeof response === 'object' && response !== null && 'req' in response) {
    request.socket.cork();
    setImmediate(upgradeDone, response, request.socket);
  }
  next();
}
/** Uncorks a socket `coalesceUpgrade` corked, once: whichever of the upgrade's end and its refusal comes first. */
const uncork = (tcp: Socket | undefined) => {
  if (tcp !== undefined && tcp.writableCorked > 0) tcp.uncork();
};
const upgradeDone = (response: { req: unknown }, tcp: Socket) => {
  response.req = null;
  uncork(tcp);
};
const uncorkRefused = ({ req }: { req?: IncomingMessage }) => uncork(req?.socket);

/** The token of the handshake: `auth.token` (the spec's clients) or `Authorization: Bearer`. */
function tokenOf(handshake: Handshake): string | undefined {
  const fromAuth = (handshake.auth as { token?: unknown } | undefined)?.token;
  if (typeof fromAuth === 'string' && fromAuth.length > 0) return fromAuth;
  return bearerToken(handshake.headers.authorization);
}

/** Wires authentication and every client event of a socket. */
export function setUpConnections(deps: ConnectionDeps): void {
  const { io, verifier, deliveries, logger, limits } = deps;
  /** Sockets not authenticated yet, by address: each costs a connection until AUTH_TIMEOUT_MS. */
  const unauthenticated = new Map<string, number>();
  const refuse = (next: (error?: Error) => void, error: ChatError) => {
    const refusal = new Error(error.message) as Error & { data?: unknown };
    refusal.data = error.toPayload();
    next(refusal);
  };

  io.engine.use(coalesceUpgrade);
  io.engine.on('connection_error', uncorkRefused);

  // A handshake with a token must carry a good one; without a token the socket may still `authenticate`.
  io.use(async (socket, next) => {
    const token = tokenOf(socket.handshake);
    if (!token) {
      if ((unauthenticated.get(socket.handshake.address) ?? 0) >= deps.maxUnauthenticatedPerAddress) {
        deps.metrics.rateLimited.inc({ limit: 'unauthenticated_sockets' });
        return refuse(
          next,
          new ChatError('RATE_LIMITED', 'Too many connections waiting to authenticate from this address', {
            limit: 'unauthenticated_sockets',
          }),
        );
      }
      return next();
    }
    try {
      socket.data.user = await verifier.verify(token);
      // Not kept for the socket's life (a few hundred bytes each): the token is verified, and a refresh brings its own.
      const auth = socket.handshake.auth as { token?: unknown } | undefined;
      if (auth?.token === token) delete auth.token;
      next();
    } catch (error) {
      const chatError = toChatError(error);
      deps.metrics.connectionErrors.inc({
        reason: String((chatError.details as { reason?: string } | undefined)?.reason ?? chatError.code),
      });
      const refusal = new Error(chatError.message) as Error & { data?: unknown };
      refusal.data = chatError.toPayload();
      next(refusal);
    }
  });

  /**
   * What a connection needs beyond its Socket.IO socket is in `socket.data` (its token's expiry, its subscription):
   * no object or map entry of ours per socket. Every listener below is made once and shared by all sockets
   * (Socket.IO calls it with the socket as `this`), so a socket costs no closures of ours either: at tens of
   * thousands of idle sockets those were a good part of their memory. Only sockets not authenticated yet have
   * more: their auth timer, here.
   */
  const authTimers = new Map<ChatSocket, NodeJS.Timeout>();
  /** The socket authenticated or is gone: it no longer waits, nor counts against its address. */
  const stopWaiting = (socket: ChatSocket): void => {
    const timer = authTimers.get(socket);
    if (timer === undefined) return;
    clearTimeout(timer);
    authTimers.delete(socket);
    const address = socket.handshake.address;
    const left = (unauthenticated.get(address) ?? 1) - 1;
    if (left > 0) unauthenticated.set(address, left);
    else unauthenticated.delete(address);
  };
  /** (Re)starts the countdown to this user's token expiry. */
  const expireAt = (socket: ChatSocket, user: AuthUser): void => {
    stopExpiry(socket);
    if (user.expiresAt === undefined) return;
    socket.data.expiresAt = user.expiresAt;
    expiries.add(socket, user.expiresAt);
  };
  const stopExpiry = (socket: ChatSocket): void => {
    if (socket.data.expiresAt !== undefined) expiries.delete(socket, socket.data.expiresAt);
    socket.data.expiresAt = undefined;
  };
  const expiries = tokenExpiries(
    () => deps.metrics.connectionErrors.inc({ reason: 'token_expired' }),
    (error) => logger.error({ err: error }, 'could not disconnect a socket whose token expired'),
  );

  const onAuthenticated = async (authed: ChatSocket): Promise<void> => {
    const user = authed.data.user;
    if (!user || authed.disconnected) return;
    stopWaiting(authed);
    if ((io.sockets.adapter.rooms.get(userRoom(user.userId))?.size ?? 0) >= deps.maxSocketsPerUser) {
      deps.metrics.rateLimited.inc({ limit: 'sockets_per_user' });
      authed.emit('error', new ChatError('RATE_LIMITED', 'Too many connections for this user', { limit: 'sockets_per_user' }).toPayload());
      authed.disconnect(true);
      return;
    }
    expireAt(authed, user);
    // Live messages wait until the replay of missed ones is done, so none is shown twice or out of order.
    deliveries.holdLive(authed, user.userId);
    await authed.join(userRoom(user.userId));
    await deliveries.acquire(user.userId);
    authed.data.subscribedAs = user.userId;
    if (authed.disconnected) {
      deliveries.release(user.userId);
      authed.data.subscribedAs = undefined;
      return;
    }
    deps.presence.authenticated(authed, user.userId);
    authed.emit('authenticated', { userId: user.userId, success: true });
    logger.debug({ socket: authed.id, userId: user.userId }, 'socket authenticated');
    deps.profiles.publish(user);
    await deliveries.catchUp(authed, user.userId);
  };
  const onRefreshed = (authed: ChatSocket) => authed.data.user && !authed.disconnected && expireAt(authed, authed.data.user);

  const events = {
    authenticate: { handler: authenticateHandler({ verifier, onAuthenticated, onRefreshed }), public: true },
    join_conversation: { handler: joinConversationHandler({ presence: deps.presence }), limit: 'join_conversation' },
    send_message: {
      handler: sendMessageHandler({
        bus: deps.bus,
        names: deps.names,
        commands: deps.commands,
        pending: deps.pending,
        metrics: deps.metrics,
        ackTimeoutMs: deps.sendAckTimeoutMs,
        acceptingSends: deps.acceptingSends,
        logger,
      }),
      limit: 'send_message',
    },
    mark_as_read: { handler: markAsReadHandler({ commands: deps.commands, logger }), limit: 'mark_as_read' },
    sync_messages: { handler: syncMessagesHandler({ bus: deps.bus, names: deps.names }), limit: 'sync_messages' },
    get_online_status: { handler: getOnlineStatusHandler({ presence: deps.presence }), limit: 'get_online_status' },
    typing_start: { handler: typingStartHandler({ typing: deps.typing }), limit: 'typing' },
    typing_stop: { handler: typingStopHandler({ typing: deps.typing }), limit: 'typing' },
  } satisfies EventTable;
  const listeners = eventListeners(events, { logger, limits, metrics: deps.metrics });

  /**
   * The one listener of every client event: Socket.IO calls a socket's `onAny` listeners with each event it
   * receives, and this one looks the event up in the table. Not a listener per event on every socket (eleven
   * `socket.on` calls and their entries per connection, at tens of thousands of connections).
   *
   * Anything this server does not handle is answered, never silently dropped. Whether an event is handled is
   * decided by the table (every client event of the contracts), not by the socket's listeners: Socket.IO itself
   * listens to `error` on every socket, so a client emitting `error` still gets its answer.
   */
  function onAnyEvent(this: ChatSocket, event: string, ...args: unknown[]): void {
    const listener = listeners.get(event);
    if (listener) {
      void listener.apply(this, args);
      return;
    }
    const error = new ChatError('UNKNOWN_EVENT', `'${String(event).slice(0, 64)}' is not an event this server handles`);
    const payload = error.toPayload({ event: String(event).slice(0, 64) });
    this.emit('error', payload);
    const ack = args.at(-1);
    if (typeof ack === 'function') ack({ ok: false, error: payload });
    void countInvalidEvent(this, limits);
  }

  function onDisconnect(this: ChatSocket, reason: string): void {
    deps.metrics.connections.dec();
    stopWaiting(this);
    stopExpiry(this);
    deliveries.forget(this);
    deps.presence.gone(this);
    deps.typing.socketGone(this.id);
    const subscribedAs = this.data.subscribedAs;
    this.data.subscribedAs = undefined;
    if (subscribedAs) deliveries.release(subscribedAs);
    logger.debug({ socket: this.id, reason, userId: this.data.user?.userId }, 'socket disconnected');
  }

  function onAuthTimeout(socket: ChatSocket): void {
    if (socket.data.user) return;
    deps.metrics.connectionErrors.inc({ reason: 'auth_timeout' });
    socket.emit(
      'error',
      new ChatError('AUTH_ERROR', 'Authentication timed out: send a token at connect or with authenticate', {
        reason: 'missing_token',
      }).toPayload(),
    );
    socket.disconnect(true);
  }

  io.on('connection', (socket) => {
    socket.data.deliveryAcks = (socket.handshake.auth as Record<string, unknown> | undefined)?.[DELIVERY_ACKS_AUTH_FIELD] === true;
    trimHandshake(socket);
    deps.metrics.connections.inc();

    socket.onAny(onAnyEvent);
    socket.on('disconnect', onDisconnect);

    if (socket.data.user) {
      onAuthenticated(socket).catch((error: unknown) => {
        logger.error({ err: error, socket: socket.id }, 'could not set up an authenticated socket');
        socket.disconnect(true);
      });
    } else {
      const address = socket.handshake.address;
      unauthenticated.set(address, (unauthenticated.get(address) ?? 0) + 1);
      authTimers.set(socket, setTimeout(onAuthTimeout, deps.authTimeoutMs, socket));
    }
  });
}

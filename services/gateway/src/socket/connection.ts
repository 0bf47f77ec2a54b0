import { ChatError, CLIENT_EVENT_NAMES, DELIVERY_ACKS_AUTH_FIELD, toChatError, type BusNames, type ClientEventName } from '@chat/contracts';
import type { TokenVerifier } from '@chat/auth';
import type { Bus } from '@chat/bus';
import type { Logger } from '@chat/logger';
import type { ConversationCommands } from '../delivery/conversation-commands.ts';
import type { PendingSends } from '../delivery/pending-sends.ts';
import type { UserDeliveries } from '../delivery/user-deliveries.ts';
import type { GatewayMetrics } from '../metrics.ts';
import type { Limits } from '../limits/limits.ts';
import type { LimitName } from '../limits/policy.ts';
import type { GatewayPresence } from '../presence/gateway-presence.ts';
import type { ProfilePublisher } from '../profiles/profile-publisher.ts';
import { userRoom } from '../rooms.ts';
import { authenticate } from './handlers/authenticate.ts';
import { getOnlineStatus } from './handlers/get-online-status.ts';
import { joinConversation } from './handlers/join-conversation.ts';
import { markAsRead } from './handlers/mark-as-read.ts';
import { sendMessage } from './handlers/send-message.ts';
import { syncMessages } from './handlers/sync-messages.ts';
import { typingStart, typingStop } from './handlers/typing.ts';
import { countInvalidEvent, registerHandler, type EventHandler } from './register-handler.ts';
import { TokenExpiry } from './token-expiry.ts';
import type { ChatServer, ChatSocket } from './types.ts';

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

const CLIENT_EVENTS: ReadonlySet<unknown> = new Set(CLIENT_EVENT_NAMES);
const isClientEvent = (event: unknown): event is ClientEventName => CLIENT_EVENTS.has(event);

/** The token of the handshake: `auth.token` (the spec's clients) or `Authorization: Bearer`. */
function tokenOf(handshake: Handshake): string | undefined {
  const fromAuth = (handshake.auth as { token?: unknown } | undefined)?.token;
  if (typeof fromAuth === 'string' && fromAuth.length > 0) return fromAuth;
  const header = handshake.headers.authorization;
  const match = typeof header === 'string' ? /^Bearer\s+(\S+)$/i.exec(header) : null;
  return match?.[1];
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

  // A handshake with a token must carry a good one; without a token the socket may still `authenticate`.
  io.use(async (socket, next) => {
    const token = tokenOf(socket.handshake);
    if (!token) {
      if ((unauthenticated.get(socket.handshake.address) ?? 0) >= deps.maxUnauthenticatedPerAddress) {
        deps.metrics.rateLimited.inc({ limit: 'unauthenticated_sockets' });
        return refuse(next, new ChatError('RATE_LIMITED', 'Too many connections waiting to authenticate from this address', { limit: 'unauthenticated_sockets' }));
      }
      return next();
    }
    try {
      socket.data.user = await verifier.verify(token);
      next();
    } catch (error) {
      const chatError = toChatError(error);
      deps.metrics.connectionErrors.inc({ reason: String((chatError.details as { reason?: string } | undefined)?.reason ?? chatError.code) });
      const refusal = new Error(chatError.message) as Error & { data?: unknown };
      refusal.data = chatError.toPayload();
      next(refusal);
    }
  });

  io.on('connection', (socket) => {
    const log = logger.child({ socket: socket.id });
    const address = socket.handshake.address;
    let waitingToAuthenticate = !socket.data.user;
    if (waitingToAuthenticate) unauthenticated.set(address, (unauthenticated.get(address) ?? 0) + 1);
    const authenticatedNow = () => {
      if (!waitingToAuthenticate) return;
      waitingToAuthenticate = false;
      const left = (unauthenticated.get(address) ?? 1) - 1;
      if (left > 0) unauthenticated.set(address, left);
      else unauthenticated.delete(address);
    };
    socket.data.deliveryAcks = (socket.handshake.auth as Record<string, unknown> | undefined)?.[DELIVERY_ACKS_AUTH_FIELD] === true;
    deps.metrics.connections.inc();
    let subscribedAs: string | undefined;
    let authTimer: NodeJS.Timeout | undefined;
    const expiry = new TokenExpiry(socket, () => deps.metrics.connectionErrors.inc({ reason: 'token_expired' }));

    const onAuthenticated = async (authed: ChatSocket): Promise<void> => {
      const user = authed.data.user;
      if (!user) return;
      clearTimeout(authTimer);
      authenticatedNow();
      if ((io.sockets.adapter.rooms.get(userRoom(user.userId))?.size ?? 0) >= deps.maxSocketsPerUser) {
        deps.metrics.rateLimited.inc({ limit: 'sockets_per_user' });
        authed.emit('error', new ChatError('RATE_LIMITED', 'Too many connections for this user', { limit: 'sockets_per_user' }).toPayload());
        authed.disconnect(true);
        return;
      }
      expiry.schedule(user);
      // Live messages wait until the replay of missed ones is done, so none is shown twice or out of order.
      deliveries.holdLive(authed, user.userId);
      await authed.join(userRoom(user.userId));
      await deliveries.acquire(user.userId);
      subscribedAs = user.userId;
      if (authed.disconnected) {
        deliveries.release(user.userId);
        subscribedAs = undefined;
        return;
      }
      deps.presence.connected(authed, user.userId);
      authed.emit('authenticated', { userId: user.userId, success: true });
      log.debug({ userId: user.userId }, 'socket authenticated');
      deps.profiles.publish(user);
      await deliveries.catchUp(authed, user.userId);
    };

    const on = <E extends Parameters<typeof registerHandler>[1]>(event: E, handler: EventHandler<E>, limit?: LimitName) =>
      registerHandler(socket, event, handler, log, { limits, ...(limit ? { limit } : {}) });
    const onRefreshed = (authed: ChatSocket) => authed.data.user && expiry.schedule(authed.data.user);
    registerHandler(socket, 'authenticate', authenticate(verifier, onAuthenticated, onRefreshed), log, { public: true, limits });
    on('join_conversation', deps.presence.watchOnJoin(joinConversation), 'join_conversation');
    on(
      'send_message',
      sendMessage({
        bus: deps.bus,
        names: deps.names,
        commands: deps.commands,
        pending: deps.pending,
        metrics: deps.metrics,
        ackTimeoutMs: deps.sendAckTimeoutMs,
        acceptingSends: deps.acceptingSends,
        logger: log,
      }),
      'send_message',
    );
    on('mark_as_read', markAsRead({ commands: deps.commands, logger: log }), 'mark_as_read');
    on('sync_messages', syncMessages({ bus: deps.bus, names: deps.names }), 'sync_messages');
    on('get_online_status', getOnlineStatus(deps.presence), 'get_online_status');
    on('typing_start', typingStart(deps.presence), 'typing');
    on('typing_stop', typingStop(deps.presence), 'typing');

    // Anything this server does not handle is answered, never silently dropped. Whether an event is handled is
    // decided by the contracts, not by the socket's listeners: Socket.IO itself listens to `error` on every
    // socket, so a client emitting `error` would otherwise get no answer at all.
    socket.onAny((event: string, ...args: unknown[]) => {
      if (isClientEvent(event) && socket.listeners(event).length > 0) return;
      const error = new ChatError('UNKNOWN_EVENT', `'${String(event).slice(0, 64)}' is not an event this server handles`);
      const payload = error.toPayload({ event: String(event).slice(0, 64) });
      socket.emit('error', payload);
      const ack = args.at(-1);
      if (typeof ack === 'function') ack({ ok: false, error: payload });
      void countInvalidEvent(socket, limits);
    });

    socket.on('disconnect', (reason) => {
      deps.metrics.connections.dec();
      clearTimeout(authTimer);
      authenticatedNow();
      expiry.clear();
      deliveries.forget(socket);
      deps.presence.disconnected(socket);
      if (subscribedAs) deliveries.release(subscribedAs as never);
      log.debug({ reason, userId: socket.data.user?.userId }, 'socket disconnected');
    });

    if (socket.data.user) {
      onAuthenticated(socket).catch((error: unknown) => {
        log.error({ err: error }, 'could not set up an authenticated socket');
        socket.disconnect(true);
      });
    } else {
      authTimer = setTimeout(() => {
        if (socket.data.user) return;
        deps.metrics.connectionErrors.inc({ reason: 'auth_timeout' });
        socket.emit(
          'error',
          new ChatError('AUTH_ERROR', 'Authentication timed out: send a token at connect or with authenticate', {
            reason: 'missing_token',
          }).toPayload(),
        );
        socket.disconnect(true);
      }, deps.authTimeoutMs);
    }
  });
}

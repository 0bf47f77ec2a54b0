import { ChatError, DELIVERY_ACKS_AUTH_FIELD, toChatError, type BusNames } from '@chat/contracts';
import type { TokenVerifier } from '@chat/auth';
import type { Bus } from '@chat/bus';
import type { Logger } from '@chat/logger';
import type { ConversationCommands } from '../delivery/conversation-commands.ts';
import type { PendingSends } from '../delivery/pending-sends.ts';
import type { UserDeliveries } from '../delivery/user-deliveries.ts';
import type { GatewayMetrics } from '../metrics.ts';
import type { RateLimiter } from '../rate-limiter.ts';
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
import { registerHandler } from './register-handler.ts';
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
  sendRateLimit: RateLimiter;
  authTimeoutMs: number;
  sendAckTimeoutMs: number;
  /** False once the gateway is shutting down: sends are refused so clients resend them elsewhere. */
  acceptingSends: () => boolean;
}

type Handshake = ChatSocket['handshake'];

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
  const { io, verifier, deliveries, logger } = deps;

  // A handshake with a token must carry a good one; without a token the socket may still `authenticate`.
  io.use(async (socket, next) => {
    const token = tokenOf(socket.handshake);
    if (!token) return next();
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
    socket.data.deliveryAcks = (socket.handshake.auth as Record<string, unknown> | undefined)?.[DELIVERY_ACKS_AUTH_FIELD] === true;
    deps.metrics.connections.inc();
    let subscribedAs: string | undefined;
    let authTimer: NodeJS.Timeout | undefined;
    const expiry = new TokenExpiry(socket, () => deps.metrics.connectionErrors.inc({ reason: 'token_expired' }));

    const onAuthenticated = async (authed: ChatSocket): Promise<void> => {
      const user = authed.data.user;
      if (!user) return;
      clearTimeout(authTimer);
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

    const onRefreshed = (authed: ChatSocket) => authed.data.user && expiry.schedule(authed.data.user);
    registerHandler(socket, 'authenticate', authenticate(verifier, onAuthenticated, onRefreshed), log, { public: true });
    registerHandler(socket, 'join_conversation', deps.presence.watchOnJoin(joinConversation), log);
    registerHandler(
      socket,
      'send_message',
      sendMessage({
        bus: deps.bus,
        names: deps.names,
        commands: deps.commands,
        pending: deps.pending,
        metrics: deps.metrics,
        rateLimit: deps.sendRateLimit,
        ackTimeoutMs: deps.sendAckTimeoutMs,
        acceptingSends: deps.acceptingSends,
        logger: log,
      }),
      log,
    );
    registerHandler(socket, 'mark_as_read', markAsRead({ commands: deps.commands, logger: log }), log);
    registerHandler(socket, 'sync_messages', syncMessages({ bus: deps.bus, names: deps.names }), log);
    registerHandler(socket, 'get_online_status', getOnlineStatus(deps.presence), log);
    registerHandler(socket, 'typing_start', typingStart(deps.presence), log);
    registerHandler(socket, 'typing_stop', typingStop(deps.presence), log);

    // Anything this server does not handle is answered, never silently dropped.
    socket.onAny((event: string, ...args: unknown[]) => {
      if (socket.listeners(event as never).length > 0) return;
      const error = new ChatError('UNKNOWN_EVENT', `'${String(event).slice(0, 64)}' is not an event this server handles`);
      const payload = error.toPayload({ event: String(event).slice(0, 64) });
      socket.emit('error', payload);
      const ack = args.at(-1);
      if (typeof ack === 'function') ack({ ok: false, error: payload });
    });

    socket.on('disconnect', (reason) => {
      deps.metrics.connections.dec();
      clearTimeout(authTimer);
      expiry.clear();
      deliveries.forget(socket);
      deps.presence.disconnected(socket);
      if (subscribedAs) {
        deliveries.release(subscribedAs as never);
        // The user's send bucket goes with their last socket here.
        if (!io.sockets.adapter.rooms.get(userRoom(subscribedAs as never))?.size) deps.sendRateLimit.forget(subscribedAs);
      }
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

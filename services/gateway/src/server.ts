import Fastify from 'fastify';
import cors from '@fastify/cors';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { Server } from 'socket.io';
import type { AddressInfo, Socket } from 'node:net';
import { busNames } from '@chat/contracts';
import { verifierFromEnv } from '@chat/auth';
import { httpServerTimeouts, natsAuth } from '@chat/config';
import { Bus, ensureChatStreams } from '@chat/bus';
import { StopDeadline, packageVersion, type RunningService } from '@chat/runtime';
import type { Logger } from '@chat/logger';
import type { ReadinessCheck, Registry } from '@chat/telemetry';
import type { GatewayConfig } from './config.ts';
import { createGatewayMetrics } from './metrics.ts';
import { Limits } from './limits/limits.ts';
import { connectLimitsRedis } from './limits/limits-redis.ts';
import { limitPolicy } from './limits/policy.ts';
import { originPolicy } from './origins.ts';
import { enableAdminUi } from './admin/admin-ui.ts';
import { ConversationCommands } from './delivery/conversation-commands.ts';
import { DeliveryReceipts } from './delivery/delivery-receipts.ts';
import { PendingSends } from './delivery/pending-sends.ts';
import { UserDeliveries } from './delivery/user-deliveries.ts';
import { GatewayPresence } from './presence/gateway-presence.ts';
import { ProfilePublisher } from './profiles/profile-publisher.ts';
import { registerRestApi } from './rest/rest-api.ts';
import { uploadRoutes } from './rest/upload-routes.ts';
import { setUpConnections } from './socket/connection.ts';
import { TypingRelay } from './typing/typing-relay.ts';
import type { ChatServer } from './chat-socket.ts';

/** This service's version: its package.json's. */
export const GATEWAY_VERSION = packageVersion(import.meta.url);

/** What a stop keeps for its steps after the sends in flight: receipts (3.5 + 2 s), transports, the rest. */
const STOP_TAIL_MS = 9000;
/** How long client transports get to close by themselves before their connections are destroyed. */
const TRANSPORT_CLOSE_MS = 2000;

export interface Gateway extends RunningService {
  /** The port it listens on (useful with SOCKET_PORT=0). */
  readonly port: number;
  readonly url: string;
  readonly io: ChatServer;
  readonly metrics: Registry;
  readonly readiness: Record<string, ReadinessCheck>;
  /**
   * Stops gracefully: no new connections or sends; sends in flight get their answer; the delivery receipts of
   * what was emitted are settled; then every socket's transport is closed (clients reconnect, to another
   * gateway), presence is told, and NATS is drained. Within SHUTDOWN_TIMEOUT_MS, whatever the clients do.
   */
  stop(): Promise<void>;
}

/** Starts the gateway; rejects (having closed what it opened) when NATS is unreachable or the port is taken. */
export async function startGateway(config: GatewayConfig, logger: Logger): Promise<Gateway> {
  const verifier = verifierFromEnv(config);
  // Everything opened is closed again if the start fails (the stop below closes them in its own order).
  await using opened = new AsyncDisposableStack();
  const bus = await Bus.connect({ servers: config.NATS_URL, name: 'gateway', logger, auth: natsAuth(config) });
  opened.defer(() => bus.close());
  // The server-wide request timeout is the uploads' (the longest); REST routes hold requests to HTTP_REQUEST_TIMEOUT_MS.
  const app = Fastify({
    logger: false,
    ...httpServerTimeouts({
      headersMs: config.HTTP_HEADERS_TIMEOUT_MS,
      requestMs: Math.max(config.HTTP_REQUEST_TIMEOUT_MS, config.UPLOAD_REQUEST_TIMEOUT_MS),
      keepAliveMs: config.HTTP_KEEP_ALIVE_TIMEOUT_MS,
    }),
  });
  opened.defer(() => app.close().catch(() => undefined));
  let presence: GatewayPresence | undefined;
  const limitsRedis = config.REDIS_URL ? connectLimitsRedis(config.REDIS_URL, logger) : undefined;
  if (limitsRedis) opened.defer(() => limitsRedis.disconnect());
  const names = busNames(config.CHAT_NAMESPACE);
  await ensureChatStreams(bus, names, { replicas: config.NATS_STREAM_REPLICAS });
  const metrics = createGatewayMetrics();
  const limits = new Limits({
    policy: limitPolicy(config.RATE_LIMITS, { perMinute: config.SEND_RATE_PER_MINUTE, burst: config.SEND_RATE_BURST }),
    ...(limitsRedis ? { redis: limitsRedis } : {}),
    syncMs: config.RATE_LIMIT_SYNC_MS,
    keyPrefix: `${config.CHAT_NAMESPACE}:limits:`,
    onLimited: (name) => metrics.rateLimited.inc({ limit: name }),
    logger,
  });

  const origins = originPolicy(config.CLIENT_URL);
  await app.register(cors, origins.cors);
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  await registerRestApi(app, {
    bus,
    names,
    verifier,
    logger,
    limits,
    version: GATEWAY_VERSION,
    docs: config.API_DOCS_ENABLED,
    requestTimeoutMs: config.HTTP_REQUEST_TIMEOUT_MS,
    onlineUsers: async (ids) => presence?.onlineUsers(ids) ?? new Set(),
  });
  await app.withTypeProvider<ZodTypeProvider>().register(uploadRoutes({ verifier, uploadsUrl: config.UPLOADS_URL }));

  const io: ChatServer = new Server(app.server, {
    cors: { ...origins.cors, methods: ['GET', 'POST'] },
    ...(origins.allowRequest ? { allowRequest: origins.allowRequest } : {}),
    pingTimeout: 60_000,
    pingInterval: 25_000,
    maxHttpBufferSize: config.SOCKET_MAX_PAYLOAD_BYTES,
  });
  if (config.SOCKET_ADMIN_UI_USERNAME && config.SOCKET_ADMIN_UI_PASSWORD_HASH) {
    await enableAdminUi(app, io, {
      username: config.SOCKET_ADMIN_UI_USERNAME,
      passwordHash: config.SOCKET_ADMIN_UI_PASSWORD_HASH,
      serverId: `gateway-${process.pid}`,
      logger,
    });
  }
  const pending = new PendingSends();
  const commands = new ConversationCommands(bus, names, config.MESSAGE_PARTITIONS);
  const receipts = new DeliveryReceipts(commands, logger);
  const deliveries = new UserDeliveries({ bus, names, io, pending, receipts, metrics, logger });
  bus.onReconnect(() => {
    deliveries.catchUpAll().catch((error: unknown) => logger.warn({ err: error }, 'catching sockets up after a NATS reconnect failed'));
    pending
      .recheck(async (senderId, clientMessageId) => {
        const found = await bus.request(names.messagesService.findByClientMessageId, { senderId, clientMessageId });
        return found.message;
      })
      .catch((error: unknown) =>
        logger.warn({ err: error }, 'checking waiting sends after a NATS reconnect failed; they wait for their answer'),
      );
  });
  presence = new GatewayPresence({ bus, names, io, logger, heartbeatMs: config.PRESENCE_HEARTBEAT_MS });
  const started = presence;
  opened.defer(() => started.close());
  await presence.start();
  // Gateway to gateway over core NATS, on the other participant's delivery subject: never stored.
  const typing = new TypingRelay({ forward: (to, payload) => bus.publish(names.userDelivery(to), { type: 'user_typing', payload }) });
  opened.defer(() => typing.close());
  let acceptingSends = true;
  setUpConnections({
    acceptingSends: () => acceptingSends,
    io,
    verifier,
    bus,
    names,
    commands,
    deliveries,
    pending,
    profiles: new ProfilePublisher(bus, names, logger),
    presence,
    typing,
    logger,
    metrics,
    limits,
    maxSocketsPerUser: config.MAX_SOCKETS_PER_USER,
    maxUnauthenticatedPerAddress: config.MAX_UNAUTHENTICATED_SOCKETS_PER_ADDRESS,
    authTimeoutMs: config.AUTH_TIMEOUT_MS,
    sendAckTimeoutMs: config.SEND_ACK_TIMEOUT_MS,
  });

  // Every TCP connection (HTTP, long-polling, upgraded websockets), so that a stop can end the ones that linger.
  // One listener shared by all of them (a TCP socket closes once), not a closure and a `once` wrapper each.
  const connections = new Set<Socket>();
  function forgetConnection(this: Socket): void {
    connections.delete(this);
  }
  app.server.on('connection', (connection: Socket) => {
    connections.add(connection);
    connection.on('close', forgetConnection);
  });
  const connectionsClosed = async () => {
    while (connections.size > 0) await new Promise((resolve) => setTimeout(resolve, 25));
  };

  await app.listen({ port: config.SOCKET_PORT, host: config.HOST });
  const { port } = app.server.address() as AddressInfo;
  logger.info({ port, namespace: config.CHAT_NAMESPACE }, 'gateway listening');

  // Started: from here `stop` closes everything, in its own order (receipts, transports, presence, NATS).
  opened.move();
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    io,
    metrics: metrics.registry,
    readiness: { nats: async () => bus.connected },
    async stop() {
      // Every step is bounded and they share SHUTDOWN_TIMEOUT_MS (less a second, so that runService's cut-off
      // never fires): a client that stopped reading (a suspended phone) or a slow NATS cannot hold the stop past
      // the orchestrator's grace period. Steps that run out are logged and left behind.
      const deadline = new StopDeadline(config.SHUTDOWN_TIMEOUT_MS - 1000, logger);
      // Stop accepting connections and sends; the sends in flight finish, everything else keeps working.
      acceptingSends = false;
      app.server.close();
      await pending.idle(Math.min(config.SEND_ACK_TIMEOUT_MS, deadline.remaining(STOP_TAIL_MS)));
      // What was emitted is receipted before the sockets go, so that a client reconnecting elsewhere is replayed
      // only what it has not seen: first while deliveries still flow, then, with nothing new emitted, what came
      // meanwhile. Sockets go without deliveries only for that second, short wait, and not for long at worst.
      await deadline.bound('settling receipts', () => receipts.settle((seqs) => commands.applied(seqs, 3000)), 3500);
      deliveries.stopReceiving();
      await deadline.bound('closing receipts', () => receipts.close((seqs) => commands.applied(seqs, 1500)), 2000);
      // Closing the transport, not a Socket.IO disconnect (which clients take as final), makes them reconnect
      // by themselves: to another gateway, once this one is out of the load balancer. A transport with unsent
      // packets closes only once they are written, and a websocket waits up to 30 s for the peer's close frame:
      // a client that stopped reading would hold both. Whatever connection is still open after a moment is
      // destroyed (the client sees a dropped connection and reconnects all the same).
      for (const socket of io.sockets.sockets.values()) socket.conn.close();
      if (!(await deadline.bound('closing client transports', connectionsClosed(), TRANSPORT_CLOSE_MS))) {
        logger.warn({ connections: connections.size }, 'destroying client connections that did not close');
      }
      for (const connection of connections) connection.destroy();
      await deadline.bound('closing Socket.IO', io.close(), 1000);
      await deadline.bound('closing HTTP', app.close(), 1000);
      typing.close();
      await deadline.bound('closing presence', async () => started.close(), 1000);
      // What was counted since the last sync, for the gateways these users reconnect to.
      await deadline.bound('sharing limit counts', limits.flush(), 500);
      limitsRedis?.disconnect();
      if (!(await deadline.bound('draining NATS', bus.drain(), 2000))) await bus.close().catch(() => undefined);
      logger.info('gateway stopped');
    },
  };
}

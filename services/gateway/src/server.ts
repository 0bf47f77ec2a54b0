import Fastify from 'fastify';
import cors from '@fastify/cors';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { Server } from 'socket.io';
import type { AddressInfo } from 'node:net';
import { busNames, FindByClientMessageIdResponseSchema } from '@chat/contracts';
import { verifierFromEnv } from '@chat/auth';
import { httpServerTimeouts, natsAuth } from '@chat/config';
import { Bus, ensureChatStreams } from '@chat/bus';
import type { Logger } from '@chat/logger';
import type { ReadinessCheck, Registry } from '@chat/telemetry';
import type { GatewayConfig } from './config.ts';
import { createGatewayMetrics } from './metrics.ts';
import { Limits } from './limits/limits.ts';
import { connectLimitsRedis } from './limits/limits-redis.ts';
import { limitPolicy } from './limits/policy.ts';
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
import { observeEvents } from './socket/register-handler.ts';
import type { ChatServer } from './socket/types.ts';

export const GATEWAY_VERSION = '0.1.0';

export interface Gateway {
  /** The port it listens on (useful with SOCKET_PORT=0). */
  readonly port: number;
  readonly url: string;
  readonly io: ChatServer;
  readonly metrics: Registry;
  readonly readiness: Record<string, ReadinessCheck>;
  /**
   * Stops gracefully: no new connections; sends in flight get their answer; then every socket's connection is
   * closed (clients reconnect, to another gateway), receipts are flushed and NATS is drained.
   */
  stop(): Promise<void>;
}


/** Starts the gateway; rejects (having closed what it opened) when NATS is unreachable or the port is taken. */
export async function startGateway(config: GatewayConfig, logger: Logger): Promise<Gateway> {
  const verifier = verifierFromEnv(config);
  const bus = await Bus.connect({ servers: config.NATS_URL, name: 'gateway', logger, auth: natsAuth(config) });
  // The server-wide request timeout is the uploads' (the longest); REST routes hold requests to HTTP_REQUEST_TIMEOUT_MS.
  const app = Fastify({
    logger: false,
    ...httpServerTimeouts({
      headersMs: config.HTTP_HEADERS_TIMEOUT_MS,
      requestMs: Math.max(config.HTTP_REQUEST_TIMEOUT_MS, config.UPLOAD_REQUEST_TIMEOUT_MS),
      keepAliveMs: config.HTTP_KEEP_ALIVE_TIMEOUT_MS,
    }),
  });
  let presence: GatewayPresence | undefined;
  const limitsRedis = config.REDIS_URL ? connectLimitsRedis(config.REDIS_URL, logger) : undefined;
  try {
    const names = busNames(config.CHAT_NAMESPACE);
    await ensureChatStreams(bus, names, { replicas: config.NATS_STREAM_REPLICAS });
    const metrics = createGatewayMetrics();
    const limits = new Limits({
      policy: limitPolicy(config.RATE_LIMITS, { perMinute: config.SEND_RATE_PER_MINUTE, burst: config.SEND_RATE_BURST }),
      ...(limitsRedis ? { redis: limitsRedis } : {}),
      keyPrefix: `${config.CHAT_NAMESPACE}:limits:`,
      onLimited: (name) => metrics.rateLimited.inc({ limit: name }),
      logger,
    });

    const origin = config.CLIENT_URL.includes('*') ? true : config.CLIENT_URL;
    await app.register(cors, { origin, credentials: true });
    app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));
    await registerRestApi(app, {
      bus,
      names,
      verifier,
      logger,
      limits,
      version: GATEWAY_VERSION,
      requestTimeoutMs: config.HTTP_REQUEST_TIMEOUT_MS,
      onlineUsers: async (ids) => presence?.onlineUsers(ids) ?? new Set(),
    });
    await app.withTypeProvider<ZodTypeProvider>().register(uploadRoutes({ verifier, uploadsUrl: config.UPLOADS_URL }));

    const io: ChatServer = new Server(app.server, {
      cors: { origin, methods: ['GET', 'POST'], credentials: true },
      pingTimeout: 60_000,
      pingInterval: 25_000,
      maxHttpBufferSize: config.SOCKET_MAX_PAYLOAD_BYTES,
    });
    observeEvents(io, metrics);
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
          const found = await bus.request(names.messagesService.findByClientMessageId, { senderId, clientMessageId }, FindByClientMessageIdResponseSchema);
          return found.message;
        })
        .catch((error: unknown) => logger.warn({ err: error }, 'checking waiting sends after a NATS reconnect failed; they wait for their answer'));
    });
    presence = new GatewayPresence({ bus, names, io, logger, heartbeatMs: config.PRESENCE_HEARTBEAT_MS });
    await presence.start();
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
      logger,
      metrics,
      limits,
      maxSocketsPerUser: config.MAX_SOCKETS_PER_USER,
      maxUnauthenticatedPerAddress: config.MAX_UNAUTHENTICATED_SOCKETS_PER_ADDRESS,
      authTimeoutMs: config.AUTH_TIMEOUT_MS,
      sendAckTimeoutMs: config.SEND_ACK_TIMEOUT_MS,
    });

    await app.listen({ port: config.SOCKET_PORT, host: config.HOST });
    const { port } = app.server.address() as AddressInfo;
    logger.info({ port, namespace: config.CHAT_NAMESPACE }, 'gateway listening');

    return {
      port,
      url: `http://127.0.0.1:${port}`,
      io,
      metrics: metrics.registry,
      readiness: { nats: async () => bus.connected },
      async stop() {
        // Stop accepting connections and sends; the sends in flight finish, everything else keeps working.
        acceptingSends = false;
        app.server.close();
        await pending.idle(config.SEND_ACK_TIMEOUT_MS);
        // What was emitted is receipted before the sockets go, so that a client reconnecting elsewhere is replayed
        // only what it has not seen: first while deliveries still flow, then, with nothing new emitted, what came
        // meanwhile. Sockets go without deliveries only for that second, short wait, and not for long at worst.
        await receipts.settle((seqs) => commands.applied(seqs, 3000));
        deliveries.stopReceiving();
        await receipts.close((seqs) => commands.applied(seqs, 1500));
        // Closing the transport, not a Socket.IO disconnect (which clients take as final), makes them reconnect
        // by themselves: to another gateway, once this one is out of the load balancer.
        for (const socket of io.sockets.sockets.values()) socket.conn.close();
        await io.close();
        await app.close();
        await presence?.close();
        limitsRedis?.disconnect();
        await bus.drain();
        logger.info('gateway stopped');
      },
    };
  } catch (error) {
    await app.close().catch(() => undefined);
    await presence?.close();
    limitsRedis?.disconnect();
    await bus.close();
    throw error;
  }
}

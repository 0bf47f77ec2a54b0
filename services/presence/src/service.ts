import { busNames, type UserPresence } from '@chat/contracts';
import { Bus, createService } from '@chat/bus';
import { natsAuth } from '@chat/config';
import type { Logger } from '@chat/logger';
import { packageVersion, type RunningService } from '@chat/runtime';
import { Counter, createMetricsRegistry, requestCounter, type ReadinessCheck, type Registry } from '@chat/telemetry';
import type { PresenceConfig } from './config.ts';
import { GatewayExpiry } from './gateway-expiry.ts';
import { heartbeatHandler } from './handlers/heartbeat.ts';
import { reportHandler } from './handlers/report.ts';
import { statusHandler } from './handlers/status.ts';
import { PresenceStore } from './store/presence-store.ts';

/** This service's version: its package.json's. */
export const SERVICE_VERSION = packageVersion(import.meta.url);

export interface PresenceService extends RunningService {
  readonly store: PresenceStore;
  readonly metrics: Registry;
  readonly readiness: Record<string, ReadinessCheck>;
  /** Stops sweeping and answering, then closes NATS and Redis. */
  stop(): Promise<void>;
}

/** Starts the presence service; rejects (having closed what it opened) when Redis or NATS is unreachable. */
export async function startPresenceService(config: PresenceConfig, logger: Logger): Promise<PresenceService> {
  // Everything opened is closed again if the start fails (and, moved to `stop`, when it stops).
  await using opened = new AsyncDisposableStack();
  const store = await PresenceStore.open({ url: config.REDIS_URL, prefix: config.PRESENCE_KEY_PREFIX, logger });
  opened.defer(() => store.close());
  const bus = await Bus.connect({ servers: config.NATS_URL, name: 'presence', logger, auth: natsAuth(config) });
  opened.defer(() => bus.close());
  const names = busNames(config.CHAT_NAMESPACE).presence;
  // Core NATS, to the gateways whose sockets watch that user (no subscriber: dropped by the server).
  const publish = (flips: UserPresence[]) => {
    for (const flip of flips) bus.publish(names.statusChanged(flip.userId), flip);
  };

  const registry = createMetricsRegistry('presence');
  const flips = new Counter({ name: 'chat_presence_changes_total', help: 'Users going online or offline', registers: [registry] });
  const publishCounted = (changes: UserPresence[]) => {
    flips.inc(changes.length);
    publish(changes);
  };

  const service = await createService(bus, {
    name: names.service.name,
    version: SERVICE_VERSION,
    logger,
    countAnswer: requestCounter(registry),
  });
  service.serve(names.service.report, reportHandler({ store, publish: publishCounted }));
  service.serve(names.service.heartbeat, heartbeatHandler({ store }));
  service.serve(names.service.status, statusHandler({ store }));

  const expiry = new GatewayExpiry({
    store,
    publish: publishCounted,
    ttlMs: config.PRESENCE_GATEWAY_TTL_MS,
    intervalMs: config.PRESENCE_SWEEP_INTERVAL_MS,
    logger,
  });
  logger.info({ namespace: config.CHAT_NAMESPACE, keyPrefix: config.PRESENCE_KEY_PREFIX }, 'presence service started');
  const resources = opened.move();

  return {
    store,
    metrics: registry,
    readiness: {
      nats: async () => bus.connected,
      redis: async () => store.readySince !== undefined,
    },
    async stop() {
      await expiry.stop();
      await service.stop().catch(() => undefined);
      await bus.drain();
      await resources.disposeAsync();
      logger.info('presence service stopped');
    },
  };
}

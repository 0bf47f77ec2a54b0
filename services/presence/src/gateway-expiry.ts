import type { UserPresence } from '@chat/contracts';
import type { Logger } from '@chat/logger';
import type { PresenceStore } from './store/presence-store.ts';

export interface GatewayExpiryOptions {
  store: PresenceStore;
  publish: (flips: UserPresence[]) => void;
  ttlMs: number;
  intervalMs: number;
  logger: Logger;
}

/**
 * Expires the connections of gateways that stopped heartbeating (killed, frozen, cut off). Every replica
 * sweeps; the removal is idempotent, so each user flips offline once.
 *
 * A sweep runs only once Redis has been reachable for a whole TTL: heartbeats that arrived while it was
 * down (or before this replica started) were not recorded, and sweeping on those stale times would take
 * every user offline at once.
 */
export class GatewayExpiry {
  readonly #options: GatewayExpiryOptions;
  readonly #startedAt = Date.now();
  readonly #timer: NodeJS.Timeout;
  #sweeping: Promise<void> | undefined;

  constructor(options: GatewayExpiryOptions) {
    this.#options = options;
    this.#timer = setInterval(() => {
      this.#sweeping ??= this.#sweep().finally(() => (this.#sweeping = undefined));
    }, options.intervalMs);
  }

  async #sweep(): Promise<void> {
    const { store, publish, ttlMs, logger } = this.#options;
    const now = Date.now();
    const readySince = store.readySince;
    if (readySince === undefined || now - Math.max(readySince, this.#startedAt) < ttlMs) return;
    try {
      for (const gatewayId of await store.silentGateways(now - ttlMs)) {
        const flips = await store.expireGateway(gatewayId, now);
        logger.info({ gatewayId, offline: flips.length }, 'expired a silent gateway');
        publish(flips);
      }
    } catch (error) {
      logger.warn({ err: error }, 'gateway expiry sweep failed; retrying');
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#sweeping;
  }
}

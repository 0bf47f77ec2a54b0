import { BurstyRateLimiter, RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { Redis } from 'ioredis';
import type { Logger } from '@chat/logger';
import { LIMIT_NAMES, type Limit, type LimitName } from './policy.ts';

interface Consumer {
  consume(key: string): Promise<unknown>;
}

/**
 * A limit as two fixed-window counters (rate-limiter-flexible's "bursty" pair, its stand-in for a token bucket):
 * the steady rate in windows of a second (or of one event, for rates under one a second), and what the burst
 * allows beyond it, renewed every minute. So `burst` events may come at once, then `perMinute` a minute.
 */
function windows({ perMinute, burst }: Limit): {
  steady: { points: number; duration: number };
  burst?: { points: number; duration: number };
} {
  const steady = perMinute >= 60 ? { points: Math.round(perMinute / 60), duration: 1 } : { points: 1, duration: Math.ceil(60 / perMinute) };
  const extra = burst - steady.points;
  return extra > 0 ? { steady, burst: { points: extra, duration: 60 } } : { steady };
}

export interface LimitsOptions {
  policy: Record<LimitName, Limit>;
  /**
   * Where per-user counts are shared by every gateway, so that neither a reconnect nor another gateway gives a
   * user a fresh allowance. Without it (or while it does not answer) each gateway counts on its own.
   */
  redis?: Redis;
  keyPrefix: string;
  /** A refusal, for the metric. */
  onLimited?: (name: LimitName) => void;
  logger: Logger;
}

/** The limits in force on one gateway (see policy.ts). */
export class Limits {
  readonly #consumers = new Map<LimitName, Consumer>();
  readonly #policy: Record<LimitName, Limit>;
  readonly #onLimited: ((name: LimitName) => void) | undefined;
  readonly #logger: Logger;

  constructor({ policy, redis, keyPrefix, onLimited, logger }: LimitsOptions) {
    this.#policy = policy;
    this.#onLimited = onLimited;
    this.#logger = logger;
    for (const name of LIMIT_NAMES) {
      const limit = policy[name];
      const shared = limit.per === 'user' ? redis : undefined;
      const counter = (window: { points: number; duration: number }, part: string) =>
        shared
          ? new RateLimiterRedis({
              storeClient: shared,
              keyPrefix: `${keyPrefix}${name}:${part}`,
              ...window,
              // Redis away: count here meanwhile rather than wait for it or let everything through.
              rejectIfRedisNotReady: true,
              insuranceLimiter: new RateLimiterMemory(window),
            })
          : new RateLimiterMemory(window);
      const { steady, burst } = windows(limit);
      this.#consumers.set(name, burst ? new BurstyRateLimiter(counter(steady, 's'), counter(burst, 'b')) : counter(steady, 's'));
    }
  }

  /** Whether a limit is per user or per socket. */
  per(name: LimitName): Limit['per'] {
    return this.#policy[name].per;
  }

  /** Counts one event against `key`'s limit; false when it is over it. */
  async take(name: LimitName, key: string): Promise<boolean> {
    try {
      await this.#consumers.get(name)!.consume(key);
      return true;
    } catch (error) {
      if (error instanceof RateLimiterRes) {
        this.#onLimited?.(name);
        return false;
      }
      // Not a refusal but a failure of the counter itself (the insurance limiter makes this unlikely): let it pass.
      this.#logger.warn({ err: error, limit: name }, 'rate limit could not be checked; allowed');
      return true;
    }
  }
}

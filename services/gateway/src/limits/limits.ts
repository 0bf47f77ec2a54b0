import { BurstyRateLimiter, RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterLike } from 'rate-limiter-flexible';
import type { Redis } from 'ioredis';
import { ChatError } from '@chat/contracts';
import type { Logger } from '@chat/logger';
import { LIMIT_NAMES, type Limit, type LimitName } from './policy.ts';
import { SyncedWindow, WindowSync } from './synced-window.ts';

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

/** The steady and the burst window of a limit together. BurstyRateLimiter calls only `consume` of its two, which a SyncedWindow has. */
const bursty = (steady: Consumer, burst: Consumer): Consumer => new BurstyRateLimiter(steady as RateLimiterLike, burst as RateLimiterLike);

export interface LimitsOptions {
  policy: Record<LimitName, Limit>;
  /**
   * Where per-user counts are shared by every gateway, so that neither a reconnect nor another gateway gives a
   * user a fresh allowance. Without it (or while it does not answer) each gateway counts on its own.
   */
  redis?: Redis;
  /**
   * How often per-user counts go to Redis (`RATE_LIMIT_SYNC_MS`): each event is then decided here and the counts
   * are shared in one batch per interval (synced-window.ts). 0: each event is counted in Redis before it is
   * allowed (exact across gateways, a Redis round trip per event).
   */
  syncMs?: number;
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
  readonly #sync: WindowSync | undefined;

  constructor({ policy, redis, syncMs = 0, keyPrefix, onLimited, logger }: LimitsOptions) {
    this.#policy = policy;
    this.#onLimited = onLimited;
    this.#logger = logger;
    const sync = redis && syncMs > 0 ? new WindowSync(redis, syncMs, logger.child({ component: 'limits' })) : undefined;
    this.#sync = sync;
    for (const name of LIMIT_NAMES) {
      const limit = policy[name];
      const counter = (window: { points: number; duration: number }, part: string) => {
        if (limit.per === 'socket' || !redis) return new RateLimiterMemory(window);
        const prefix = `${keyPrefix}${name}:${part}`;
        if (sync) return new SyncedWindow(sync, { ...window, keyPrefix: prefix });
        return new RateLimiterRedis({
          storeClient: redis,
          keyPrefix: prefix,
          ...window,
          // Redis away: count here meanwhile rather than wait for it or let everything through.
          rejectIfRedisNotReady: true,
          insuranceLimiter: new RateLimiterMemory(window),
        });
      };
      const { steady, burst } = windows(limit);
      this.#consumers.set(name, burst ? bursty(counter(steady, 's'), counter(burst, 'b')) : counter(steady, 's'));
    }
  }

  /** Sends the counts not yet in Redis (at shutdown, and for tests). */
  async flush(): Promise<void> {
    await this.#sync?.flush();
  }

  /** Whether a limit is per user or per socket. */
  per(name: LimitName): Limit['per'] {
    return this.#policy[name].per;
  }

  /**
   * Counts one event against `key`'s limit. Over it: not allowed, and how long until an event would be (the
   * sooner of the steady and the burst window's ends), for the client's `details.retryAfterMs`.
   */
  async take(name: LimitName, key: string): Promise<LimitAnswer> {
    try {
      await this.#consumers.get(name)!.consume(key);
      return ALLOWED;
    } catch (error) {
      if (error instanceof RateLimiterRes) {
        this.#onLimited?.(name);
        return { allowed: false, retryAfterMs: Math.max(0, Math.ceil(error.msBeforeNext)) };
      }
      // Not a refusal but a failure of the counter itself (the insurance limiter makes this unlikely): let it pass.
      this.#logger.warn({ err: error, limit: name }, 'rate limit could not be checked; allowed');
      return ALLOWED;
    }
  }
}

/** What `take` answers. */
export type LimitAnswer = { allowed: true } | { allowed: false; retryAfterMs: number };
const ALLOWED: LimitAnswer = { allowed: true };

/** The `RATE_LIMITED` error of a refused event: `details` name the limit and when to retry. */
export function rateLimited(limit: LimitName, retryAfterMs: number, message: string): ChatError {
  return new ChatError('RATE_LIMITED', message, { limit, retryAfterMs });
}

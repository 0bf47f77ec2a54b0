import type { Redis } from 'ioredis';
import { RateLimiterRes } from 'rate-limiter-flexible';
import type { Logger } from '@chat/logger';

/**
 * Adds points to a fixed window in Redis and answers `{total, ttl ms}`: rate-limiter-flexible's `RateLimiterRedis`
 * script, key for key, so a gateway counting exactly (`RATE_LIMIT_SYNC_MS=0`) and one counting in batches share
 * the same counts (a rolling change of the setting gives no one a fresh allowance).
 */
const ADD_POINTS = `
redis.call('set', KEYS[1], 0, 'EX', ARGV[2], 'NX')
local total = redis.call('incrby', KEYS[1], ARGV[1])
local ttl = redis.call('pttl', KEYS[1])
if ttl == -1 then
  redis.call('expire', KEYS[1], ARGV[2])
  ttl = 1000 * ARGV[2]
end
return {total, ttl}`;

/** The script (defined on the client with `defineCommand`), alone and in a pipeline. */
type AddPointsPipeline = ReturnType<Redis['pipeline']> & {
  limitAddPoints(key: string, points: number, durationSeconds: number): AddPointsPipeline;
};
type AddPointsRedis = Redis & {
  limitAddPoints(key: string, points: number, durationSeconds: number): Promise<[total: number, ttl: number]>;
};

/** A key's window as this gateway knows it. */
interface Count {
  /** Everyone's points in the window, as far as known here: Redis's last total and what was taken here since. */
  points: number;
  /** When the window ends: from Redis's TTL once it answered for this window. */
  resetAt: number;
  /** Taken here and not yet added in Redis. */
  unsent: number;
  /** Counts the windows this gateway saw end for the key, so that a total for an ended one is not taken for the next. */
  window: number;
}

/** How long a key's count is kept after its window ended (so the next take is decided here too). */
const FORGET_AFTER_MS = 120_000;
/** How often counts are looked through for ones to forget. */
const SWEEP_EVERY_MS = 10_000;

/**
 * The Redis side of the synced windows of one gateway: every `intervalMs`, the points taken here since the last
 * time go to Redis in one pipeline, and each key's total (every gateway's points) comes back into its count.
 */
export class WindowSync {
  readonly #redis: AddPointsRedis;
  readonly #intervalMs: number;
  readonly #logger: Logger;
  readonly #dirty = new Map<SyncedWindow, Set<string>>();
  #timer: NodeJS.Timeout | undefined;

  constructor(redis: Redis, intervalMs: number, logger: Logger) {
    if (!('limitAddPoints' in redis)) redis.defineCommand('limitAddPoints', { numberOfKeys: 1, lua: ADD_POINTS });
    this.#redis = redis as AddPointsRedis;
    this.#intervalMs = intervalMs;
    this.#logger = logger;
  }

  /** Adds points in Redis now and answers the window's total and TTL (a key's first take on this gateway). */
  async add(key: string, points: number, durationSeconds: number): Promise<{ total: number; ttl: number }> {
    const [total, ttl] = await this.#redis.limitAddPoints(key, points, durationSeconds);
    return { total, ttl };
  }

  /** A count of `window` has points to send. */
  changed(window: SyncedWindow, key: string): void {
    let keys = this.#dirty.get(window);
    if (!keys) this.#dirty.set(window, (keys = new Set()));
    keys.add(key);
    if (this.#timer) return;
    this.#timer = setTimeout(() => void this.flush(), this.#intervalMs);
    this.#timer.unref();
  }

  /** Sends what was taken since the last flush; resolves once the totals are back (or Redis failed). */
  async flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#dirty.size === 0) return;
    const batch = [...this.#dirty].flatMap(([window, keys]) => window.takeUnsent(keys));
    this.#dirty.clear();
    const pipeline = this.#redis.pipeline() as AddPointsPipeline;
    for (const { redisKey, points, durationSeconds } of batch) pipeline.limitAddPoints(redisKey, points, durationSeconds);
    try {
      const replies = (await pipeline.exec()) ?? [];
      batch.forEach((sent, i) => {
        const [error, reply] = replies[i] ?? [new Error('no reply')];
        if (error) throw error;
        const [total, ttl] = reply as [number, number];
        sent.limiter.learn(sent, total, ttl);
      });
    } catch (error) {
      // Redis away: what was taken here stays counted here; the other gateways learn of it no more.
      this.#logger.debug({ err: error }, 'limit counts could not be shared');
    }
  }
}

/** What one flush sends of one key. */
interface Sent {
  limiter: SyncedWindow;
  key: string;
  redisKey: string;
  points: number;
  durationSeconds: number;
  /** The window it was taken in (`Count.window`). */
  window: number;
}

/**
 * A fixed window of a per-user limit (`points` per `duration` seconds) shared by every gateway, without a Redis
 * round trip per event: a key's first take on this gateway asks Redis (so a reconnect or another gateway gives no
 * fresh allowance), and the takes after it are decided here and sent to Redis in batches (`WindowSync`), whose
 * answers bring in what the other gateways took. The price: until a batch's answer is back (`RATE_LIMIT_SYNC_MS`),
 * a user taking from several gateways at once can get up to what each would allow alone. Same interface as
 * rate-limiter-flexible's limiters (`consume` rejects with a `RateLimiterRes` when over), so it composes with its
 * `BurstyRateLimiter`.
 */
export class SyncedWindow {
  readonly points: number;
  readonly #durationSeconds: number;
  readonly #keyPrefix: string;
  readonly #sync: WindowSync;
  readonly #counts = new Map<string, Count>();
  /** First takes of keys still waiting for Redis: other takes of the same key wait for them. */
  readonly #asking = new Map<string, Promise<void>>();
  #sweptAt = Date.now();

  constructor(sync: WindowSync, { points, duration, keyPrefix }: { points: number; duration: number; keyPrefix: string }) {
    this.#sync = sync;
    this.points = points;
    this.#durationSeconds = duration;
    this.#keyPrefix = keyPrefix;
  }

  async consume(key: string, points = 1): Promise<RateLimiterRes> {
    let count = this.#counts.get(key);
    if (!count) {
      const asking = this.#asking.get(key);
      if (!asking) return this.#first(key, points);
      await asking;
      count = this.#counts.get(key)!;
    }
    const now = Date.now();
    if (now >= count.resetAt) {
      count.window++;
      count.points = 0;
      count.unsent = 0;
      count.resetAt = now + this.#durationSeconds * 1000;
    }
    count.points += points;
    count.unsent += points;
    this.#sync.changed(this, key);
    this.#sweep(now);
    return this.#result(count, now);
  }

  async #first(key: string, points: number): Promise<RateLimiterRes> {
    const count: Count = { points, resetAt: Date.now() + this.#durationSeconds * 1000, unsent: 0, window: 0 };
    const known = this.#sync
      .add(this.#redisKey(key), points, this.#durationSeconds)
      .then(
        ({ total, ttl }) => {
          count.points = total;
          count.resetAt = Date.now() + ttl;
        },
        // Redis away: counted here from now on (the insurance of the exact mode, without losing what is known).
        () => undefined,
      )
      // Known before anyone waiting for the answer goes on.
      .then(() => {
        this.#asking.delete(key);
        this.#counts.set(key, count);
      });
    this.#asking.set(key, known);
    await known;
    return this.#result(count, Date.now());
  }

  #result(count: Count, now: number): RateLimiterRes {
    const result = new RateLimiterRes(Math.max(0, this.points - count.points), Math.max(0, count.resetAt - now), count.points);
    if (count.points > this.points) throw result;
    return result;
  }

  /** The points taken here since the last flush, for `keys`, as `WindowSync` sends them. */
  takeUnsent(keys: Set<string>): Sent[] {
    const sent: Sent[] = [];
    for (const key of keys) {
      const count = this.#counts.get(key);
      if (!count || count.unsent === 0) continue;
      sent.push({
        limiter: this,
        key,
        redisKey: this.#redisKey(key),
        points: count.unsent,
        durationSeconds: this.#durationSeconds,
        window: count.window,
      });
      count.unsent = 0;
    }
    return sent;
  }

  /** Redis's total for a key after a flush: every gateway's points, to which what was taken here since is added. */
  learn(sent: Sent, total: number, ttl: number): void {
    const count = this.#counts.get(sent.key);
    // Forgotten, or its window ended here meanwhile: the total is of a window this gateway no longer counts in.
    if (!count || count.window !== sent.window) return;
    count.points = total + count.unsent;
    count.resetAt = Date.now() + ttl;
  }

  #redisKey(key: string): string {
    return `${this.#keyPrefix}:${key}`;
  }

  /** Forgets the keys whose window ended long ago. */
  #sweep(now: number): void {
    if (now - this.#sweptAt < SWEEP_EVERY_MS) return;
    this.#sweptAt = now;
    for (const [key, count] of this.#counts) if (count.unsent === 0 && now - count.resetAt > FORGET_AFTER_MS) this.#counts.delete(key);
  }
}

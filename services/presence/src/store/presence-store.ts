import { Redis } from 'ioredis';
import { ChatError, type Connection, type UserId, type UserPresence } from '@chat/contracts';
import type { Logger } from '@chat/logger';
import { openClient } from '@chat/runtime';

/**
 * Redis keys (under the configured prefix P):
 * - `P u:{<user>}:conns`  hash connectionId → gatewayId: the user's live connections;
 * - `P u:{<user>}:state`  hash `lastSeen` (epoch ms), `version` (online/offline flips so far);
 * - `P gw:<gateway>`      set of `<user> <connectionId>` a gateway reported (what to expire if it dies);
 * - `P gateways`          sorted set gatewayId → last heartbeat (epoch ms).
 * A user's two keys share a hash tag, so each script touches one Redis Cluster slot.
 */

/**
 * Adds a connection; returns the new version when this made the user go online, else 0. A connection already held
 * by a newer epoch of the same gateway (`<instance>.<epoch>`) is left with it: a report that timed out at the
 * gateway can still reach us after the gateway re-registered everything under its next epoch, and taking the
 * connection back to the old epoch would let that epoch's expiry remove a live user.
 */
const ADD_CONNECTION = `
local owner = redis.call('HGET', KEYS[1], ARGV[1])
if owner then
  if owner ~= ARGV[2] then
    local heldBy, heldEpoch = string.match(owner, '^(.*)%.(%d+)$')
    local by, epoch = string.match(ARGV[2], '^(.*)%.(%d+)$')
    if not (heldBy and by and heldBy == by and tonumber(heldEpoch) > tonumber(epoch)) then
      redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
    end
  end
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], 'lastSeen', ARGV[3])
if redis.call('HLEN', KEYS[1]) == 1 then return redis.call('HINCRBY', KEYS[2], 'version', 1) end
return 0`;

/**
 * Removes a connection — only if it is still held by ARGV[3] when that is given (expiry of an old gateway
 * epoch must not remove a connection re-registered since); returns the new version when this made the user
 * go offline, else 0.
 */
const REMOVE_CONNECTION = `
local owner = redis.call('HGET', KEYS[1], ARGV[1])
if not owner then return 0 end
if ARGV[3] ~= '' and owner ~= ARGV[3] then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[2], 'lastSeen', ARGV[2])
if redis.call('HLEN', KEYS[1]) == 0 then return redis.call('HINCRBY', KEYS[2], 'version', 1) end
return 0`;

/** The scripts (defined on the client with `defineCommand`) as a pipeline offers them: every call is batched. */
type PipelineScriptCall = (conns: string, state: string, ...args: string[]) => PresencePipeline;
type PresencePipeline = ReturnType<Redis['pipeline']> & {
  presenceAddConnection: PipelineScriptCall;
  presenceRemoveConnection: PipelineScriptCall;
};

/** The replies of a pipeline, in order; the first failed command's error is thrown. */
function replies(results: Array<[Error | null, unknown]> | null): unknown[] {
  if (!results) throw new Error('the pipeline was not executed');
  return results.map(([error, reply]) => {
    if (error) throw error;
    return reply;
  });
}

export interface StoreOptions {
  url: string;
  prefix: string;
  logger: Logger;
}

/** The presence data in Redis. Every failure to reach Redis surfaces as `PRESENCE_UNAVAILABLE`. */
export class PresenceStore {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #logger: Logger;
  #readySince: number | undefined;

  private constructor(redis: Redis, prefix: string, logger: Logger) {
    this.#redis = redis;
    this.#prefix = prefix;
    this.#logger = logger;
  }

  /** Connects; rejects when Redis cannot be reached at start (a wrong URL should stop the service). */
  static async open({ url, prefix, logger }: StoreOptions): Promise<PresenceStore> {
    const log = logger.child({ component: 'redis' });
    const redis = new Redis(url, {
      lazyConnect: true,
      // Fail fast while Redis is away instead of queueing: presence answers an error, chat goes on.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: 2_000,
      connectTimeout: 2_000,
      // Reconnect forever, quickly: presence recovers by itself when Redis returns.
      retryStrategy: (times) => Math.min(100 * times, 1_000),
    });
    redis.defineCommand('presenceAddConnection', { numberOfKeys: 2, lua: ADD_CONNECTION });
    redis.defineCommand('presenceRemoveConnection', { numberOfKeys: 2, lua: REMOVE_CONNECTION });
    const store = new PresenceStore(redis, prefix, log);
    let wasReady = false;
    redis.on('ready', () => {
      store.#readySince = Date.now();
      if (wasReady) log.info('redis is back');
      wasReady = true;
    });
    redis.on('close', () => {
      if (store.#readySince !== undefined) log.warn('redis connection lost; presence answers PRESENCE_UNAVAILABLE until it returns');
      store.#readySince = undefined;
    });
    // ioredis reports every failed reconnect; the close above already said what matters.
    redis.on('error', (error: Error) => log.debug({ err: error }, 'redis error'));
    await openClient('Redis', url, { close: async () => redis.disconnect() }, async () => {
      await redis.connect();
      await redis.ping();
    });
    return store;
  }

  /** Since when Redis has been reachable without interruption (undefined: it is not now). */
  get readySince(): number | undefined {
    return this.#readySince;
  }

  /** Adds connections; the users that went online with them, with their new version. */
  async addConnections(gatewayId: string, connections: readonly Connection[], now: number): Promise<UserPresence[]> {
    if (connections.length === 0) return [];
    return this.#call(async () => {
      // One pipeline, one write: a report carries up to 1,000 connections, and a write per command was a quarter
      // of this service's CPU while users connected (issue 16).
      const pipeline = this.#redis.pipeline() as PresencePipeline;
      for (const { userId, connectionId } of connections)
        pipeline.presenceAddConnection(this.#conns(userId), this.#state(userId), connectionId, gatewayId, String(now));
      pipeline.sadd(this.#gateway(gatewayId), ...connections.map(member));
      const versions = replies(await pipeline.exec());
      return connections.flatMap(({ userId }, i) => (Number(versions[i]) > 0 ? [status(userId, true, now, Number(versions[i]))] : []));
    });
  }

  /**
   * Removes connections; the users that went offline with them. With `onlyIfHeldBy`, a connection is removed
   * only while that gateway (epoch) still holds it.
   */
  async removeConnections(
    gatewayId: string,
    connections: readonly Connection[],
    now: number,
    onlyIfHeldBy?: string,
  ): Promise<UserPresence[]> {
    if (connections.length === 0) return [];
    return this.#call(async () => {
      const pipeline = this.#redis.pipeline() as PresencePipeline;
      for (const { userId, connectionId } of connections)
        pipeline.presenceRemoveConnection(this.#conns(userId), this.#state(userId), connectionId, String(now), onlyIfHeldBy ?? '');
      pipeline.srem(this.#gateway(gatewayId), ...connections.map(member));
      const versions = replies(await pipeline.exec());
      return connections.flatMap(({ userId }, i) => (Number(versions[i]) > 0 ? [status(userId, false, now, Number(versions[i]))] : []));
    });
  }

  /** Records a heartbeat; false when this gateway was unknown (new, expired, or its data lost). */
  async heartbeat(gatewayId: string, now: number): Promise<boolean> {
    return this.#call(async () => (await this.#redis.zadd(this.#gateways(), now, gatewayId)) === 0);
  }

  /** Gateways whose last heartbeat is older than `before`. */
  async silentGateways(before: number): Promise<string[]> {
    return this.#call(() => this.#redis.zrangebyscore(this.#gateways(), '-inf', `(${before}`));
  }

  /** Expires a silent gateway: removes the connections it still holds; the users that went offline. */
  async expireGateway(gatewayId: string, now: number): Promise<UserPresence[]> {
    return this.#call(async () => {
      const members = await this.#redis.smembers(this.#gateway(gatewayId));
      const connections = members.flatMap((m) => {
        const [userId, connectionId] = m.split(' ');
        return userId && connectionId ? [{ userId: userId as UserId, connectionId }] : [];
      });
      const flips = await this.removeConnections(gatewayId, connections, now, gatewayId);
      await this.#redis.del(this.#gateway(gatewayId));
      await this.#redis.zrem(this.#gateways(), gatewayId);
      return flips;
    });
  }

  async status(userIds: readonly UserId[]): Promise<UserPresence[]> {
    return this.#call(async () => {
      const pipeline = this.#redis.pipeline();
      for (const userId of userIds) {
        pipeline.hlen(this.#conns(userId));
        pipeline.hmget(this.#state(userId), 'lastSeen', 'version');
      }
      const results = replies(await pipeline.exec());
      return userIds.map((userId, i) => {
        const count = results[2 * i] as number;
        const state = results[2 * i + 1];
        const [lastSeen, version] = state as [string | null, string | null];
        return {
          userId,
          isOnline: count > 0,
          lastSeen: lastSeen ? new Date(Number(lastSeen)).toISOString() : null,
          version: Number(version ?? 0),
        };
      });
    });
  }

  async close(): Promise<void> {
    await this.#redis.quit().catch(() => this.#redis.disconnect());
  }

  async #call<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof ChatError) throw error;
      this.#logger.warn({ err: error }, 'redis command failed');
      throw new ChatError('PRESENCE_UNAVAILABLE');
    }
  }

  #conns(userId: string): string {
    return `${this.#prefix}u:{${userId}}:conns`;
  }

  #state(userId: string): string {
    return `${this.#prefix}u:{${userId}}:state`;
  }

  #gateway(gatewayId: string): string {
    return `${this.#prefix}gw:${gatewayId}`;
  }

  #gateways(): string {
    return `${this.#prefix}gateways`;
  }
}

const member = ({ userId, connectionId }: Connection): string => `${userId} ${connectionId}`;

function status(userId: UserId, isOnline: boolean, at: number, version: number): UserPresence {
  return { userId, isOnline, lastSeen: new Date(at).toISOString(), version };
}

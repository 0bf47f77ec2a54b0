import { Redis } from 'ioredis';
import type { Logger } from '@chat/logger';

/**
 * The Redis the limits are counted in. Never holds the gateway up: it connects in the background, and while it
 * is not ready every limit is counted in this gateway alone (the limiters' insurance), so chat goes on.
 */
export function connectLimitsRedis(url: string, logger: Logger): Redis {
  const log = logger.child({ component: 'limits' });
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: 500,
    connectTimeout: 2_000,
    retryStrategy: (times) => Math.min(100 * times, 1_000),
  });
  let ready = false;
  redis.on('ready', () => {
    ready = true;
    log.info('limits are counted in Redis, for all gateways together');
  });
  redis.on('close', () => {
    if (ready) log.warn('Redis connection lost: limits are counted in this gateway alone until it returns');
    ready = false;
  });
  // ioredis reports every failed reconnect; the close above already said what matters.
  redis.on('error', (error: Error) => log.debug({ err: error }, 'redis error'));
  return redis;
}

import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import type { Namespace } from '@chat/contracts';
import { removeRunData } from './cleanup.ts';

/**
 * Names owned by one test file, so test runs can share the long-lived NATS, MongoDB and Redis: a bus namespace
 * (and so its streams), a database, a Redis key prefix. `cleanup()` removes what they created.
 */
export interface TestContext {
  namespace: Namespace;
  natsUrl: string;
  /** Includes the context's own database. */
  mongoUrl: string;
  mongoDatabase: string;
  redisUrl: string;
  redisPrefix: string;
  cleanup(): Promise<void>;
}

export function createTestContext(): TestContext {
  const infra = inject('infra');
  const id = randomBytes(5).toString('hex');
  const namespace = `t${id}` as Namespace;
  const mongoDatabase = `test_${id}`;
  const mongo = new URL(infra.mongoUrl);
  mongo.pathname = `/${mongoDatabase}`;
  return {
    namespace,
    natsUrl: infra.natsUrl,
    mongoUrl: mongo.toString(),
    mongoDatabase,
    redisUrl: infra.redisUrl,
    redisPrefix: `${namespace}:`,
    async cleanup() {
      await removeRunData({ natsUrl: infra.natsUrl, mongoUrl: mongo.toString(), redisUrl: infra.redisUrl }, namespace, [mongoDatabase]);
    },
  };
}

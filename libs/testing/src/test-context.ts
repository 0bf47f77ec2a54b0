import { randomBytes } from 'node:crypto';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { MongoClient } from 'mongodb';
import { Redis } from 'ioredis';
import { inject } from 'vitest';
import type { Namespace } from '@chat/contracts';

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
      const nc = await connect({ servers: infra.natsUrl });
      try {
        const jsm = await jetstreamManager(nc);
        const prefix = `${namespace.toUpperCase()}_`;
        for await (const name of jsm.streams.names()) {
          if (name.startsWith(prefix)) await jsm.streams.delete(name);
        }
      } finally {
        await nc.close();
      }
      const client = new MongoClient(mongo.toString(), { serverSelectionTimeoutMS: 5000 });
      try {
        await client.db(mongoDatabase).dropDatabase();
      } finally {
        await client.close();
      }
      const redis = new Redis(infra.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
      try {
        await redis.connect();
        let cursor = '0';
        do {
          const [next, keys] = await redis.scan(cursor, 'MATCH', `${namespace}:*`, 'COUNT', 500);
          if (keys.length > 0) await redis.del(...keys);
          cursor = next;
        } while (cursor !== '0');
      } finally {
        redis.disconnect();
      }
    },
  };
}

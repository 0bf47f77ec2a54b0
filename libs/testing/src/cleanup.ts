import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { MongoClient } from 'mongodb';
import { Redis } from 'ioredis';

/**
 * Removes what one run created on the shared NATS, MongoDB and Redis: the streams of its namespace, its
 * databases, and its Redis keys (`<namespace>:*`). Free of vitest, so the benchmark uses it too.
 */
export async function removeRunData(
  { natsUrl, mongoUrl, redisUrl }: { natsUrl: string; mongoUrl: string; redisUrl: string },
  namespace: string,
  databases: readonly string[],
): Promise<void> {
  const nc = await connect({ servers: natsUrl });
  try {
    const jsm = await jetstreamManager(nc);
    const prefix = `${namespace.toUpperCase()}_`;
    for await (const name of jsm.streams.names()) {
      if (name.startsWith(prefix)) await jsm.streams.delete(name);
    }
  } finally {
    await nc.close();
  }
  const mongo = new MongoClient(mongoUrl, { serverSelectionTimeoutMS: 5000 });
  try {
    for (const database of databases) await mongo.db(database).dropDatabase();
  } finally {
    await mongo.close();
  }
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${namespace}:*`, 'COUNT', 1000);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

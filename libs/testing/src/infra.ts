import { hasDockerEngine, localInfra } from './local-infra.ts';

/**
 * Where the tests' NATS (with JetStream), MongoDB and Redis are: from NATS_URL / MONGO_URL / REDIS_URL when set;
 * otherwise started with testcontainers when there is a Docker engine, else on this machine by
 * `scripts/local-infra.sh` (as `.ci/run` does); otherwise one error that says how to provide them.
 */
export interface InfraUrls {
  natsUrl: string;
  /** A MongoDB server URL without a database: each test context adds its own. */
  mongoUrl: string;
  redisUrl: string;
}

export interface StartedInfra {
  urls: InfraUrls;
  stop(): Promise<void>;
}

const HOW_TO_PROVIDE = [
  'The integration tests need NATS with JetStream, MongoDB (or a MongoDB-wire server such as FerretDB) and Redis.',
  'Either set NATS_URL, MONGO_URL and REDIS_URL (e.g. NATS_URL=nats://127.0.0.1:4222 MONGO_URL=mongodb://127.0.0.1:27017',
  "REDIS_URL=redis://127.0.0.1:6379; `bash .ci/run` starts them on a machine like CI's), or run a Docker engine so that",
  'testcontainers can start them.',
].join('\n');

/** The server part of a MongoDB URL: the tests pick their own database names. */
export function mongoServerUrl(url: string): string {
  const parsed = new URL(url);
  parsed.pathname = '/';
  return parsed.toString();
}

export async function startInfra(env: Record<string, string | undefined> = process.env): Promise<StartedInfra> {
  const given = { natsUrl: env.NATS_URL, mongoUrl: env.MONGO_URL, redisUrl: env.REDIS_URL };
  const stops: Array<() => Promise<unknown>> = [];
  const stop = async () => {
    await Promise.allSettled(stops.map((s) => s()));
  };
  if ((!given.natsUrl || !given.mongoUrl || !given.redisUrl) && !hasDockerEngine(env)) {
    const local = localInfra();
    return {
      urls: {
        natsUrl: given.natsUrl ?? local.NATS_URL,
        mongoUrl: mongoServerUrl(given.mongoUrl ?? local.MONGO_URL),
        redisUrl: given.redisUrl ?? local.REDIS_URL,
      },
      // Left running for the next run (and for `npm start`), as the script says.
      stop: async () => undefined,
    };
  }
  try {
    const urls: InfraUrls = {
      natsUrl: given.natsUrl ?? (await startNats(stops)),
      mongoUrl: mongoServerUrl(given.mongoUrl ?? (await startMongo(stops))),
      redisUrl: given.redisUrl ?? (await startRedis(stops)),
    };
    return { urls, stop };
  } catch (error) {
    await stop();
    throw new Error(`${HOW_TO_PROVIDE}\n(testcontainers said: ${(error as Error).message})`, { cause: error });
  }
}

async function startNats(stops: Array<() => Promise<unknown>>): Promise<string> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const container = await new GenericContainer('nats:2.15-alpine')
    .withCommand(['-js'])
    .withExposedPorts(4222)
    .withWaitStrategy(Wait.forLogMessage(/Server is ready/))
    .start();
  stops.push(() => container.stop());
  return `nats://${container.getHost()}:${container.getMappedPort(4222)}`;
}

async function startMongo(stops: Array<() => Promise<unknown>>): Promise<string> {
  const { MongoDBContainer } = await import('@testcontainers/mongodb');
  const container = await new MongoDBContainer('mongo:8').start();
  stops.push(() => container.stop());
  return `mongodb://${container.getHost()}:${container.getMappedPort(27017)}/?directConnection=true`;
}

async function startRedis(stops: Array<() => Promise<unknown>>): Promise<string> {
  const { RedisContainer } = await import('@testcontainers/redis');
  const container = await new RedisContainer('redis:7-alpine').start();
  stops.push(() => container.stop());
  return container.getConnectionUrl();
}

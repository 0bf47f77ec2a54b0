import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '@chat/logger';
import { createTestContext } from '@chat/testing';
import { Limits } from '../src/limits/limits.ts';
import { limitPolicy } from '../src/limits/policy.ts';

const ctx = createTestContext();
const logger = createLogger({ service: 'synced-limits-test', level: 'silent' });
const clients: Redis[] = [];
afterAll(async () => {
  for (const client of clients) client.disconnect();
  await ctx.cleanup();
});

const redis = (url = ctx.redisUrl) => {
  const client = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
  clients.push(client);
  return client;
};
const ready = async (client: Redis) => {
  if (client.status !== 'ready') await new Promise((resolve) => client.once('ready', resolve));
  return client;
};

/** A gateway's limits: five sends at once, then one a minute (`SEND_RATE_BURST=5`, `SEND_RATE_PER_MINUTE=1`). */
const gateway = async (test: string, syncMs: number, client?: Redis) =>
  new Limits({
    policy: limitPolicy({}, { perMinute: 1, burst: 5 }),
    redis: client ?? (await ready(redis())),
    syncMs,
    keyPrefix: `${ctx.redisPrefix}${test}:`,
    logger,
  });
/** A sync interval no test waits for: what is shared is shared by an explicit flush. */
const NEVER = 3_600_000;

const takes = async (limits: Limits, user: string, n: number) => {
  const allowed: boolean[] = [];
  for (let i = 0; i < n; i++) allowed.push((await limits.take('send_message', user)).allowed);
  return allowed.filter(Boolean).length;
};

describe('per-user limits counted here and shared through Redis in batches', () => {
  it('a gateway that meets a user first asks Redis, so what other gateways shared counts', async () => {
    const [a, b] = [await gateway('first', NEVER), await gateway('first', NEVER)];
    expect(await takes(a, 'u1', 3)).toBe(3);
    await a.flush();
    // The user moves to gateway b: two left of five.
    expect(await takes(b, 'u1', 4)).toBe(2);
  });

  it('between two syncs each gateway decides on what it knows; a sync brings in what the others took', async () => {
    const [a, b] = [await gateway('between', NEVER), await gateway('between', NEVER)];
    // Both meet the user (their first takes of each window ask Redis): three of five taken.
    expect(await takes(a, 'u2', 2)).toBe(2);
    expect(await takes(b, 'u2', 1)).toBe(1);
    // Decided on a alone: five taken; a's sync puts them in Redis.
    expect(await takes(a, 'u2', 2)).toBe(2);
    await a.flush();
    // b has not synced since: it allows one more on what it knew (the price of not asking Redis every time) ...
    expect(await takes(b, 'u2', 1)).toBe(1);
    // ... and its sync brings back everyone's total: over the limit on both gateways from now on.
    await b.flush();
    expect(await takes(b, 'u2', 2)).toBe(0);
    expect(await takes(a, 'u2', 2)).toBe(0);
  });

  it('takes of a user at once, before Redis answered the first, wait for its answer and are all counted', async () => {
    const limits = await gateway('together', NEVER);
    const answers = await Promise.all(Array.from({ length: 8 }, () => limits.take('send_message', 'u7')));
    expect(answers.filter((answer) => answer.allowed).length).toBe(5);
  });

  it('shares its counts with gateways that count every event in Redis (RATE_LIMIT_SYNC_MS=0)', async () => {
    const [exact, synced] = [await gateway('mixed', 0), await gateway('mixed', NEVER)];
    expect(await takes(exact, 'u3', 2)).toBe(2);
    expect(await takes(synced, 'u3', 2)).toBe(2);
    await synced.flush();
    expect(await takes(exact, 'u3', 3)).toBe(1);
  });

  it('shares on its own, every interval', async () => {
    const [a, b] = [await gateway('interval', 50), await gateway('interval', 50)];
    expect(await takes(b, 'u4', 1)).toBe(1);
    expect(await takes(a, 'u4', 4)).toBe(4);
    await sleep(300);
    expect(await takes(b, 'u4', 2)).toBe(0);
  });

  it('while Redis does not answer, counts here and allows what the limit allows', async () => {
    const away = redis('redis://127.0.0.1:1');
    away.on('error', () => undefined);
    const limits = await gateway('away', 50, away);
    expect(await takes(limits, 'u5', 8)).toBe(5);
    await limits.flush();
    expect(await takes(limits, 'u5', 1)).toBe(0);
  });

  it('a window that ends here starts afresh', async () => {
    const limits = new Limits({
      // One a second, no burst: the steady window alone, of one second.
      policy: limitPolicy({}, { perMinute: 60, burst: 1 }),
      redis: await ready(redis()),
      syncMs: 20,
      keyPrefix: `${ctx.redisPrefix}window:`,
      logger,
    });
    expect(await takes(limits, 'u6', 3)).toBe(1);
    await sleep(1_100);
    expect(await takes(limits, 'u6', 3)).toBe(1);
  });
});

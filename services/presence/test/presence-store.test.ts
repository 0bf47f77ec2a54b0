import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@chat/logger';
import type { Connection, UserId } from '@chat/contracts';
import { createTestContext } from '@chat/testing';
import { PresenceStore } from '../src/store/presence-store.ts';

const ctx = createTestContext();
let store: PresenceStore;

beforeAll(async () => {
  store = await PresenceStore.open({
    url: ctx.redisUrl,
    prefix: `${ctx.redisPrefix}presence:`,
    logger: createLogger({ service: 'presence-store-test', level: 'silent' }),
  });
});
afterAll(async () => {
  await store?.close();
  await ctx.cleanup();
});

const connection = (userId: string, connectionId: string): Connection => ({ userId: userId as UserId, connectionId });
const online = async (userId: string) => (await store.status([userId as UserId]))[0]?.isOnline;

describe('PresenceStore (Redis)', () => {
  it('keeps a connection re-registered under a newer epoch when a late report of the old epoch arrives, so the old epoch expires without it', async () => {
    const c = connection('ps-late', 'sock-late-1');
    // The gateway's report under epoch 0 timed out on its side; it re-registered everything under epoch 1 ...
    expect((await store.addConnections('gw-a.1', [c], 1_000)).map((f) => f.userId)).toEqual(['ps-late']);
    // ... and only then did presence get to the old report.
    expect(await store.addConnections('gw-a.0', [c], 1_001)).toEqual([]);
    expect(await store.expireGateway('gw-a.0', 20_000)).toEqual([]);
    expect(await online('ps-late')).toBe(true);
    // Epoch 1's own end still takes it.
    expect((await store.expireGateway('gw-a.1', 30_000)).map((f) => [f.userId, f.isOnline])).toEqual([['ps-late', false]]);
    expect(await online('ps-late')).toBe(false);
  });

  it('moves a connection to a newer epoch of its gateway, so that expiring the old one leaves it online', async () => {
    const c = connection('ps-resync', 'sock-resync-1');
    await store.addConnections('gw-b.0', [c], 1_000);
    expect(await store.addConnections('gw-b.1', [c], 2_000)).toEqual([]);
    expect(await store.expireGateway('gw-b.0', 20_000)).toEqual([]);
    expect(await online('ps-resync')).toBe(true);
  });

  it('flips a user online once for the first connection and offline once for the last, in one pipeline per report', async () => {
    const [c1, c2] = [connection('ps-two', 'sock-two-1'), connection('ps-two', 'sock-two-2')];
    const other = connection('ps-other', 'sock-other-1');
    const wentOnline = await store.addConnections('gw-c.0', [c1, c2, other], 1_000);
    expect(wentOnline.map((f) => [f.userId, f.isOnline])).toEqual([
      ['ps-two', true],
      ['ps-other', true],
    ]);
    expect(await store.removeConnections('gw-c.0', [c1], 2_000)).toEqual([]);
    expect((await store.removeConnections('gw-c.0', [c2, other], 3_000)).map((f) => f.userId)).toEqual(['ps-two', 'ps-other']);
    expect(await online('ps-two')).toBe(false);
  });
});

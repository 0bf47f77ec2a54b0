import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conversationIdOf, type UserId } from '@chat/contracts';
import { collectEvents, emitWithAck, freePort, nextEvent, waitFor } from '@chat/testing';
import { spawnProcess, type ServiceProcess } from '../support/processes.ts';
import { converse } from '../support/conversations.ts';
import { startTestPresence, useSystem } from '../support/system.ts';
import type { PresenceService } from '@chat/presence';

/**
 * A real Redis outage, on a throwaway redis-server of this test's own (the shared one is never touched):
 * chat keeps working, presence answers PRESENCE_UNAVAILABLE, and everything comes back by itself when Redis
 * returns — empty, as a Redis without persistence does — without restarting any service.
 */
const system = useSystem();
let redisPort: number;
let redis: ServiceProcess | undefined;
let presence: PresenceService | undefined;

async function startRedis(): Promise<void> {
  redis = spawnProcess('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']);
  await redis.waitForLog('Ready to accept connections');
}

async function stopRedis(): Promise<void> {
  await redis?.kill('SIGKILL');
}

beforeAll(async () => {
  redisPort = await freePort();
  await startRedis();
  presence = await startTestPresence(system.ctx, { REDIS_URL: `redis://127.0.0.1:${redisPort}` });
});

afterAll(async () => {
  await presence?.stop();
  await stopRedis();
});

describe('Redis outage', () => {
  it('keeps chat working, answers PRESENCE_UNAVAILABLE, and recovers by itself', { timeout: 60_000 }, async () => {
    const alice = 'alice-outage' as UserId;
    const bob = 'bob-outage' as UserId;
    const carol = 'carol-outage' as UserId;
    const [g1, g2] = [system.gateway, await system.addGateway()];
    const a = await system.connectAs(alice, g1);
    const b = await system.connectAs(bob, g2);
    await converse(a, alice, bob);
    await converse(b, bob, carol);
    expect(await emitWithAck(b, 'get_online_status', { userId: alice })).toMatchObject({ ok: true, data: { isOnline: true } });

    await stopRedis();

    // Messages flow.
    const received = nextEvent(b, 'new_message');
    await converse(a, alice, bob);
    expect((await received).senderId).toBe(alice);
    // Presence says clearly that it cannot tell.
    const during = await emitWithAck(b, 'get_online_status', { userId: alice });
    expect(during).toMatchObject({ ok: false, error: { code: 'PRESENCE_UNAVAILABLE', event: 'get_online_status' } });
    // Typing does not need Redis.
    const typing = nextEvent(b, 'user_typing');
    expect((await emitWithAck(a, 'typing_start', { conversationId: conversationIdOf(alice, bob) })).ok).toBe(true);
    expect((await typing).isTyping).toBe(true);
    // Carol connects meanwhile: her connection cannot be recorded now.
    await system.connectAs(carol, g1);

    await startRedis();

    // Back by itself, from an empty Redis: the gateways register their live connections again.
    await waitFor(
      async () => {
        const [ofAlice, ofCarol] = await Promise.all([
          emitWithAck(b, 'get_online_status', { userId: alice }),
          emitWithAck(b, 'get_online_status', { userId: carol }),
        ]);
        return ofAlice.ok && ofAlice.data.isOnline && ofCarol.ok && ofCarol.data.isOnline;
      },
      { timeoutMs: 20_000, intervalMs: 250 },
    );

    // And changes are pushed again.
    const pushes = collectEvents(b, 'user_online_status');
    a.disconnect();
    await waitFor(() => pushes.some((p) => p.userId === alice && !p.isOnline));
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { conversationIdOf, type UserId } from '@chat/contracts';
import { collectEvents, emitWithAck, nextEvent, signToken, waitFor, type ChatClient } from '@chat/testing';
import { converse } from '../support/conversations.ts';
import { useSystem } from '../support/system.ts';

/**
 * Presence across devices and gateways: two gateways, the messages and presence services in-process, real
 * NATS, MongoDB and Redis.
 */
const system = useSystem({ presence: true });
let redis: Redis;
beforeAll(() => {
  redis = new Redis(system.ctx.redisUrl);
});
afterAll(() => redis?.disconnect());

/** How many live connections presence has for a user (straight from Redis). */
const connections = (userId: UserId) => redis.hlen(`${system.ctx.redisPrefix}presence:u:{${userId}}:conns`);

let n = 0;
/** Fresh user ids per test, so that no state leaks between tests. */
const users = <const N extends string[]>(...names: N) => {
  n++;
  return names.map((name) => `${name}-${n}` as UserId) as { [K in keyof N]: UserId };
};

async function statusOf(asker: ChatClient, userId: UserId) {
  const ack = await emitWithAck(asker, 'get_online_status', { userId });
  if (!ack.ok) throw new Error(`get_online_status failed: ${JSON.stringify(ack.error)}`);
  return ack.data;
}

describe('online status', () => {
  it('is online from the first connection, across devices and gateways, until the last one ends', async () => {
    const [alice, bob] = users('alice', 'bob');
    const [g1, g2] = [system.gateway, system.gateways[1] ?? (await system.addGateway())];
    const a = await system.connectAs(alice, g1);
    const bobPhone = await system.connectAs(bob, g1);
    await converse(bobPhone, bob, alice);
    const bobLaptop = await system.connectAs(bob, g2);

    const first = await statusOf(a, bob);
    expect(first).toMatchObject({ userId: bob, isOnline: true });
    expect(first.lastSeen).not.toBeNull();

    // Alice asked, so she hears of changes; one device of two going away is not one.
    const pushes = collectEvents(a, 'user_online_status');
    expect(await connections(bob)).toBe(2);
    bobPhone.disconnect();
    await waitFor(async () => (await connections(bob)) === 1);
    // Bob is still online: the answer says so, and it is the only event Alice got.
    const answer = await statusOf(a, bob);
    expect(answer).toMatchObject({ isOnline: true });
    expect(pushes).toEqual([answer]);

    const before = Date.now();
    const offline = nextEvent(a, 'user_online_status');
    bobLaptop.disconnect();
    const change = await offline;
    expect(change).toMatchObject({ userId: bob, isOnline: false });
    expect(Date.parse(change.lastSeen!)).toBeGreaterThanOrEqual(before - 1000);
    expect(await statusOf(a, bob)).toEqual(change);

    const online = nextEvent(a, 'user_online_status');
    const bobAgain = await system.connectAs(bob, g2);
    expect(await online).toMatchObject({ userId: bob, isOnline: true });
    bobAgain.disconnect();
  });

  it('answers get_online_status with the event and the ack, about oneself too', async () => {
    const [carol] = users('carol');
    const c = await system.connectAs(carol);
    // Status pushes about her own connection may come too (with her lastSeen): the answer is the one like the ack.
    const events = collectEvents(c, 'user_online_status');
    const ack = await emitWithAck(c, 'get_online_status', { userId: carol });
    expect(ack).toMatchObject({ ok: true, data: { userId: carol, isOnline: true } });
    // The event tells the same (a push of her own connect that overtook the answer may carry a later lastSeen).
    await waitFor(() => events.some((event) => ack.ok && event.userId === carol && event.isOnline === ack.data.isOnline));
  });

  it('refuses get_online_status about a user one shares no conversation with', async () => {
    const [dave, erin, frank] = users('dave', 'erin', 'frank');
    const d = await system.connectAs(dave);
    await system.connectAs(erin);
    await converse(d, dave, frank);
    const error = nextEvent(d, 'error');
    const ack = await emitWithAck(d, 'get_online_status', { userId: erin });
    expect(ack).toMatchObject({ ok: false, error: { code: 'FORBIDDEN', event: 'get_online_status' } });
    expect((await error).code).toBe('FORBIDDEN');
    // Joining a made-up conversation with her proves nothing either.
    expect((await emitWithAck(d, 'join_conversation', { conversationId: conversationIdOf(dave, erin) })).ok).toBe(true);
    expect((await emitWithAck(d, 'get_online_status', { userId: erin })).ok).toBe(false);
    // The one he talked to is fine, and a malformed id is a validation error.
    expect((await emitWithAck(d, 'get_online_status', { userId: frank })).ok).toBe(true);
    const bad = await emitWithAck(d, 'get_online_status', { userId: 'not.valid' as UserId });
    expect(bad).toMatchObject({ ok: false, error: { code: 'VALIDATION_ERROR' } });
  });

  it('pushes changes to whoever has the conversation open, and to nobody else', async () => {
    const [gina, hank, stranger, watcher] = users('gina', 'hank', 'stranger', 'watcher');
    const [g1, g2] = [system.gateway, system.gateways[1] ?? (await system.addGateway())];
    const g = await system.connectAs(gina, g1);
    await converse(g, gina, hank);
    const ginaOther = await system.connectAs(gina, g2);
    const s = await system.connectAs(stranger, g2);
    // Someone on the second gateway who does care, so that it gets Hank's changes too.
    const w = await system.connectAs(watcher, g2);
    await converse(w, watcher, hank);
    await statusOf(w, hank);
    const atWatcher = collectEvents(w, 'user_online_status');
    const conversationId = conversationIdOf(gina, hank);

    // Opening the conversation tells the current status, then every change.
    const current = nextEvent(g, 'user_online_status');
    expect((await emitWithAck(g, 'join_conversation', { conversationId })).ok).toBe(true);
    expect(await current).toMatchObject({ userId: hank, isOnline: false, lastSeen: null });

    const atOpen = collectEvents(g, 'user_online_status');
    const atOtherDevice = collectEvents(ginaOther, 'user_online_status');
    const atStranger = collectEvents(s, 'user_online_status');
    const h = await system.connectAs(hank, g2);
    await waitFor(() => atOpen.length === 1);
    expect(atOpen[0]).toMatchObject({ userId: hank, isOnline: true });
    h.disconnect();
    await waitFor(() => atOpen.length === 2);
    expect(atOpen[1]).toMatchObject({ userId: hank, isOnline: false });

    await waitFor(() => atWatcher.length === 2);
    // Her other device did not open the conversation nor ask; the stranger has nothing to do with Hank. Both
    // are on the gateway that emitted the watcher's events; an ack on their own socket comes after anything
    // emitted to it before.
    await statusOf(ginaOther, gina);
    await statusOf(s, stranger);
    expect(atOtherDevice.filter((e) => e.userId === hank)).toEqual([]);
    expect(atStranger.filter((e) => e.userId === hank)).toEqual([]);
  });

  it('fills isOnline in the REST conversation list from presence', async () => {
    const [ivan, judy, ken] = users('ivan', 'judy', 'ken');
    const i = await system.connectAs(ivan);
    const j = await system.connectAs(judy);
    await converse(i, ivan, judy);
    await converse(i, ivan, ken);
    const list = async () => {
      const response = await fetch(`${system.gateway.url}/api/chat/conversations`, {
        headers: { authorization: `Bearer ${await signToken({ userId: ivan })}` },
      });
      expect(response.status).toBe(200);
      const body = (await response.json()) as { data: Array<{ otherUser: { _id: string; isOnline: boolean } }> };
      return Object.fromEntries(body.data.map((c) => [c.otherUser._id, c.otherUser.isOnline]));
    };
    // The conversations' writes follow the deliveries, and Judy's connection reaches presence in the gateway's
    // next report: the list shows both, Judy online, once both have happened.
    await expect.poll(list, { timeout: 10_000 }).toEqual({ [judy]: true, [ken]: false });
    const gone = collectEvents(i, 'user_online_status');
    await statusOf(i, judy);
    j.disconnect();
    await waitFor(() => gone.some((s) => s.userId === judy && !s.isOnline));
    await expect.poll(list, { timeout: 10_000 }).toEqual({ [judy]: false, [ken]: false });
  });

  it('flips each of many users that connect at once online exactly once, and offline exactly once when they leave', async () => {
    // Connects in the same turns are reported together (one report, one Redis pipeline): every user's state
    // version counts its flips, so a lost or doubled flip shows up per user.
    const many = Array.from({ length: 120 }, (_, i) => users(`crowd${i}`)[0]);
    const [g1, g2] = [system.gateway, system.gateways[1] ?? (await system.addGateway())];
    const clients = await Promise.all(many.map((userId, i) => system.connectAs(userId, i % 2 === 0 ? g1 : g2)));
    const state = (userId: UserId) => redis.hget(`${system.ctx.redisPrefix}presence:u:{${userId}}:state`, 'version');
    await expect.poll(async () => (await Promise.all(many.map(connections))).every((c) => c === 1), { timeout: 10_000 }).toBe(true);
    expect(new Set(await Promise.all(many.map(state)))).toEqual(new Set(['1']));
    for (const client of clients) client.disconnect();
    await expect.poll(async () => (await Promise.all(many.map(connections))).every((c) => c === 0), { timeout: 10_000 }).toBe(true);
    expect(new Set(await Promise.all(many.map(state)))).toEqual(new Set(['2']));
  });
});

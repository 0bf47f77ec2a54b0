import { describe, expect, it } from 'vitest';
import { conversationIdOf, type UserId } from '@chat/contracts';
import { collectEvents, connectClient, CuttableProxy, emitWithAck, nextEvent, signToken, waitFor } from '@chat/testing';
import { useSystem } from '../support/system.ts';

const system = useSystem();

/** One limit's settings on top of the tests' lifted ones: `perMinute` 1 makes the burst all there is for a minute. */
const only = (name: string, burst: number) => ({ RATE_LIMITS: JSON.stringify({ [name]: { perMinute: 1, burst } }) });
const tightSends = { SEND_RATE_PER_MINUTE: '1', SEND_RATE_BURST: '5' };
/** Every send counted in Redis before it is allowed, not in batches (the default, `RATE_LIMIT_SYNC_MS=100`). */
const exact = { RATE_LIMIT_SYNC_MS: '0' };

const text = (conversationId: string, receiverId: UserId, n: number) =>
  ({ conversationId, receiverId, messageType: 'text', content: { text: `m${n}` } }) as const;

describe('per-user limits, shared by every socket and gateway of the user (Redis)', () => {
  it('a reconnect gives no fresh allowance', async () => {
    const gateway = await system.addGateway(tightSends);
    const a = 'lim-reconnect' as UserId;
    const b = 'lim-reconnect-peer' as UserId;
    const codes: string[] = [];
    for (let round = 0; round < 4; round++) {
      const socket = await system.connectAs(a, gateway);
      for (let i = 0; i < 5; i++) {
        const ack = await emitWithAck(socket, 'send_message', text(conversationIdOf(a, b), b, round * 5 + i));
        codes.push(ack.ok ? 'ok' : ack.error.code);
      }
      socket.disconnect();
    }
    expect(codes.filter((c) => c === 'ok').length).toBe(5);
    expect(new Set(codes.filter((c) => c !== 'ok'))).toEqual(new Set(['RATE_LIMITED']));
    // A refusal says when a send would be taken again: within the minute's windows.
    const socket = await system.connectAs(a, gateway);
    const refused = await emitWithAck(socket, 'send_message', text(conversationIdOf(a, b), b, 99));
    expect(refused.ok ? undefined : refused.error.details).toMatchObject({ limit: 'send_message', retryAfterMs: expect.any(Number) });
    const { retryAfterMs } = (refused.ok ? {} : refused.error.details) as { retryAfterMs: number };
    expect(retryAfterMs).toBeGreaterThan(0);
    expect(retryAfterMs).toBeLessThanOrEqual(60_000);
  });

  it('two gateways give no double allowance (counted in Redis at every send)', async () => {
    const [g1, g2] = [await system.addGateway({ ...tightSends, ...exact }), await system.addGateway({ ...tightSends, ...exact })];
    const a = 'lim-two-gateways' as UserId;
    const b = 'lim-two-gateways-peer' as UserId;
    const [s1, s2] = [await system.connectAs(a, g1), await system.connectAs(a, g2)];
    const acks = [];
    for (let i = 0; i < 10; i++) acks.push(await emitWithAck(i % 2 === 0 ? s1 : s2, 'send_message', text(conversationIdOf(a, b), b, i)));
    expect(acks.filter((ack) => ack.ok).length).toBe(5);
    const limited = async (g: typeof g1) =>
      (await g.metrics.getSingleMetricAsString('chat_rate_limited_total')).match(/limit="send_message"[^}]*} (\d+)/)?.[1] ?? '0';
    expect(Number(await limited(g1)) + Number(await limited(g2))).toBe(5);
  });

  it("two gateways at once (counts shared every 100 ms): at most each one's allowance meanwhile, nothing once they shared", async () => {
    const [g1, g2] = [await system.addGateway(tightSends), await system.addGateway(tightSends)];
    const a = 'lim-two-synced' as UserId;
    const b = 'lim-two-synced-peer' as UserId;
    const [s1, s2] = [await system.connectAs(a, g1), await system.connectAs(a, g2)];
    const send = async (socket: typeof s1, n: number) => (await emitWithAck(socket, 'send_message', text(conversationIdOf(a, b), b, n))).ok;
    let allowed = 0;
    for (let i = 0; i < 10; i++) if (await send(i % 2 === 0 ? s1 : s2, i)) allowed++;
    expect(allowed).toBeGreaterThanOrEqual(5);
    expect(allowed).toBeLessThanOrEqual(10);
    // Each gateway's next send is decided on what it knew, and shares it; after that, Redis's total is everyone's.
    await send(s1, 10);
    await send(s2, 11);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect([await send(s1, 12), await send(s2, 13)]).toEqual([false, false]);
  });

  it('a user who moves to another gateway brings their count (shared within 100 ms)', async () => {
    const [g1, g2] = [await system.addGateway(tightSends), await system.addGateway(tightSends)];
    const a = 'lim-moves' as UserId;
    const b = 'lim-moves-peer' as UserId;
    const first = await system.connectAs(a, g1);
    const codes: string[] = [];
    for (let i = 0; i < 4; i++) {
      const ack = await emitWithAck(first, 'send_message', text(conversationIdOf(a, b), b, i));
      codes.push(ack.ok ? 'ok' : ack.error.code);
    }
    first.disconnect();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const second = await system.connectAs(a, g2);
    for (let i = 4; i < 7; i++) {
      const ack = await emitWithAck(second, 'send_message', text(conversationIdOf(a, b), b, i));
      codes.push(ack.ok ? 'ok' : ack.error.code);
    }
    expect(codes).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'RATE_LIMITED', 'RATE_LIMITED']);
  });

  const whileRedisAway = async (settings: Record<string, string>, user: string) => {
    const proxy = new CuttableProxy(new URL(system.ctx.redisUrl));
    try {
      const redisUrl = (await proxy.listen()).replace('nats://', 'redis://');
      const gateway = await system.addGateway({ ...tightSends, ...settings, REDIS_URL: redisUrl });
      const a = user as UserId;
      const b = `${user}-peer` as UserId;
      const socket = await system.connectAs(a, gateway);
      expect((await emitWithAck(socket, 'send_message', text(conversationIdOf(a, b), b, 0))).ok).toBe(true);
      proxy.cut();
      const acks = [];
      for (let i = 1; i <= 6; i++) acks.push(await emitWithAck(socket, 'send_message', text(conversationIdOf(a, b), b, i)));
      return acks.map((ack) => (ack.ok ? 'ok' : ack.error.code));
    } finally {
      await proxy.close();
    }
  };

  it('while Redis does not answer, each gateway counts alone and chat goes on', { timeout: 30_000 }, async () => {
    // What this gateway counted before goes on counting: the burst's five in all, then the limit.
    expect(await whileRedisAway({}, 'lim-redis-away')).toEqual(['ok', 'ok', 'ok', 'ok', 'RATE_LIMITED', 'RATE_LIMITED']);
  });

  it('while Redis does not answer, a gateway counting every send in Redis counts afresh alone', { timeout: 30_000 }, async () => {
    // Its insurance limiter starts from nothing: the local burst, then the limit.
    expect(await whileRedisAway(exact, 'lim-redis-away-exact')).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'RATE_LIMITED']);
  });
});

describe('the limits of the policy table', () => {
  it('mark_as_read', async () => {
    const gateway = await system.addGateway(only('mark_as_read', 3));
    const a = 'lim-reader' as UserId;
    const b = 'lim-reader-peer' as UserId;
    const socket = await system.connectAs(a, gateway);
    const acks = [];
    for (let i = 0; i < 5; i++)
      acks.push(await emitWithAck(socket, 'mark_as_read', { conversationId: conversationIdOf(a, b), upToSeq: 1 }));
    expect(acks.map((ack) => (ack.ok ? 'ok' : ack.error.code))).toEqual(['ok', 'ok', 'ok', 'RATE_LIMITED', 'RATE_LIMITED']);
  });

  it('get_online_status, sync_messages and join_conversation', async () => {
    const gateway = await system.addGateway({
      RATE_LIMITS: JSON.stringify({
        get_online_status: { perMinute: 1, burst: 2 },
        sync_messages: { perMinute: 1, burst: 2 },
        join_conversation: { perMinute: 1, burst: 2 },
      }),
    });
    const a = 'lim-various' as UserId;
    const b = 'lim-various-peer' as UserId;
    const socket = await system.connectAs(a, gateway);
    const conversationId = conversationIdOf(a, b);
    const outcome = async (event: string, payload: unknown) => {
      const codes = [];
      for (let i = 0; i < 3; i++) {
        const ack = await emitWithAck(socket, event as never, payload as never);
        codes.push(ack.ok ? 'ok' : ack.error.code);
      }
      return codes;
    };
    expect((await outcome('sync_messages', { conversationId }))[2]).toBe('RATE_LIMITED');
    expect((await outcome('join_conversation', { conversationId }))[2]).toBe('RATE_LIMITED');
    expect((await outcome('get_online_status', { userIds: [b] }))[2]).toBe('RATE_LIMITED');
  });

  it('invalid and unknown events: past the limit the socket is disconnected, told why', async () => {
    const gateway = await system.addGateway(only('invalid_event', 3));
    const socket = await system.connectAs('lim-garbage', gateway);
    const errors = collectEvents(socket, 'error');
    const disconnected = new Promise<string>((resolve) => socket.once('disconnect', resolve));
    const raw = socket as unknown as { emit(event: string, payload: unknown): void };
    raw.emit('send_message', { nonsense: true });
    raw.emit('no_such_event', 1);
    raw.emit('mark_as_read', 'x');
    raw.emit('no_such_event', 2);
    expect(await disconnected).toBe('io server disconnect');
    expect(errors.at(-1)).toMatchObject({ code: 'RATE_LIMITED', details: { limit: 'invalid_event' } });
  });

  it('REST: conversations created and pages read per user', async () => {
    const gateway = await system.addGateway({
      RATE_LIMITS: JSON.stringify({ conversation_create: { perMinute: 1, burst: 2 }, rest_read: { perMinute: 1, burst: 2 } }),
    });
    const token = await signToken({ userId: 'lim-rest' });
    const request = (method: string, path: string, body?: unknown) =>
      fetch(`${gateway.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
    const created = [];
    for (let i = 0; i < 3; i++) created.push(await request('POST', '/api/chat/conversations', { participantId: `lim-rest-peer-${i}` }));
    expect(created.map((r) => r.status)).toEqual([201, 201, 429]);
    const refusal = (await created[2]!.json()) as { details: { retryAfterMs: number } };
    expect(refusal).toMatchObject({ status: 429, code: 'RATE_LIMITED', details: { limit: 'conversation_create' } });
    // When to come back: before the end of the minute's window, in the details and as HTTP's Retry-After (seconds).
    expect(refusal.details.retryAfterMs).toBeGreaterThan(0);
    expect(refusal.details.retryAfterMs).toBeLessThanOrEqual(60_000);
    expect(Number(created[2]!.headers.get('retry-after'))).toBe(Math.ceil(refusal.details.retryAfterMs / 1000));
    const reads = [];
    for (let i = 0; i < 3; i++) reads.push((await request('GET', '/api/chat/conversations')).status);
    expect(reads).toEqual([200, 200, 429]);
  });

  it('sockets per user, and sockets waiting to authenticate per address', async () => {
    const gateway = await system.addGateway({ MAX_SOCKETS_PER_USER: '2', MAX_UNAUTHENTICATED_SOCKETS_PER_ADDRESS: '2' });
    await system.connectAs('lim-sockets', gateway);
    await system.connectAs('lim-sockets', gateway);
    const third = system.track(await connectClient(gateway.url, { token: await signToken({ userId: 'lim-sockets' }), wait: false }));
    expect(await nextEvent(third, 'error')).toMatchObject({ code: 'RATE_LIMITED', details: { limit: 'sockets_per_user' } });
    await waitFor(() => third.disconnected);

    // No token yet: two may wait to authenticate, the third is refused at the handshake.
    const waiting = [await connectClient(gateway.url), await connectClient(gateway.url)].map((s) => system.track(s));
    const refused = await connectClient(gateway.url).then(
      () => undefined,
      (error: Error & { data?: unknown }) => error,
    );
    expect(refused?.data).toMatchObject({ code: 'RATE_LIMITED', details: { limit: 'unauthenticated_sockets' } });
    // Once one of them has authenticated, there is room again.
    const authenticated = nextEvent(waiting[0]!, 'authenticated');
    waiting[0]!.emit('authenticate', { token: await signToken({ userId: 'lim-waiting' }) });
    await authenticated;
    expect(system.track(await connectClient(gateway.url)).connected).toBe(true);
  });
});

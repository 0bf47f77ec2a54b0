import { describe, expect, it } from 'vitest';
import { conversationIdOf, type UserId } from '@chat/contracts';
import { collectEvents, emitWithAck, nextEvent, waitFor } from '@chat/testing';
import { useSystem } from '../support/system.ts';

/** Typing indicators between two gateways over core NATS: nothing stored, nothing echoed, floods throttled. */
const system = useSystem();

let n = 0;
const pair = () => {
  n++;
  const typist = `typist-${n}` as UserId;
  const reader = `reader-${n}` as UserId;
  return { typist, reader, conversationId: conversationIdOf(typist, reader) };
};

async function twoGateways() {
  return [system.gateway, system.gateways[1] ?? (await system.addGateway())] as const;
}

describe('typing', () => {
  it("reaches the other participant's sockets on another gateway, never the typist's own", async () => {
    const { typist, reader, conversationId } = pair();
    const [g1, g2] = await twoGateways();
    const t = await system.connectAs(typist, g1);
    const tOther = await system.connectAs(typist, g2);
    const r1 = await system.connectAs(reader, g2);
    const r2 = await system.connectAs(reader, g1);
    const echoed = [...collectEvents(t, 'user_typing'), ...collectEvents(tOther, 'user_typing')];
    const atR2 = collectEvents(r2, 'user_typing');

    const started = nextEvent(r1, 'user_typing');
    expect(await emitWithAck(t, 'typing_start', { conversationId })).toEqual({ ok: true, data: {} });
    expect(await started).toEqual({ conversationId, userId: typist, isTyping: true });
    await waitFor(() => atR2.length === 1);

    // The stop is sent once the 2 s interval of the start is over.
    const stopped = nextEvent(r1, 'user_typing', 4000);
    expect((await emitWithAck(t, 'typing_stop', { conversationId })).ok).toBe(true);
    expect(await stopped).toEqual({ conversationId, userId: typist, isTyping: false });
    await waitFor(() => atR2.length === 2);
    expect(echoed).toEqual([]);
  });

  it('refuses typing in a conversation one is not part of, and bad payloads', async () => {
    const { typist, reader } = pair();
    const t = await system.connectAs(typist);
    const r = await system.connectAs(reader);
    const seen = collectEvents(r, 'user_typing');
    const notMine = conversationIdOf(reader, 'someone-else' as UserId);
    expect(await emitWithAck(t, 'typing_start', { conversationId: notMine })).toMatchObject({
      ok: false,
      error: { code: 'NOT_PARTICIPANT' },
    });
    expect(await emitWithAck(t, 'typing_stop', { conversationId: notMine })).toMatchObject({
      ok: false,
      error: { code: 'NOT_PARTICIPANT' },
    });
    expect(await emitWithAck(t, 'typing_start', { conversationId: 'nope' as never })).toMatchObject({
      ok: false,
      error: { code: 'VALIDATION_ERROR' },
    });
    // The reader would have had them before this ack on its own socket.
    await emitWithAck(r, 'typing_stop', { conversationId: conversationIdOf(reader, typist) });
    expect(seen).toEqual([]);
  });

  it('forwards one event per 2 s of a flood, refuses past the rate, and stops by itself after 5 s', async () => {
    const { typist, reader, conversationId } = pair();
    const [g1, g2] = await twoGateways();
    const t = await system.connectAs(typist, g1);
    const r = await system.connectAs(reader, g2);
    const seen = collectEvents(r, 'user_typing');
    const errors = collectEvents(t, 'error');

    const startedAt = Date.now();
    const acks = await Promise.all(Array.from({ length: 60 }, () => emitWithAck(t, 'typing_start', { conversationId })));
    const refused = acks.filter((a) => !a.ok);
    // A burst of 20 is accepted; the rest of an instant flood is refused with a code.
    expect(acks.filter((a) => a.ok).length).toBeGreaterThanOrEqual(20);
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((a) => !a.ok && a.error.code === 'RATE_LIMITED')).toBe(true);
    expect(errors.length).toBe(refused.length);

    // However many starts got in, the reader saw one; then, 5 s after the last start, the automatic stop.
    await waitFor(() => seen.length === 2, { timeoutMs: 8000 });
    const stoppedAfter = Date.now() - startedAt;
    expect(seen).toEqual([
      { conversationId, userId: typist, isTyping: true },
      { conversationId, userId: typist, isTyping: false },
    ]);
    expect(stoppedAfter).toBeGreaterThanOrEqual(4900);
  });

  it('stops when the typist disconnects', async () => {
    const { typist, reader, conversationId } = pair();
    const [g1, g2] = await twoGateways();
    const t = await system.connectAs(typist, g1);
    const r = await system.connectAs(reader, g2);
    const started = nextEvent(r, 'user_typing');
    await emitWithAck(t, 'typing_start', { conversationId });
    await started;
    const stopped = nextEvent(r, 'user_typing', 4000);
    const at = Date.now();
    t.disconnect();
    expect(await stopped).toEqual({ conversationId, userId: typist, isTyping: false });
    // Well before the 5 s idle stop (at most the 2 s throttle interval of the start).
    expect(Date.now() - at).toBeLessThan(3000);
  });
});

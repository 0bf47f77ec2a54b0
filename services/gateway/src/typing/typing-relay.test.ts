import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ConversationId, UserId } from '@chat/contracts';
import { TypingRelay } from './typing-relay.ts';

const alice = 'alice' as UserId;
const bob = 'bob' as UserId;
const conversation = 'alice_bob' as ConversationId;

describe('TypingRelay', () => {
  let sent: Array<{ to: UserId; isTyping: boolean; at: number }>;
  let relay: TypingRelay;

  beforeEach(() => {
    vi.useFakeTimers();
    sent = [];
    relay = new TypingRelay({ forward: (to, event) => sent.push({ to, isTyping: event.isTyping, at: Date.now() }) });
  });
  afterEach(() => {
    relay.close();
    vi.useRealTimers();
  });

  it('forwards the first start at once and throttles the repeats', () => {
    const t0 = Date.now();
    for (let i = 0; i < 50; i++) {
      relay.start('s1', alice, conversation, bob);
      vi.advanceTimersByTime(40);
    }
    expect(sent).toEqual([{ to: bob, isTyping: true, at: t0 }]);
  });

  it('stops by itself 5 s after the last start', () => {
    const t0 = Date.now();
    relay.start('s1', alice, conversation, bob);
    vi.advanceTimersByTime(3000);
    relay.start('s1', alice, conversation, bob);
    vi.advanceTimersByTime(4999);
    expect(sent.map((e) => e.isTyping)).toEqual([true]);
    vi.advanceTimersByTime(1);
    expect(sent).toEqual([
      { to: bob, isTyping: true, at: t0 },
      { to: bob, isTyping: false, at: t0 + 8000 },
    ]);
  });

  it('sends at most one event per 2 s, and always the last state', () => {
    const t0 = Date.now();
    relay.start('s1', alice, conversation, bob);
    vi.advanceTimersByTime(100);
    relay.stop(alice, conversation);
    relay.start('s1', alice, conversation, bob);
    relay.stop(alice, conversation);
    vi.advanceTimersByTime(10_000);
    expect(sent).toEqual([
      { to: bob, isTyping: true, at: t0 },
      { to: bob, isTyping: false, at: t0 + 2000 },
    ]);
    // Long after, a new start goes at once.
    relay.start('s1', alice, conversation, bob);
    expect(sent).toHaveLength(3);
    // But a start right after a stop waits out the interval of that stop.
    relay.stop(alice, conversation);
    vi.advanceTimersByTime(2000);
    relay.start('s1', alice, conversation, bob);
    expect(sent.map((e) => e.isTyping)).toEqual([true, false, true, false]);
    vi.advanceTimersByTime(1999);
    expect(sent).toHaveLength(4);
    vi.advanceTimersByTime(1);
    expect(sent.map((e) => e.isTyping)).toEqual([true, false, true, false, true]);
  });

  it('drops a start and stop inside one interval after the first event', () => {
    relay.start('s1', alice, conversation, bob);
    relay.stop(alice, conversation);
    vi.advanceTimersByTime(500);
    relay.start('s1', alice, conversation, bob);
    vi.advanceTimersByTime(500);
    relay.stop(alice, conversation);
    vi.advanceTimersByTime(10_000);
    const gaps = sent.slice(1).map((e, i) => e.at - sent[i]!.at);
    expect(sent.map((e) => e.isTyping)).toEqual([true, false]);
    expect(gaps.every((gap) => gap >= 2000)).toBe(true);
  });

  it("stops when the typist's socket goes away, not another one", () => {
    relay.start('s1', alice, conversation, bob);
    vi.advanceTimersByTime(2500);
    relay.socketGone('s2');
    expect(sent.map((e) => e.isTyping)).toEqual([true]);
    relay.socketGone('s1');
    expect(sent.map((e) => e.isTyping)).toEqual([true, false]);
  });

  it('keeps users and conversations apart', () => {
    relay.start('s1', alice, conversation, bob);
    relay.start('s2', bob, conversation, alice);
    relay.start('s1', alice, 'alice_carol' as ConversationId, 'carol' as UserId);
    expect(sent.map((e) => e.to)).toEqual([bob, alice, 'carol']);
  });
});

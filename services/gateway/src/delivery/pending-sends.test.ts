import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Message, UserId } from '@chat/contracts';
import { PendingSends } from './pending-sends.ts';

const message = (senderId: string, clientMessageId: string) => ({ senderId, clientMessageId, _id: 'x' }) as unknown as Message;
const alice = 'alice' as UserId;

afterEach(() => {
  vi.useRealTimers();
});

describe('PendingSends', () => {
  it('answers every waiter of a send with its stored message', async () => {
    const pending = new PendingSends();
    const first = pending.wait(alice, 'm1', 1000);
    const second = pending.wait(alice, 'm1', 1000);
    const other = pending.wait(alice, 'm2', 1000);
    pending.resolve(message('alice', 'm1'));
    await expect(first.promise).resolves.toMatchObject({ clientMessageId: 'm1' });
    await expect(second.promise).resolves.toMatchObject({ clientMessageId: 'm1' });
    expect(pending.size).toBe(1);
    other.cancel();
    expect(pending.size).toBe(0);
  });

  it('does not mix up senders', () => {
    const pending = new PendingSends();
    pending.wait(alice, 'm1', 1000);
    pending.resolve(message('bob', 'm1'));
    expect(pending.size).toBe(1);
  });

  it('rejects with STORE_TIMEOUT and forgets the waiter', async () => {
    vi.useFakeTimers();
    const pending = new PendingSends();
    const waiter = pending.wait(alice, 'm1', 1000);
    const outcome = expect(waiter.promise).rejects.toMatchObject({ code: 'STORE_TIMEOUT' });
    vi.advanceTimersByTime(1000);
    await outcome;
    expect(pending.size).toBe(0);
  });

  it('after the bus was away: answers the sends that are stored, publishes the others again and keeps them waiting', async () => {
    const pending = new PendingSends();
    const republished: string[] = [];
    const stored = pending.wait(alice, 'stored', 1000, async () => void republished.push('stored'));
    const lost = pending.wait(alice, 'lost', 1000, async () => void republished.push('lost'));
    await pending.recheck(async (_, clientMessageId) => (clientMessageId === 'stored' ? message('alice', 'stored') : null));
    await expect(stored.promise).resolves.toMatchObject({ clientMessageId: 'stored' });
    expect(republished).toEqual(['lost']);
    expect(pending.size).toBe(1);
    lost.cancel();
  });
});

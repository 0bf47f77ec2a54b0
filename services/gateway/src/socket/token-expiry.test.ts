import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DueTimes } from './token-expiry.ts';

describe('DueTimes', () => {
  let due: Array<{ item: string; at: number }>;
  let times: DueTimes<string>;

  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000_000_000 });
    due = [];
    times = new DueTimes(
      (item) => due.push({ item, at: Date.now() }),
      (error) => due.push({ item: String(error), at: -1 }),
    );
  });
  afterEach(() => {
    times.close();
    vi.useRealTimers();
  });

  it('calls each item at its whole second, in order, with one timer', () => {
    const t0 = Date.now();
    times.add('c', t0 + 3000);
    times.add('a', t0 + 1000);
    times.add('b', t0 + 2000);
    times.add('a2', t0 + 1000);
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(999);
    expect(due).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(due).toEqual([
      { item: 'a', at: t0 + 1000 },
      { item: 'a2', at: t0 + 1000 },
    ]);
    vi.advanceTimersByTime(2000);
    expect(due.map((d) => [d.item, d.at - t0])).toEqual([
      ['a', 1000],
      ['a2', 1000],
      ['b', 2000],
      ['c', 3000],
    ]);
    expect(vi.getTimerCount()).toBe(0);
    expect(times.size).toBe(0);
  });

  it('is never early: a time within a second is due at the next whole second', () => {
    const t0 = Date.now();
    times.add('x', t0 + 1500);
    vi.advanceTimersByTime(1499);
    expect(due).toEqual([]);
    vi.advanceTimersByTime(501);
    expect(due).toEqual([{ item: 'x', at: t0 + 2000 }]);
  });

  it('a time already past is due at once', () => {
    times.add('late', Date.now() - 5000);
    vi.advanceTimersByTime(0);
    expect(due.map((d) => d.item)).toEqual(['late']);
  });

  it('an item taken off is not called; an earlier one added later re-arms the timer', () => {
    const t0 = Date.now();
    times.add('gone', t0 + 5000);
    times.add('kept', t0 + 5000);
    times.delete('gone', t0 + 5000);
    times.delete('never-added', t0 + 5000);
    times.add('early', t0 + 1000);
    vi.advanceTimersByTime(1000);
    expect(due.map((d) => d.item)).toEqual(['early']);
    vi.advanceTimersByTime(4000);
    expect(due.map((d) => d.item)).toEqual(['early', 'kept']);
  });

  it('moves an item: deleted at its old time, added at the new one', () => {
    const t0 = Date.now();
    times.add('s', t0 + 2000);
    times.delete('s', t0 + 2000);
    times.add('s', t0 + 4000);
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(3000);
    expect(due).toEqual([]);
    vi.advanceTimersByTime(1000);
    expect(due).toEqual([{ item: 's', at: t0 + 4000 }]);
  });

  it('stops its timer once nothing is left, and deletions while running do not disturb the others', () => {
    const t0 = Date.now();
    const chained = new DueTimes<string>(
      (item) => {
        due.push({ item, at: Date.now() });
        chained.delete(item === 'a' ? 'b' : 'a', t0 + 1000);
        if (item === 'a') throw new Error('boom');
      },
      (error) => due.push({ item: (error as Error).message, at: -1 }),
    );
    chained.add('a', t0 + 1000);
    chained.add('b', t0 + 1000);
    chained.add('c', t0 + 9000);
    chained.delete('c', t0 + 9000);
    expect(vi.getTimerCount()).toBe(1);
    chained.add('c', t0 + 9000);
    vi.advanceTimersByTime(1000);
    expect(due.map((d) => d.item)).toEqual(['a', 'boom', 'b']);
    expect(vi.getTimerCount()).toBe(1);
    chained.delete('c', t0 + 9000);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('bounds its heap under churn of the same seconds', () => {
    const t0 = Date.now();
    for (let i = 0; i < 10_000; i++) {
      times.add(`s${i}`, t0 + 60_000 + (i % 7) * 1000);
      times.delete(`s${i}`, t0 + 60_000 + (i % 7) * 1000);
    }
    times.add('last', t0 + 61_000);
    vi.advanceTimersByTime(61_000);
    expect(due.map((d) => d.item)).toEqual(['last']);
    expect(vi.getTimerCount()).toBe(0);
  });
});

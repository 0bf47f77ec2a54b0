import { describe, expect, it } from 'vitest';
import { isRetryable } from './errors.ts';
import { Outbox } from './outbox.ts';
import { MemoryStorage, WebStorage, type WebStorageLike } from './storage.ts';
import type { MessageBody } from './types.ts';

const body = (text: string): MessageBody => ({ messageType: 'text', content: { text } });
const draft = (id: string, conversationId = 'a_b') => ({ clientMessageId: id, conversationId, receiverId: 'b', body: body(id) });
const noJitter = { initialMs: 100, maxMs: 1_000, random: () => 1 };

describe('Outbox', () => {
  it('sends one message per conversation at a time, oldest first', () => {
    const outbox = new Outbox(new MemoryStorage(), 'k');
    outbox.add(draft('1'), 0);
    outbox.add(draft('2'), 0);
    outbox.add(draft('x', 'a_c'), 0);
    expect(outbox.due(0).map((e) => e.clientMessageId)).toEqual(['1', 'x']);
    outbox.started('1');
    expect(outbox.due(0).map((e) => e.clientMessageId)).toEqual(['x']);
    outbox.succeeded('1');
    expect(outbox.due(0).map((e) => e.clientMessageId)).toEqual(['2', 'x']);
  });

  it('backs off after a retryable error, doubling up to the maximum, and keeps the order', () => {
    const outbox = new Outbox(new MemoryStorage(), 'k', noJitter);
    outbox.add(draft('1'), 0);
    outbox.add(draft('2'), 0);
    const delays: number[] = [];
    let now = 0;
    for (let i = 0; i < 6; i += 1) {
      outbox.started('1');
      expect(outbox.failed('1', { code: 'STORE_TIMEOUT', message: '' }, now)).toBe('retry');
      const wake = outbox.nextWake(now)!;
      delays.push(wake - now);
      expect(outbox.due(now)).toEqual([]);
      now = wake;
      expect(outbox.due(now).map((e) => e.clientMessageId)).toEqual(['1']);
    }
    expect(delays).toEqual([100, 200, 400, 800, 1_000, 1_000]);
  });

  it('after RATE_LIMITED, waits at least as long as the refusal says', () => {
    const outbox = new Outbox(new MemoryStorage(), 'k', noJitter);
    outbox.add(draft('1'), 0);
    outbox.started('1');
    outbox.failed('1', { code: 'RATE_LIMITED', message: '', details: { limit: 'send_message', retryAfterMs: 2_500 } }, 0);
    expect(outbox.nextWake(0)).toBe(2_500);
    // Shorter than the backoff, or not given: the backoff.
    outbox.started('1');
    outbox.failed('1', { code: 'RATE_LIMITED', message: '', details: { retryAfterMs: 10 } }, 3_000);
    expect(outbox.nextWake(3_000)).toBe(3_000 + 200);
    outbox.started('1');
    outbox.failed('1', { code: 'RATE_LIMITED', message: '' }, 4_000);
    expect(outbox.nextWake(4_000)).toBe(4_000 + 400);
  });

  it('fails for good on a final error, which no longer holds the next message', () => {
    const outbox = new Outbox(new MemoryStorage(), 'k');
    outbox.add(draft('1'), 0);
    outbox.add(draft('2'), 0);
    outbox.started('1');
    expect(outbox.failed('1', { code: 'MESSAGE_REFUSED', message: '' }, 0)).toBe('final');
    expect(outbox.get('1')).toMatchObject({ state: 'failed', error: { code: 'MESSAGE_REFUSED' } });
    expect(outbox.due(0).map((e) => e.clientMessageId)).toEqual(['2']);
    outbox.reconnected();
    expect(outbox.get('1')?.state).toBe('failed');
    expect(outbox.retry('1')).toBe(true);
    expect(outbox.due(0).map((e) => e.clientMessageId)).toEqual(['1']);
  });

  it('sends everything again at once after a reconnect, backoff or not', () => {
    const outbox = new Outbox(new MemoryStorage(), 'k', noJitter);
    outbox.add(draft('1'), 0);
    outbox.add(draft('y', 'a_c'), 0);
    outbox.started('1');
    outbox.started('y');
    outbox.failed('y', { code: 'RATE_LIMITED', message: '' }, 0);
    outbox.reconnected();
    expect(outbox.due(0).map((e) => e.clientMessageId)).toEqual(['1', 'y']);
  });

  it('survives a reload through its storage, in order, with sends in flight queued again', async () => {
    const storage = new MemoryStorage();
    const first = new Outbox(storage, 'k');
    first.add(draft('1'), 0);
    first.add(draft('2'), 0);
    first.started('1');
    await first.flushed();
    const second = new Outbox(storage, 'k');
    await second.load();
    expect(second.entries.map((e) => [e.clientMessageId, e.state])).toEqual([
      ['1', 'queued'],
      ['2', 'queued'],
    ]);
    second.succeeded('1');
    second.succeeded('2');
    await second.flushed();
    expect(storage.get('k')).toBeUndefined();
  });

  it('keeps its entries in a Web Storage under a prefix', async () => {
    const values = new Map<string, string>();
    const web: WebStorageLike = {
      getItem: (key) => values.get(key) ?? null,
      setItem: (key, value) => void values.set(key, value),
      removeItem: (key) => void values.delete(key),
    };
    const outbox = new Outbox(new WebStorage(web, 'app:'), 'outbox:a');
    outbox.add(draft('1'), 0);
    await outbox.flushed();
    expect(JSON.parse(values.get('app:outbox:a')!)).toMatchObject([{ clientMessageId: '1', state: 'queued' }]);
  });
});

describe('isRetryable', () => {
  it('follows the meaning of each code', () => {
    for (const code of [
      'UNAVAILABLE',
      'STORE_TIMEOUT',
      'SEND_FAILED',
      'RATE_LIMITED',
      'TIMEOUT',
      'DISCONNECTED',
      'UNAUTHENTICATED',
    ] as const) {
      expect(isRetryable({ code, message: '' }), code).toBe(true);
    }
    for (const code of ['MESSAGE_REFUSED', 'VALIDATION_ERROR', 'NOT_PARTICIPANT', 'INVALID_RECEIVER', 'UPLOAD_NOT_FOUND'] as const) {
      expect(isRetryable({ code, message: '' }), code).toBe(false);
    }
    expect(isRetryable({ code: 'SOMETHING_NEW' as never, message: '' })).toBe(false);
  });
});

import { describe, expect, it } from 'vitest';
import type { OutboxEntry } from './outbox.ts';
import { Timeline } from './timeline.ts';
import type { Message } from './types.ts';

const message = (seq: number, overrides: Partial<Message> = {}): Message =>
  ({
    _id: seq.toString(16).padStart(24, '0'),
    conversationId: 'a_b',
    senderId: 'a',
    receiverId: 'b',
    status: 'sent',
    seq,
    clientMessageId: `c${seq}`,
    timestamp: '2026-01-01T00:00:00.000Z',
    createdAt: '2026-01-01T00:00:00.000Z',
    messageType: 'text',
    content: { text: `m${seq}` },
    ...overrides,
  }) as Message;

const pending = (clientMessageId: string, createdAt = '2026-01-01T00:00:00.000Z'): OutboxEntry => ({
  clientMessageId,
  conversationId: 'a_b',
  receiverId: 'b',
  body: { messageType: 'text', content: { text: clientMessageId } },
  createdAt,
  attempts: 0,
  state: 'queued',
  notBefore: 0,
});

const seqs = (timeline: Timeline) => timeline.messages.map((m) => m.seq);

describe('Timeline', () => {
  it('orders by seq whatever the arrival order, and drops repeats by _id', () => {
    const timeline = new Timeline('a_b');
    for (const seq of [3, 1, 2, 2, 3]) timeline.insert(message(seq));
    expect(seqs(timeline)).toEqual([1, 2, 3]);
    expect(timeline.insert(message(1)).added).toBe(false);
    expect(timeline.syncedUpTo).toBe(3);
  });

  it('notices a seq jump, and stops seeing it once the missing messages arrive', () => {
    const timeline = new Timeline('a_b');
    expect(timeline.insert(message(1)).gap).toBe(false);
    expect(timeline.insert(message(4)).gap).toBe(true);
    expect(timeline.syncedUpTo).toBe(1);
    timeline.insert(message(2));
    expect(timeline.insert(message(3)).gap).toBe(false);
    expect(timeline.syncedUpTo).toBe(4);
  });

  it('starts from what the app already holds', () => {
    const timeline = new Timeline('a_b', 10);
    expect(timeline.insert(message(11)).gap).toBe(false);
    expect(timeline.insert(message(13)).gap).toBe(true);
  });

  it('accepts a hole the server does not fill as permanent', () => {
    const timeline = new Timeline('a_b');
    timeline.insert(message(1));
    timeline.insert(message(3));
    expect(timeline.hasGap).toBe(true);
    timeline.synced(3);
    expect(timeline.hasGap).toBe(false);
    expect(timeline.insert(message(4)).gap).toBe(false);
  });

  it('replaces an optimistic item by the stored message with its clientMessageId', () => {
    const timeline = new Timeline('a_b');
    timeline.insert(message(1));
    timeline.addPending(pending('p2', '2026-01-01T00:00:02.000Z'));
    timeline.addPending(pending('p1', '2026-01-01T00:00:01.000Z'));
    expect(timeline.items().map((i) => (i.kind === 'message' ? i.message.seq : i.clientMessageId))).toEqual([1, 'p1', 'p2']);
    expect(timeline.insert(message(2, { clientMessageId: 'p1' })).resolved).toBe('p1');
    expect(timeline.items().map((i) => (i.kind === 'message' ? i.message.seq : i.clientMessageId))).toEqual([1, 2, 'p2']);
    // A pending entry whose message is already held (acked before a reload's restore) is not shown twice.
    timeline.addPending(pending('p1'));
    expect(timeline.pending.map((p) => p.clientMessageId)).toEqual(['p2']);
  });

  it('moves status forward only, for the receiver named', () => {
    const timeline = new Timeline('a_b');
    timeline.insert(message(1));
    timeline.insert(message(2, { senderId: 'b', receiverId: 'a' }));
    timeline.insert(message(3));
    expect(timeline.applyReceipt('read', 'b', 1)).toBe(true);
    expect(timeline.applyReceipt('delivered', 'b', 3)).toBe(true);
    expect(timeline.messages.map((m) => m.status)).toEqual(['read', 'sent', 'delivered']);
    expect(timeline.applyReceipt('delivered', 'b', 1)).toBe(false);
    timeline.insert(message(1, { status: 'sent' }));
    expect(timeline.messages[0]?.status).toBe('read');
  });
});

import { describe, expect, it } from 'vitest';
import { ObjectId } from 'mongodb';
import { conversationIdOf, type UserId } from '@chat/contracts';
import { collectEvents, emitWithAck, nextEvent, waitFor } from '@chat/testing';
import { useSystem } from '../support/system.ts';

const system = useSystem();
const store = () => system.messages!.store;

/**
 * A conversation as the first version stored it: per-message statuses, `publishedAt`, a `lastSeq` handed out
 * ahead of the insert (a crash left seq 4 unused), no read-state watermarks, no revision.
 */
async function seedLegacy(a: UserId, b: UserId) {
  const conversationId = conversationIdOf(a, b);
  const at = new Date('2026-11-01T10:00:00Z');
  const statuses = ['read', 'read', 'delivered', 'sent'] as const;
  const docs = statuses.map((status, i) => ({
    _id: new ObjectId(),
    conversationId,
    senderId: a,
    receiverId: b,
    clientMessageId: `legacy-${i}`,
    messageType: 'text',
    content: { text: `old ${i + 1}` },
    seq: i < 3 ? i + 1 : 5,
    status,
    timestamp: at,
    createdAt: at,
    publishedAt: at,
    ...(status !== 'sent' ? { deliveredAt: at } : {}),
    ...(status === 'read' ? { readAt: at } : {}),
  }));
  await store().messages.insertMany(docs as never);
  await store().conversations.insertOne({
    _id: conversationId,
    participants: [a, b].sort() as [UserId, UserId],
    unreadCount: { [b]: 2 },
    lastSeq: 5,
    appliedSeq: 5,
    lastMessage: { messageId: docs[3]!._id, text: 'old 4', senderId: a, timestamp: at, seq: 5 },
    createdAt: at,
    updatedAt: at,
  } as never);
  return { conversationId, ids: docs.map((d) => d._id.toHexString()) };
}

describe('documents written by the first version', () => {
  it('read as they were, catch up only what was undelivered, and go on from there', async () => {
    const a = 'legacy-a' as UserId;
    const b = 'legacy-b' as UserId;
    const { conversationId, ids } = await seedLegacy(a, b);

    const sa = await system.connectAs(a);
    const history = await emitWithAck(sa, 'sync_messages', { conversationId, afterSeq: 0 } as never);
    if (!history.ok) throw new Error(history.error.message);
    expect((history.data as { messages: Array<{ status: string; seq: number }> }).messages.map((m) => [m.seq, m.status])).toEqual([
      [1, 'read'],
      [2, 'read'],
      [3, 'delivered'],
      [5, 'sent'],
    ]);

    // The receiver comes online: only the message no device of theirs received is replayed.
    const delivered = collectEvents(sa, 'message_delivered');
    const sb = await system.connectAs(b);
    const replayed = collectEvents(sb, 'new_message');
    await waitFor(() => delivered.some((d) => d.messageId === ids[3]));
    expect(replayed.map((m) => m.content.text)).toEqual(['old 4']);

    // New messages continue the sequence; the unread count goes on from the stored one.
    const next = await emitWithAck(sa, 'send_message', { conversationId, receiverId: b, messageType: 'text', content: { text: 'new' } });
    expect(next.ok && next.data.seq).toBe(6);
    await waitFor(() => replayed.some((m) => m.content.text === 'new'));
    await waitFor(() => delivered.some((d) => next.ok && d.messageId === next.data._id));
    expect((await store().conversations.findOne({ _id: conversationId }))?.unreadCount?.[b]).toBe(3);

    // Reading everything: every status, old and new, is read and the count is 0.
    const read = nextEvent(sa, 'message_read');
    expect((await emitWithAck(sb, 'mark_as_read', { conversationId, upToSeq: 6 })).ok).toBe(true);
    expect((await read).messageIds).toContain(ids[3]);
    const after = await emitWithAck(sb, 'sync_messages', { conversationId, afterSeq: 0 } as never);
    if (!after.ok) throw new Error(after.error.message);
    expect((after.data as { messages: Array<{ status: string }> }).messages.map((m) => m.status)).toEqual([
      'read',
      'read',
      'read',
      'read',
      'read',
    ]);
    expect((await store().conversations.findOne({ _id: conversationId }))?.unreadCount?.[b]).toBe(0);
  });
});

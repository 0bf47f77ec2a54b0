import { ObjectId } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { ChatError, conversationIdOf, type ConversationId, type UserId } from '@chat/contracts';
import type { ConversationDoc, MemberReadState, MessageDoc } from '../store/documents.ts';
import type { HistoryPage, MessageStore } from '../store/message-store.ts';
import { findByClientMessageIdHandler } from './find-by-client-message-id.ts';
import { historyHandler, undeliveredHandler } from './history.ts';

/** Unit tests of the request handlers against a typed fake of the store (the real one: tests/e2e). */
const ann = 'ann' as UserId;
const bob = 'bob' as UserId;
const conversationId = conversationIdOf(ann, bob);
const at = new Date('2026-12-01T10:00:00Z');

function message(seq: number, overrides: Partial<MessageDoc> = {}): MessageDoc {
  return {
    _id: new ObjectId(),
    conversationId,
    senderId: ann,
    receiverId: bob,
    messageType: 'text',
    content: { text: `m${seq}` },
    status: 'sent',
    seq,
    clientMessageId: `c${seq}`,
    timestamp: at,
    createdAt: at,
    ...overrides,
  } as MessageDoc;
}

function member(
  deliveredSeq: number,
  readSeq: number,
  ids: Partial<Pick<MemberReadState, 'deliveredId' | 'readId'>> = {},
): MemberReadState {
  return {
    deliveredSeq,
    readSeq,
    delivered: deliveredSeq ? [{ seq: deliveredSeq, at }] : [],
    read: readSeq ? [{ seq: readSeq, at }] : [],
    ...ids,
  };
}

function conversation(id: ConversationId, members: NonNullable<ConversationDoc['members']>, updatedAt = at): ConversationDoc {
  const [a, b] = id.split('_') as [UserId, UserId];
  return { _id: id, participants: [a, b], unreadCount: {}, lastSeq: 3, appliedSeq: 3, members, createdAt: at, updatedAt };
}

describe('find by clientMessageId', () => {
  it('answers the stored message with the status its receiver has reached, or null', async () => {
    const stored = message(2);
    const store: Pick<MessageStore, 'findByClientMessageId' | 'findConversation'> = {
      findByClientMessageId: async (senderId, clientMessageId) => (senderId === ann && clientMessageId === 'c2' ? stored : null),
      findConversation: async () => conversation(conversationId, { [bob]: member(2, 1) }),
    };
    const find = findByClientMessageIdHandler({ store });
    expect(await find({ senderId: ann, clientMessageId: 'c2' })).toMatchObject({
      message: { _id: stored._id.toHexString(), seq: 2, status: 'delivered' },
    });
    expect(await find({ senderId: ann, clientMessageId: 'nope' })).toEqual({ message: null });
  });
});

describe('history', () => {
  it('derives each message status from the receiver’s watermarks, and refuses a non-participant', async () => {
    const store: Pick<MessageStore, 'conversationFor' | 'history'> = {
      conversationFor: async (userId, id) => {
        if (userId !== ann && userId !== bob) throw new ChatError('NOT_PARTICIPANT');
        return conversation(id, { [bob]: member(2, 1) });
      },
      history: async (): Promise<HistoryPage> => ({ messages: [message(1), message(2), message(3)], hasMore: false, totalPages: 1 }),
    };
    const history = historyHandler({ store });
    const page = await history({ userId: bob, conversationId, limit: 50 });
    expect(page.messages.map((m) => m.status)).toEqual(['read', 'delivered', 'sent']);
    await expect(history({ userId: 'eve' as UserId, conversationId, limit: 50 })).rejects.toMatchObject({ code: 'NOT_PARTICIPANT' });
  });
});

describe('undelivered', () => {
  it('tells a sender’s device how far the other participant received and read, newest conversations first', async () => {
    const withCarol = conversationIdOf(ann, 'carol' as UserId);
    const older = conversation(
      conversationId,
      { [bob]: member(3, 2, { deliveredId: 'd'.repeat(24), readId: 'r'.repeat(24) }) },
      new Date('2026-12-01T09:00:00Z'),
    );
    const newer = conversation(withCarol, { ['carol' as UserId]: member(1, 0, { deliveredId: 'e'.repeat(24) }) });
    const store: Pick<MessageStore, 'undelivered'> = {
      undelivered: async () => ({
        messages: [],
        conversations: new Map([
          [conversationId, older],
          [withCarol, newer],
        ]),
        hasMore: false,
      }),
    };
    const first = await undeliveredHandler({ store })({ userId: ann, limit: 100 });
    expect(first.receipts).toEqual([
      { conversationId: withCarol, receiverId: 'carol', delivered: { seq: 1, messageId: 'e'.repeat(24) } },
      { conversationId, receiverId: bob, delivered: { seq: 3, messageId: 'd'.repeat(24) }, read: { seq: 2, messageId: 'r'.repeat(24) } },
    ]);
    // Later pages carry messages only.
    const next = await undeliveredHandler({ store })({ userId: ann, limit: 100, after: { conversationId, seq: 1 } });
    expect(next.receipts).toBeUndefined();
  });
});

import { MongoServerError, ObjectId, type Collection, type Db } from 'mongodb';
import { ChatError, participantsOf, previewText, type ConversationId, type MessageBody, type UserId } from '@chat/contracts';
import type { ConversationDoc, MessageDoc } from './documents.ts';

const DUPLICATE_KEY = 11000;

export type NewMessage = MessageBody & Pick<MessageDoc, 'conversationId' | 'senderId' | 'receiverId' | 'clientMessageId' | 'timestamp'>;

/** Which of a receiver's messages a read covers. */
export type ReadScope = { messageIds: ObjectId[] } | { upToSeq: number };

/** A page of history: always oldest first. */
export interface HistoryPage {
  messages: MessageDoc[];
  hasMore: boolean;
  totalPages: number;
}

/**
 * Conversations and messages in MongoDB, written so that every step can be repeated after a crash without
 * storing or counting anything twice, with single-document atomic updates only (no transactions).
 */
export class MessageStore {
  readonly messages: Collection<MessageDoc>;
  readonly conversations: Collection<ConversationDoc>;

  constructor(db: Db) {
    this.messages = db.collection<MessageDoc>('messages');
    this.conversations = db.collection<ConversationDoc>('conversations');
  }

  async ensureIndexes(): Promise<void> {
    await this.messages.createIndex({ senderId: 1, clientMessageId: 1 }, { unique: true, name: 'sender_client_id' });
    await this.messages.createIndex({ conversationId: 1, seq: 1 }, { unique: true, name: 'conversation_seq' });
    await this.messages.createIndex({ receiverId: 1, status: 1, conversationId: 1, seq: 1 }, { name: 'receiver_status' });
    await this.messages.createIndex({ conversationId: 1, receiverId: 1, status: 1 }, { name: 'conversation_unread' });
    await this.conversations.createIndex({ participants: 1, updatedAt: -1 }, { name: 'participant_activity' });
  }

  findByClientMessageId(senderId: UserId, clientMessageId: string): Promise<MessageDoc | null> {
    return this.messages.findOne({ senderId, clientMessageId });
  }

  /** Hands out the conversation's next sequence number, creating the conversation on its first message. */
  async nextSeq(conversationId: ConversationId, now: Date): Promise<number> {
    const conversation = await this.conversations.findOneAndUpdate(
      { _id: conversationId },
      {
        $inc: { lastSeq: 1 },
        $set: { updatedAt: now },
        $setOnInsert: {
          participants: [...participantsOf(conversationId)],
          unreadCount: {},
          appliedSeq: 0,
          createdAt: now,
        },
      },
      { upsert: true, returnDocument: 'after' },
    );
    if (!conversation) throw new Error(`conversation ${conversationId} was not upserted`);
    return conversation.lastSeq;
  }

  /** Inserts the message, or returns the one already stored for the same sender and clientMessageId. */
  async insert(message: NewMessage, seq: number, now: Date): Promise<MessageDoc> {
    const doc = { ...message, _id: new ObjectId(), seq, status: 'sent', createdAt: now } as MessageDoc;
    try {
      await this.messages.insertOne(doc);
      return doc;
    } catch (error) {
      if (!(error instanceof MongoServerError && error.code === DUPLICATE_KEY)) throw error;
      const existing = await this.findByClientMessageId(message.senderId, message.clientMessageId);
      if (!existing) throw error;
      return existing;
    }
  }

  /**
   * Counts the message in its conversation (last message, receiver's unread count) exactly once: the
   * update only matches while the conversation's watermark is below the message's seq. Commands of one
   * conversation are applied one at a time in seq order, so the watermark never skips one.
   */
  async applyToConversation(message: MessageDoc): Promise<boolean> {
    const result = await this.conversations.updateOne(
      { _id: message.conversationId, appliedSeq: { $lt: message.seq } },
      {
        $set: {
          appliedSeq: message.seq,
          updatedAt: message.timestamp,
          lastMessage: {
            messageId: message._id,
            text: previewText(message),
            senderId: message.senderId,
            timestamp: message.timestamp,
            seq: message.seq,
          },
        },
        $inc: { [`unreadCount.${message.receiverId}`]: 1 },
      },
    );
    return result.modifiedCount === 1;
  }

  async markPublished(id: ObjectId, now: Date): Promise<void> {
    await this.messages.updateOne({ _id: id, publishedAt: { $exists: false } }, { $set: { publishedAt: now } });
  }

  /**
   * Marks the receiver's messages delivered (never moving a status backwards) and returns every one of them
   * that is now delivered or read, so a repeated receipt repeats the same answer.
   */
  async markDelivered(conversationId: ConversationId, receiverId: UserId, ids: ObjectId[], at: Date): Promise<MessageDoc[]> {
    const scope = { conversationId, receiverId, _id: { $in: ids } };
    await this.messages.updateMany({ ...scope, status: 'sent' }, { $set: { status: 'delivered', deliveredAt: at } });
    return this.messages.find({ ...scope, status: { $ne: 'sent' } }).sort({ seq: 1 }).toArray();
  }

  /**
   * Marks what the reader received as read and recounts their unread messages from the messages themselves:
   * exact, and the same after any repetition. Returns the ids that became read now.
   */
  async markRead(
    conversationId: ConversationId,
    readerId: UserId,
    scope: ReadScope,
    at: Date,
  ): Promise<{ newlyRead: ObjectId[]; read: ObjectId[]; unread: number }> {
    const filter = {
      conversationId,
      receiverId: readerId,
      ...('messageIds' in scope ? { _id: { $in: scope.messageIds } } : { seq: { $lte: scope.upToSeq } }),
    };
    const unreadBefore = await this.messages
      .find({ ...filter, status: { $ne: 'read' } }, { projection: { _id: 1 } })
      .toArray();
    if (unreadBefore.length > 0) {
      const ids = unreadBefore.map((doc) => doc._id);
      // Read implies delivered: keep deliveredAt for messages that skip `delivered`.
      await this.messages.updateMany({ _id: { $in: ids }, deliveredAt: { $exists: false } }, { $set: { deliveredAt: at } });
      await this.messages.updateMany({ _id: { $in: ids }, status: { $ne: 'read' } }, { $set: { status: 'read', readAt: at } });
    }
    const unread = await this.messages.countDocuments({ conversationId, receiverId: readerId, status: { $ne: 'read' } });
    await this.conversations.updateOne({ _id: conversationId }, { $set: { [`unreadCount.${readerId}`]: unread } });
    // For ids: every one of them the reader has read, so that a repeated receipt repeats the same answer.
    const read =
      'messageIds' in scope
        ? (await this.messages.find({ ...filter, status: 'read' }, { projection: { _id: 1 } }).sort({ seq: 1 }).toArray()).map((doc) => doc._id)
        : unreadBefore.map((doc) => doc._id);
    return { newlyRead: unreadBefore.map((doc) => doc._id), read, unread };
  }

  /** Creates the conversation if it does not exist; true when this call created it. */
  async createConversation(conversationId: ConversationId, jobId: string | undefined, now: Date): Promise<boolean> {
    const result = await this.conversations.updateOne(
      { _id: conversationId },
      {
        $setOnInsert: {
          participants: [...participantsOf(conversationId)],
          unreadCount: {},
          lastSeq: 0,
          appliedSeq: 0,
          createdAt: now,
          updatedAt: now,
          ...(jobId === undefined ? {} : { jobId }),
        },
      },
      { upsert: true },
    );
    return result.upsertedCount === 1;
  }

  findConversation(conversationId: ConversationId): Promise<ConversationDoc | null> {
    return this.conversations.findOne({ _id: conversationId });
  }

  /** A user's conversations, most recently active first. */
  listConversations(userId: UserId, limit: number, before?: Date): Promise<ConversationDoc[]> {
    return this.conversations
      .find({ participants: userId, ...(before ? { updatedAt: { $lt: before } } : {}) })
      .sort({ updatedAt: -1, _id: 1 })
      .limit(limit)
      .toArray();
  }

  /** A page of history, by page number (page 1 is the newest) or by a sequence cursor. */
  async history(
    conversationId: ConversationId,
    { limit, page, beforeSeq, afterSeq }: { limit: number; page?: number; beforeSeq?: number; afterSeq?: number },
  ): Promise<HistoryPage> {
    const all = { conversationId };
    const total = await this.messages.countDocuments(all);
    const totalPages = Math.ceil(total / limit);
    if (afterSeq !== undefined) {
      const docs = await this.messages.find({ ...all, seq: { $gt: afterSeq } }).sort({ seq: 1 }).limit(limit + 1).toArray();
      return { messages: docs.slice(0, limit), hasMore: docs.length > limit, totalPages };
    }
    const filter = beforeSeq === undefined ? all : { ...all, seq: { $lt: beforeSeq } };
    const skip = beforeSeq === undefined ? ((page ?? 1) - 1) * limit : 0;
    const newestFirst = await this.messages.find(filter).sort({ seq: -1 }).skip(skip).limit(limit + 1).toArray();
    const hasMore = newestFirst.length > limit;
    return { messages: newestFirst.slice(0, limit).reverse(), hasMore, totalPages };
  }

  /** Messages to the user that no device of theirs received yet, by conversation in sequence order. */
  async undelivered(
    receiverId: UserId,
    limit: number,
    after?: { conversationId: ConversationId; seq: number },
  ): Promise<{ messages: MessageDoc[]; hasMore: boolean }> {
    const cursor = after
      ? { $or: [{ conversationId: { $gt: after.conversationId } }, { conversationId: after.conversationId, seq: { $gt: after.seq } }] }
      : {};
    const docs = await this.messages
      .find({ receiverId, status: 'sent', publishedAt: { $exists: true }, ...cursor })
      .sort({ conversationId: 1, seq: 1 })
      .limit(limit + 1)
      .toArray();
    return { messages: docs.slice(0, limit), hasMore: docs.length > limit };
  }

  /** The conversation, or NOT_FOUND / NOT_PARTICIPANT for this user. */
  async conversationFor(userId: UserId, conversationId: ConversationId): Promise<ConversationDoc> {
    const conversation = await this.findConversation(conversationId);
    if (!conversation) throw new ChatError('NOT_FOUND', 'No such conversation');
    if (!conversation.participants.includes(userId)) throw new ChatError('NOT_PARTICIPANT');
    return conversation;
  }
}

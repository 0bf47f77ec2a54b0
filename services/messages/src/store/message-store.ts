import { MongoServerError, ObjectId, type Collection, type Db } from 'mongodb';
import { participantsOf, type ConversationId, type UserId } from '@chat/contracts';
import type { ConversationDoc, MessageDoc } from './documents.ts';

const DUPLICATE_KEY = 11000;

export type NewMessage = Omit<MessageDoc, '_id' | 'seq' | 'status' | 'createdAt' | 'publishedAt'>;

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
    const doc: MessageDoc = { ...message, _id: new ObjectId(), seq, status: 'sent', createdAt: now };
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
            text: message.content.text,
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
}

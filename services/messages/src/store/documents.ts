import type { ObjectId } from 'mongodb';
import type { ConversationId, Message, MessageBody, MessageStatus, UserId } from '@chat/contracts';

/** A message as stored: the spec's Message model plus the fields that make writes idempotent. */
export type MessageDoc = MessageBody & {
  _id: ObjectId;
  conversationId: ConversationId;
  senderId: UserId;
  receiverId: UserId;
  status: MessageStatus;
  seq: number;
  clientMessageId: string;
  timestamp: Date;
  createdAt: Date;
  deliveredAt?: Date;
  readAt?: Date;
  /** Set once the created event and deliveries went out: a redelivered command then only answers the sender. */
  publishedAt?: Date;
};

/** A conversation as stored: `_id` is the deterministic room id. */
export interface ConversationDoc {
  _id: ConversationId;
  participants: [UserId, UserId];
  lastMessage?: { messageId: ObjectId; text: string; senderId: UserId; timestamp: Date; seq: number };
  unreadCount: Partial<Record<UserId, number>>;
  /** The last sequence number handed out. */
  lastSeq: number;
  /** The highest sequence number already counted in lastMessage/unreadCount: makes applying idempotent. */
  appliedSeq: number;
  jobId?: string;
  createdAt: Date;
  updatedAt: Date;
}

/** What the chat knows of a user, for `otherUser` in conversation lists. */
export interface ProfileDoc {
  _id: UserId;
  name: string | null;
  avatar: string | null;
  updatedAt: Date;
}

/** The stored message as clients see it. */
export function toMessage(doc: MessageDoc): Message {
  return {
    _id: doc._id.toHexString(),
    conversationId: doc.conversationId,
    senderId: doc.senderId,
    receiverId: doc.receiverId,
    messageType: doc.messageType,
    content: doc.content,
    status: doc.status,
    seq: doc.seq,
    clientMessageId: doc.clientMessageId,
    timestamp: doc.timestamp.toISOString(),
    createdAt: doc.createdAt.toISOString(),
    ...(doc.deliveredAt ? { deliveredAt: doc.deliveredAt.toISOString() } : {}),
    ...(doc.readAt ? { readAt: doc.readAt.toISOString() } : {}),
  } as Message;
}

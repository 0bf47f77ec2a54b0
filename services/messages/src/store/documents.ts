import type { ObjectId } from 'mongodb';
import type { ConversationId, Message, MessageBody, MessageStatus, UserId } from '@chat/contracts';
import { deriveStatus } from './read-state.ts';

/**
 * A message as stored: the spec's Message model plus the fields that make writes idempotent. It is written
 * once: `status` stays `sent`, and what clients see is derived from the conversation's watermarks
 * (`read-state.ts`). `deliveredAt`, `readAt` and `publishedAt` are set only on messages of earlier versions.
 */
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
  /** Earlier versions only: set once the created event and deliveries went out. */
  publishedAt?: Date;
};

/** One move of a watermark: from then on, every message up to `seq` was delivered (or read). */
export interface WatermarkStep {
  seq: number;
  at: Date;
}

/** What one participant has received and read of a conversation, as watermarks (Stream Chat's "read state"). */
export interface MemberReadState {
  /** Every message to this user up to here reached a device of theirs. */
  deliveredSeq: number;
  /** Every message to this user up to here was read (and so delivered). */
  readSeq: number;
  /** The latest moves of each watermark, oldest first, so recent messages know their own times. */
  delivered: WatermarkStep[];
  read: WatermarkStep[];
  /** The message at each watermark (when known), to tell its sender's devices that connect later. */
  deliveredId?: string;
  readId?: string;
}

/** A conversation as stored: `_id` is the deterministic room id. */
export interface ConversationDoc {
  _id: ConversationId;
  participants: [UserId, UserId];
  lastMessage?: { messageId: ObjectId; text: string; senderId: UserId; timestamp: Date; seq: number };
  unreadCount: Partial<Record<UserId, number>>;
  /** The highest sequence number stored (handed out, in earlier versions). */
  lastSeq: number;
  /**
   * The highest sequence number already counted in lastMessage/unreadCount: makes applying idempotent. A
   * message above it is stored but its deliveries may not have gone out: its partition's owner finishes it.
   */
  appliedSeq: number;
  /** Read state per participant; absent on documents of earlier versions (derived from the messages then). */
  members?: Partial<Record<UserId, MemberReadState>>;
  /** Bumped by every write of the partition owner: a write that expects another revision lost a race. */
  rev?: number;
  /** Who wrote that revision (an owner instance and batch), so a writer can tell its own write from a rival's. */
  revBy?: string;
  jobId?: string;
  /**
   * Who opened it over REST. Until a message is stored in it, it is listed only to them (see
   * conversation-visibility.ts); absent on conversations opened by a first message, and before this existed.
   */
  openedBy?: UserId[];
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

/** The stored message as clients see it, its status derived from its receiver's read state. */
export function toMessage(doc: MessageDoc, member?: MemberReadState): Message {
  const { status, deliveredAt, readAt } = deriveStatus(doc, member);
  return {
    _id: doc._id.toHexString(),
    conversationId: doc.conversationId,
    senderId: doc.senderId,
    receiverId: doc.receiverId,
    messageType: doc.messageType,
    content: doc.content,
    status,
    seq: doc.seq,
    clientMessageId: doc.clientMessageId,
    timestamp: doc.timestamp.toISOString(),
    createdAt: doc.createdAt.toISOString(),
    ...(deliveredAt ? { deliveredAt: deliveredAt.toISOString() } : {}),
    ...(readAt ? { readAt: readAt.toISOString() } : {}),
  } as Message;
}

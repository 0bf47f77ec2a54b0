import {
  otherParticipant,
  type HistoryRequest,
  type HistoryResponse,
  type ReceiptState,
  type UndeliveredRequest,
  type UndeliveredResponse,
  type UserId,
} from '@chat/contracts';
import type { ConversationDoc } from '../store/documents.ts';
import { toMessage } from '../store/documents.ts';
import type { MessageStore } from '../store/message-store.ts';
import { memberOf } from '../store/read-state.ts';

/** A page of a conversation's history, for one of its participants; statuses from the read state. */
export function historyHandler({ store }: { store: Pick<MessageStore, 'conversationFor' | 'history'> }) {
  return async ({ userId, conversationId, ...query }: HistoryRequest): Promise<HistoryResponse> => {
    const conversation = await store.conversationFor(userId, conversationId);
    const page = await store.history(conversationId, query);
    return {
      messages: page.messages.map((doc) => toMessage(doc, memberOf(conversation, doc.receiverId))),
      hasMore: page.hasMore,
      totalPages: page.totalPages,
    };
  };
}

/** Receipts told to a device that connects: its most recently active conversations. */
const RECEIPTS_ON_CONNECT = 100;

/**
 * What no device of the user has received yet, for the gateway to replay when the user comes back; on the first
 * page also how far the other participants have received and read (what a sender's device missed while away).
 */
export function undeliveredHandler({ store }: { store: Pick<MessageStore, 'undelivered'> }) {
  return async ({ userId, limit, after }: UndeliveredRequest): Promise<UndeliveredResponse> => {
    const page = await store.undelivered(userId, limit, after);
    return {
      messages: page.messages.map((doc) => toMessage(doc, memberOf(page.conversations.get(doc.conversationId), doc.receiverId))),
      hasMore: page.hasMore,
      ...(after ? {} : { receipts: receiptsFor(userId, [...page.conversations.values()]) }),
    };
  };
}

function receiptsFor(userId: UserId, conversations: ConversationDoc[]): ReceiptState[] {
  const receipts: ReceiptState[] = [];
  for (const doc of [...conversations].sort((a, b) => b.updatedAt.getTime() - a.updatedAt.getTime()).slice(0, RECEIPTS_ON_CONNECT)) {
    const receiverId = otherParticipant(doc._id, userId);
    const member = receiverId ? doc.members?.[receiverId] : undefined;
    if (!receiverId || !member) continue;
    const delivered =
      member.deliveredId && member.deliveredSeq > 0 ? { seq: member.deliveredSeq, messageId: member.deliveredId } : undefined;
    const read = member.readId && member.readSeq > 0 ? { seq: member.readSeq, messageId: member.readId } : undefined;
    if (delivered || read)
      receipts.push({ conversationId: doc._id, receiverId, ...(delivered ? { delivered } : {}), ...(read ? { read } : {}) });
  }
  return receipts;
}

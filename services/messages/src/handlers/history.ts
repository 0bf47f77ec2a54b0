import type { HistoryRequest, HistoryResponse, UndeliveredRequest, UndeliveredResponse } from '@chat/contracts';
import { toMessage } from '../store/documents.ts';
import type { MessageStore } from '../store/message-store.ts';
import { memberOf } from '../store/read-state.ts';

/** A page of a conversation's history, for one of its participants; statuses from the read state. */
export function historyHandler({ store }: { store: MessageStore }) {
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

/** What no device of the user has received yet, for the gateway to replay when the user comes back. */
export function undeliveredHandler({ store }: { store: MessageStore }) {
  return async ({ userId, limit, after }: UndeliveredRequest): Promise<UndeliveredResponse> => {
    const page = await store.undelivered(userId, limit, after);
    return {
      messages: page.messages.map((doc) => toMessage(doc, memberOf(page.conversations.get(doc.conversationId), doc.receiverId))),
      hasMore: page.hasMore,
    };
  };
}

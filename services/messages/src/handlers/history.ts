import type { HistoryRequest, HistoryResponse, UndeliveredRequest, UndeliveredResponse } from '@chat/contracts';
import { toMessage } from '../store/documents.ts';
import type { MessageStore } from '../store/message-store.ts';

/** A page of a conversation's history, for one of its participants. */
export function historyHandler({ store }: { store: MessageStore }) {
  return async ({ userId, conversationId, ...query }: HistoryRequest): Promise<HistoryResponse> => {
    await store.conversationFor(userId, conversationId);
    const page = await store.history(conversationId, query);
    return { messages: page.messages.map(toMessage), hasMore: page.hasMore, totalPages: page.totalPages };
  };
}

/** What no device of the user has received yet, for the gateway to replay when the user comes back. */
export function undeliveredHandler({ store }: { store: MessageStore }) {
  return async ({ userId, limit, after }: UndeliveredRequest): Promise<UndeliveredResponse> => {
    const page = await store.undelivered(userId, limit, after);
    return { messages: page.messages.map(toMessage), hasMore: page.hasMore };
  };
}

import type { ConversationExistsRequest, ConversationExistsResponse } from '@chat/contracts';
import type { MessageStore } from '../store/message-store.ts';

/**
 * Whether a conversation is stored: the gateway's test of "shares a conversation" before it tells a user
 * another one's online status (a conversation id alone can be made up by anyone).
 */
export function conversationExistsHandler({ store }: { store: MessageStore }) {
  return async ({ conversationId }: ConversationExistsRequest): Promise<ConversationExistsResponse> => ({
    exists: (await store.findConversation(conversationId)) !== null,
  });
}

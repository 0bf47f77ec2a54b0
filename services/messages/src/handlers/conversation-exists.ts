import type { ConversationExistsRequest, ConversationExistsResponse } from '@chat/contracts';
import type { MessageStore } from '../store/message-store.ts';
import { hasMessages } from '../store/conversation-visibility.ts';

/**
 * Whether a conversation is stored, and whether a message is stored in it: the gateway's test of "partners"
 * before it tells a user another one's online status (a conversation id alone can be made up by anyone, and a
 * conversation anyone can open over REST; see conversation-visibility.ts).
 */
export function conversationExistsHandler({ store }: { store: MessageStore }) {
  return async ({ conversationId }: ConversationExistsRequest): Promise<ConversationExistsResponse> => {
    const exists = (await store.findConversation(conversationId)) !== null;
    return { exists, hasMessages: exists && (await hasMessages(store, conversationId)) };
  };
}

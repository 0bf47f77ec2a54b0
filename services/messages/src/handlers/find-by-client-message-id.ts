import type { FindByClientMessageIdRequest, FindByClientMessageIdResponse } from '@chat/contracts';
import { toMessage } from '../store/documents.ts';
import type { MessageStore } from '../store/message-store.ts';
import { memberOf } from '../store/read-state.ts';

/** The stored message of a send, if it was stored; a gateway asks when JetStream said "duplicate". */
export function findByClientMessageIdHandler({ store }: { store: Pick<MessageStore, 'findByClientMessageId' | 'findConversation'> }) {
  return async ({ senderId, clientMessageId }: FindByClientMessageIdRequest): Promise<FindByClientMessageIdResponse> => {
    const doc = await store.findByClientMessageId(senderId, clientMessageId);
    if (!doc) return { message: null };
    // Stored is what an ack promises; whether its deliveries already went out does not matter to the sender.
    return { message: toMessage(doc, memberOf(await store.findConversation(doc.conversationId), doc.receiverId)) };
  };
}

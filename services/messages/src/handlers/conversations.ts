import {
  ChatError,
  conversationIdOf,
  type CreateConversationRequest,
  type CreateConversationResponse,
  type ListConversationsRequest,
  type ListConversationsResponse,
} from '@chat/contracts';
import type { MessageStore } from '../store/message-store.ts';
import type { ProfileStore } from '../store/profile-store.ts';

/** The caller's conversations, most recently active first, with their unread count and the other user. */
export function listConversationsHandler({ store, profiles }: { store: MessageStore; profiles: ProfileStore }) {
  return async ({ userId, limit, before }: ListConversationsRequest): Promise<ListConversationsResponse> => {
    const docs = await store.listConversations(userId, limit, before ? new Date(before) : undefined);
    const others = docs.map((doc) => (doc.participants[0] === userId ? doc.participants[1] : doc.participants[0]));
    const profileOf = await profiles.findMany([...new Set(others)]);
    return {
      conversations: docs.map((doc, i) => ({
        _id: doc._id,
        participants: [...doc.participants],
        lastMessage: doc.lastMessage
          ? {
              messageId: doc.lastMessage.messageId.toHexString(),
              text: doc.lastMessage.text,
              senderId: doc.lastMessage.senderId,
              timestamp: doc.lastMessage.timestamp.toISOString(),
              seq: doc.lastMessage.seq,
            }
          : null,
        unreadCount: doc.unreadCount[userId] ?? 0,
        lastSeq: doc.appliedSeq,
        otherUser: profileOf.get(others[i]!)!,
        jobId: doc.jobId ?? null,
        createdAt: doc.createdAt.toISOString(),
        updatedAt: doc.updatedAt.toISOString(),
      })),
    };
  };
}

/** Opens (or finds) the conversation with another user: idempotent, never with oneself. */
export function createConversationHandler({ store }: { store: MessageStore }) {
  return async ({ userId, participantId, jobId }: CreateConversationRequest): Promise<CreateConversationResponse> => {
    if (participantId === userId) throw new ChatError('VALIDATION_ERROR', 'A conversation needs another participant');
    const conversationId = conversationIdOf(userId, participantId);
    const created = await store.createConversation(conversationId, jobId, new Date());
    return { conversationId, created };
  };
}

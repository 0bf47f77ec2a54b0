import type { ConversationId, UserId } from '@chat/contracts';

/** Socket.IO rooms on one gateway: every socket of a user, and the sockets that joined a conversation. */
export const userRoom = (userId: UserId): string => `user:${userId}`;
export const conversationRoom = (conversationId: ConversationId): string => `conversation:${conversationId}`;

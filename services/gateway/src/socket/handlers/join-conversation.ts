import { ChatError, otherParticipant } from '@chat/contracts';
import { conversationRoom } from '../../rooms.ts';
import type { EventHandler } from '../register-handler.ts';

/** Joins the conversation's room; only its two participants may (the id itself names them). */
export const joinConversation: EventHandler<'join_conversation'> = async ({ socket, user }, { conversationId, userId }) => {
  if (userId !== undefined && userId !== user.userId) {
    throw new ChatError('FORBIDDEN', 'userId must be the authenticated user');
  }
  if (!otherParticipant(conversationId, user.userId)) throw new ChatError('NOT_PARTICIPANT');
  await socket.join(conversationRoom(conversationId));
  return { conversationId };
};

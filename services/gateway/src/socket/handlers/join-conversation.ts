import { ChatError } from '@chat/contracts';
import type { GatewayPresence } from '../../presence/gateway-presence.ts';
import { conversationRoom } from '../../rooms.ts';
import type { EventHandler } from '../event-wrapper.ts';

/**
 * Joins the conversation's room (its participants only: the wrapper checked), then the socket watches the other
 * participant's status (when the two are partners) and is told the current one: best effort, beside the ack.
 */
export function joinConversationHandler({ presence }: { presence: GatewayPresence }): EventHandler<'join_conversation'> {
  return async ({ socket, user, other }, { conversationId, userId }) => {
    if (userId !== undefined && userId !== user.userId) {
      throw new ChatError('FORBIDDEN', 'userId must be the authenticated user');
    }
    await socket.join(conversationRoom(conversationId));
    presence.watchPartner(socket, user.userId, other);
    return { conversationId };
  };
}

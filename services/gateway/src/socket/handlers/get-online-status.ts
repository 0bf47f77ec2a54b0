import type { GatewayPresence } from '../../presence/gateway-presence.ts';
import type { EventHandler } from '../event-wrapper.ts';

/**
 * `get_online_status`: about oneself or a user one shares a conversation with (FORBIDDEN otherwise). Answers
 * `user_online_status` (and the ack), and from then on pushes that user's changes to this socket.
 */
export function getOnlineStatusHandler({ presence }: { presence: GatewayPresence }): EventHandler<'get_online_status'> {
  return async ({ socket, user }, { userId }) => {
    await presence.assertMayKnow(socket, user.userId, userId);
    const { isOnline, lastSeen } = await presence.tellStatus(socket, userId);
    return { userId, isOnline, lastSeen };
  };
}

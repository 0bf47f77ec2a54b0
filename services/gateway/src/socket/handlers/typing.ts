import type { GatewayPresence } from '../../presence/gateway-presence.ts';
import type { EventHandler } from '../register-handler.ts';

/**
 * `typing_start` / `typing_stop`: participants only (a socket sending more than the `typing` limit is refused
 * before this); what is forwarded is throttled per user and conversation (see TypingRelay).
 */
export function typingStart(presence: GatewayPresence): EventHandler<'typing_start'> {
  return async ({ socket, user }, { conversationId }) => {
    const to = presence.typingTarget(conversationId, user.userId);
    presence.typing.start(socket.id, user.userId, conversationId, to);
    return {};
  };
}

export function typingStop(presence: GatewayPresence): EventHandler<'typing_stop'> {
  return async ({ socket, user }, { conversationId }) => {
    presence.typingTarget(conversationId, user.userId);
    presence.typing.stop(user.userId, conversationId);
    return {};
  };
}

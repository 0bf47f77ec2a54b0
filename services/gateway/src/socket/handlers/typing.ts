import { ChatError } from '@chat/contracts';
import type { GatewayPresence } from '../../presence/gateway-presence.ts';
import type { EventHandler } from '../register-handler.ts';

/**
 * `typing_start` / `typing_stop`: participants only; a socket sending more than its rate is refused
 * (`RATE_LIMITED`); what is forwarded is throttled per user and conversation (see TypingRelay).
 */
export function typingStart(presence: GatewayPresence): EventHandler<'typing_start'> {
  return async ({ socket, user }, { conversationId }) => {
    const to = presence.typingTarget(conversationId, user.userId);
    if (!presence.typingLimit.take(socket.id)) throw new ChatError('RATE_LIMITED');
    presence.typing.start(socket.id, user.userId, conversationId, to);
    return {};
  };
}

export function typingStop(presence: GatewayPresence): EventHandler<'typing_stop'> {
  return async ({ socket, user }, { conversationId }) => {
    presence.typingTarget(conversationId, user.userId);
    if (!presence.typingLimit.take(socket.id)) throw new ChatError('RATE_LIMITED');
    presence.typing.stop(user.userId, conversationId);
    return {};
  };
}

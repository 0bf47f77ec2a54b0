import type { TypingRelay } from '../../typing/typing-relay.ts';
import type { EventHandler } from '../event-wrapper.ts';

/**
 * `typing_start` / `typing_stop`: participants only (the wrapper checked; a socket sending more than the
 * `typing` limit is refused before this); what is forwarded is throttled per user and conversation (TypingRelay).
 */
export function typingStartHandler({ typing }: { typing: TypingRelay }): EventHandler<'typing_start'> {
  return async ({ socket, user, other }, { conversationId }) => {
    typing.start(socket.id, user.userId, conversationId, other);
    return {};
  };
}

export function typingStopHandler({ typing }: { typing: TypingRelay }): EventHandler<'typing_stop'> {
  return async ({ user }, { conversationId }) => {
    typing.stop(user.userId, conversationId);
    return {};
  };
}

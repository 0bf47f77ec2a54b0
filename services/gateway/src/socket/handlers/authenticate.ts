import { ChatError } from '@chat/contracts';
import type { TokenVerifier } from '@chat/auth';
import type { ChatSocket } from '../../chat-socket.ts';
import type { EventHandler } from '../event-wrapper.ts';

/**
 * The spec's `authenticate` event, for clients that connect first and authenticate after, and to refresh the
 * token of an authenticated socket before it expires (the socket then lives until the new token's `exp`).
 * Re-authenticating as another user on the same socket is refused: reconnect instead.
 */
export function authenticateHandler({
  verifier,
  onAuthenticated,
  onRefreshed = () => undefined,
}: {
  verifier: TokenVerifier;
  /** A socket that was not authenticated now is. */
  onAuthenticated: (socket: ChatSocket) => Promise<void>;
  /** An authenticated socket sent a fresh token of the same user. */
  onRefreshed?: (socket: ChatSocket) => void;
}): EventHandler<'authenticate'> {
  return async ({ socket }, { token }) => {
    const user = await verifier.verify(token);
    const current = socket.data.user;
    if (current) {
      if (current.userId !== user.userId) throw new ChatError('FORBIDDEN', 'this socket is authenticated as another user');
      socket.data.user = user;
      onRefreshed(socket);
      return { userId: user.userId, success: true };
    }
    socket.data.user = user;
    await onAuthenticated(socket);
    return { userId: user.userId, success: true };
  };
}

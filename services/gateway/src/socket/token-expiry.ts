import { ChatError } from '@chat/contracts';
import type { AuthUser } from '@chat/auth';
import type { ChatSocket } from '../chat-socket.ts';

/** setTimeout's longest delay; a longer one would fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A socket lives no longer than its token. At the token's `exp` the socket is told why (an `error` with
 * `AUTH_ERROR`, `details.reason: 'token_expired'`) and disconnected; a client that sends `authenticate` with a
 * fresh token for the same user before then keeps its socket, until the new token's `exp`.
 */
export class TokenExpiry {
  #timer: NodeJS.Timeout | undefined;
  readonly #socket: ChatSocket;
  readonly #onExpired: () => void;

  constructor(socket: ChatSocket, onExpired: () => void) {
    this.#socket = socket;
    this.#onExpired = onExpired;
  }

  /** (Re)starts the countdown to this user's token expiry. */
  schedule(user: AuthUser): void {
    this.clear();
    if (user.expiresAt === undefined) return;
    const expiresAt = user.expiresAt;
    const arm = () => {
      const left = expiresAt - Date.now();
      if (left > MAX_TIMER_MS) {
        this.#timer = setTimeout(arm, MAX_TIMER_MS);
        return;
      }
      this.#timer = setTimeout(() => this.#expire(), Math.max(0, left));
    };
    arm();
  }

  clear(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #expire(): void {
    if (this.#socket.disconnected) return;
    this.#onExpired();
    this.#socket.emit(
      'error',
      new ChatError('AUTH_ERROR', 'The token has expired: send authenticate with a fresh token before it expires, or reconnect with one', {
        reason: 'token_expired',
      }).toPayload(),
    );
    this.#socket.disconnect(true);
  }
}

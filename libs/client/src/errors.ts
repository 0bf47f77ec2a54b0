import type { ChatErrorCode, ChatErrorPayload } from './types.ts';

/**
 * What a failed send means, from the error registry's meaning of each code: `retry` — resend with the same
 * `clientMessageId` (idempotent, so never stored twice); `final` — the server will never take it unchanged.
 * A `Record` over every code, so a new code in the contracts does not compile until it is classified here.
 */
const SEND_OUTCOME: Record<ChatErrorCode, 'retry' | 'final'> = {
  // Not authenticated (yet, or any more): resent once the socket is authenticated again.
  AUTH_ERROR: 'retry',
  UNAUTHENTICATED: 'retry',
  // "retry with the same clientMessageId"
  SEND_FAILED: 'retry',
  STORE_TIMEOUT: 'retry',
  UNAVAILABLE: 'retry',
  REQUEST_TIMEOUT: 'retry',
  RATE_LIMITED: 'retry',
  PRESENCE_UNAVAILABLE: 'retry',
  // Unknown server failure: the id makes a resend harmless.
  INTERNAL_ERROR: 'retry',
  VALIDATION_ERROR: 'final',
  UNKNOWN_EVENT: 'final',
  NOT_PARTICIPANT: 'final',
  INVALID_RECEIVER: 'final',
  FORBIDDEN: 'final',
  NOT_FOUND: 'final',
  // "will not be delivered; do not resend it unchanged"
  MESSAGE_REFUSED: 'final',
  FILE_TOO_LARGE: 'final',
  UNSUPPORTED_FILE_TYPE: 'final',
  INVALID_FILE_NAME: 'final',
  UPLOAD_NOT_FOUND: 'final',
};

/** Whether a send that failed with this error should be resent with the same id. */
export function isRetryable(error: ChatErrorPayload): boolean {
  if (error.code === 'TIMEOUT' || error.code === 'DISCONNECTED') return true;
  // An unknown code (a newer server): do not loop on it.
  return SEND_OUTCOME[error.code] === 'retry';
}

/** The codes after which a send is resent. */
export const RETRYABLE_SEND_CODES: readonly ChatErrorCode[] = (Object.keys(SEND_OUTCOME) as ChatErrorCode[]).filter(
  (code) => SEND_OUTCOME[code] === 'retry',
);

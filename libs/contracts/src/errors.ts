import { z } from 'zod';

/**
 * Every error a client or another service can see, with its stable code and HTTP status.
 * Domain code throws `ChatError`; each edge (socket event, REST, NATS service) maps it to its transport.
 */
export const ERRORS = {
  AUTH_ERROR: { status: 401, message: 'Authentication failed' },
  UNAUTHENTICATED: { status: 401, message: 'Authenticate first' },
  VALIDATION_ERROR: { status: 400, message: 'Invalid payload' },
  UNKNOWN_EVENT: { status: 400, message: 'Unknown event' },
  NOT_PARTICIPANT: { status: 403, message: 'You are not a participant of this conversation' },
  INVALID_RECEIVER: { status: 400, message: 'receiverId must be the other participant of the conversation' },
  FORBIDDEN: { status: 403, message: 'Forbidden' },
  NOT_FOUND: { status: 404, message: 'Not found' },
  SEND_FAILED: { status: 503, message: 'The message could not be queued; retry with the same clientMessageId' },
  STORE_TIMEOUT: {
    status: 504,
    message: 'The message is queued but was not confirmed in time; retry with the same clientMessageId',
  },
  MESSAGE_REFUSED: {
    status: 422,
    message: 'The message was queued but could not be stored, and will not be delivered; do not resend it unchanged',
  },
  UNAVAILABLE: { status: 503, message: 'A service this needs is unavailable' },
  INTERNAL_ERROR: { status: 500, message: 'Internal error' },
  REQUEST_TIMEOUT: { status: 408, message: 'The request did not arrive in time' },
  PRESENCE_UNAVAILABLE: { status: 503, message: 'Online status is unavailable right now; chat keeps working' },
  RATE_LIMITED: { status: 429, message: 'Too many events; slow down' },
  FILE_TOO_LARGE: { status: 413, message: 'The file is larger than the upload limit' },
  UNSUPPORTED_FILE_TYPE: { status: 415, message: 'This type of file is not accepted' },
  INVALID_FILE_NAME: { status: 400, message: 'The file name must be a plain name without control characters' },
  UPLOAD_NOT_FOUND: { status: 404, message: 'No such upload of yours' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERRORS;
export const ErrorCodeSchema = z.enum(Object.keys(ERRORS) as [ErrorCode, ...ErrorCode[]]);

/** Why authentication failed, as `details.reason` of an `AUTH_ERROR`. */
export const AuthFailureReasonSchema = z.enum([
  'missing_token',
  'malformed_token',
  'invalid_signature',
  'algorithm_not_allowed',
  'token_expired',
  'missing_exp',
  'invalid_claims',
  'invalid_user_id',
  'keys_unavailable',
]);
export type AuthFailureReason = z.infer<typeof AuthFailureReasonSchema>;

/** The spec's `error` event payload; `event`, `details` and `clientMessageId` are additive. */
export const ErrorPayloadSchema = z.object({
  message: z.string(),
  code: ErrorCodeSchema,
  /** The client event that was rejected, when there was one. */
  event: z.string().optional(),
  /** The client's id of the message that was rejected, so it can mark the right bubble as failed. */
  clientMessageId: z.string().optional(),
  details: z.unknown().optional(),
});
export type ErrorPayload = z.infer<typeof ErrorPayloadSchema>;

export class ChatError extends Error {
  readonly code: ErrorCode;
  readonly details: unknown;

  constructor(code: ErrorCode, message: string = ERRORS[code].message, details?: unknown) {
    super(message);
    this.name = 'ChatError';
    this.code = code;
    this.details = details;
  }

  get status(): number {
    return ERRORS[this.code].status;
  }

  toPayload(extra: { event?: string; clientMessageId?: string } = {}): ErrorPayload {
    return {
      message: this.message,
      code: this.code,
      ...extra,
      ...(this.details === undefined ? {} : { details: this.details }),
    };
  }
}

/** Any thrown value as a `ChatError`; unknown errors become `INTERNAL_ERROR` without leaking their text. */
export function toChatError(error: unknown): ChatError {
  return error instanceof ChatError ? error : new ChatError('INTERNAL_ERROR');
}

/** A zod failure as a `VALIDATION_ERROR` listing each problem's path and message. */
export function validationError(error: z.ZodError, what = 'payload'): ChatError {
  const issues = error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message }));
  const summary = issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ');
  return new ChatError('VALIDATION_ERROR', `Invalid ${what}: ${summary}`, { issues });
}

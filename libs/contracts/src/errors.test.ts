import { describe, expect, it } from 'vitest';
import { ERRORS } from './errors.ts';

/**
 * Clients switch on these codes (the SDK's `ChatErrorCode`, Flutter apps): removing or renaming one, or changing
 * its HTTP status, breaks them. Adding one is additive — add it here and to libs/contracts/CHANGELOG.md.
 */
describe('the error codes', () => {
  it('are the published list, with their HTTP statuses', () => {
    expect(Object.fromEntries(Object.entries(ERRORS).map(([code, { status }]) => [code, status]))).toEqual({
      AUTH_ERROR: 401,
      UNAUTHENTICATED: 401,
      VALIDATION_ERROR: 400,
      UNKNOWN_EVENT: 400,
      NOT_PARTICIPANT: 403,
      INVALID_RECEIVER: 400,
      FORBIDDEN: 403,
      NOT_FOUND: 404,
      SEND_FAILED: 503,
      STORE_TIMEOUT: 504,
      MESSAGE_REFUSED: 422,
      UNAVAILABLE: 503,
      INTERNAL_ERROR: 500,
      REQUEST_TIMEOUT: 408,
      PRESENCE_UNAVAILABLE: 503,
      RATE_LIMITED: 429,
      FILE_TOO_LARGE: 413,
      UNSUPPORTED_FILE_TYPE: 415,
      INVALID_FILE_NAME: 400,
      UPLOAD_NOT_FOUND: 404,
    });
  });
});

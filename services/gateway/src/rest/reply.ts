import { ERRORS, toChatError, type ChatError, type ErrorEnvelope } from '@chat/contracts';

/** The spec's envelope around a successful answer. */
export const ok = <T>(status: number, message: string, data: T) => ({ status, message, data });

/** The same envelope for an error, with its stable code. */
export function errorEnvelope(error: ChatError): ErrorEnvelope {
  return {
    status: error.status,
    message: error.message,
    code: error.code,
    data: null,
    ...(error.details === undefined ? {} : { details: error.details }),
  };
}

export { ERRORS, toChatError };

import { ERRORS, errorEnvelope, toChatError } from '@chat/contracts';

/** The spec's envelope around a successful answer. */
export const ok = <T>(status: number, message: string, data: T) => ({ status, message, data });

/** The same envelope for an error, with its stable code. */
export { ERRORS, errorEnvelope, toChatError };

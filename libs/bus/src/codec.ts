import type { z } from 'zod';
import { ChatError, validationError } from '@chat/contracts';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

type Refusal = (error: z.ZodError, subject: string) => Error;
const invalidPayload =
  (where: string): Refusal =>
  (error, subject) =>
    validationError(error, `payload ${where} ${subject}`);

function parseJson(data: Uint8Array): unknown {
  try {
    return JSON.parse(decoder.decode(data));
  } catch {
    return undefined;
  }
}

/** Validates before encoding: a service never puts a payload on the bus that its contract refuses. */
export function encode<T>(schema: z.ZodType<T>, payload: T, subject: string, refuse: Refusal = invalidPayload('for')): Uint8Array {
  const result = schema.safeParse(payload);
  if (!result.success) throw refuse(result.error, subject);
  return encoder.encode(JSON.stringify(payload));
}

/** Decodes and validates what arrived; a malformed payload throws a `VALIDATION_ERROR`. */
export function decode<T>(schema: z.ZodType<T>, data: Uint8Array, subject: string, refuse: Refusal = invalidPayload('on')): T {
  const result = schema.safeParse(parseJson(data));
  if (!result.success) throw refuse(result.error, subject);
  return result.data;
}

/**
 * A reply that fails its own schema is the replying service's bug, not the caller's: it must reach a client as
 * an `INTERNAL_ERROR` with the generic message (no subject, no issues), while the details go to the error log.
 */
export class InvalidReplyError extends ChatError {
  readonly subject: string;
  readonly issues: ReadonlyArray<{ path: string; message: string }>;

  constructor(subject: string, error: z.ZodError) {
    super('INTERNAL_ERROR');
    this.subject = subject;
    this.issues = error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message }));
  }

  /** What the error log gets. */
  logFields(): { subject: string; issues: ReadonlyArray<{ path: string; message: string }> } {
    return { subject: this.subject, issues: this.issues };
  }
}

const invalidReply: Refusal = (error, subject) => new InvalidReplyError(subject, error);

/** `encode` for a reply: a reply its schema refuses throws an `InvalidReplyError`. */
export function encodeReply<T>(schema: z.ZodType<T>, payload: T, subject: string): Uint8Array {
  return encode(schema, payload, subject, invalidReply);
}

/** `decode` for a reply: one its schema refuses (or that is not JSON) throws an `InvalidReplyError`. */
export function decodeReply<T>(schema: z.ZodType<T>, data: Uint8Array, subject: string): T {
  return decode(schema, data, subject, invalidReply);
}

import type { z } from 'zod';
import { validationError } from '@chat/contracts';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Validates before encoding: a service never puts a payload on the bus that its contract refuses. */
export function encode<T>(schema: z.ZodType<T>, payload: T, subject: string): Uint8Array {
  const result = schema.safeParse(payload);
  if (!result.success) throw validationError(result.error, `payload for ${subject}`);
  return encoder.encode(JSON.stringify(payload));
}

/** Decodes and validates what arrived; a malformed payload throws a `VALIDATION_ERROR`. */
export function decode<T>(schema: z.ZodType<T>, data: Uint8Array, subject: string): T {
  let json: unknown;
  try {
    json = JSON.parse(decoder.decode(data));
  } catch {
    json = undefined;
  }
  const result = schema.safeParse(json);
  if (!result.success) throw validationError(result.error, `payload on ${subject}`);
  return result.data;
}

import { describe, expect, it } from 'vitest';
import { MessageBodySchema, TextContentSchema } from './message.ts';
import { ChatError, validationError } from './errors.ts';

describe('text content', () => {
  it('accepts 1 to 4,000 characters with newlines and tabs', () => {
    expect(TextContentSchema.safeParse({ text: 'a' }).success).toBe(true);
    expect(TextContentSchema.safeParse({ text: 'line 1\n\tline 2' }).success).toBe(true);
    expect(TextContentSchema.safeParse({ text: 'é'.repeat(4000) }).success).toBe(true);
  });

  it.each([
    ['empty', ''],
    ['blank', '  \n '],
    ['too long', 'x'.repeat(4001)],
    ['a NUL', 'a\u0000b'],
    ['an escape sequence', '\u001b[31mred'],
    ['DEL', 'a\u007f'],
  ])('refuses %s text', (_name, text) => {
    expect(TextContentSchema.safeParse({ text }).success).toBe(false);
  });

  it('is checked against its messageType', () => {
    expect(MessageBodySchema.safeParse({ messageType: 'text', content: { text: 'hi' } }).success).toBe(true);
    expect(MessageBodySchema.safeParse({ messageType: 'text', content: { fileUrl: '/x' } }).success).toBe(false);
  });
});

describe('errors', () => {
  it('carry a stable code, an HTTP status and a payload', () => {
    const error = new ChatError('NOT_PARTICIPANT');
    expect(error.status).toBe(403);
    expect(error.toPayload({ event: 'join_conversation' })).toEqual({
      code: 'NOT_PARTICIPANT',
      message: 'You are not a participant of this conversation',
      event: 'join_conversation',
    });
  });

  it('turn a zod failure into VALIDATION_ERROR naming each field', () => {
    const result = TextContentSchema.safeParse({ text: 5 });
    if (result.success) throw new Error('expected a failure');
    const error = validationError(result.error, 'content');
    expect(error.code).toBe('VALIDATION_ERROR');
    expect(error.message).toContain('text');
    expect(error.details).toEqual({ issues: [expect.objectContaining({ path: 'text' })] });
  });
});

import { describe, expect, it } from 'vitest';
import { MessageBodySchema } from './message.ts';
import { UserUpdatedEventSchema } from './messages-service.ts';
import { UploadFileNameSchema } from './uploads.ts';
import { cleanFileName, cleanName, cleanText, hasVisibleText, safeAvatarUrl } from './text.ts';

describe('cleanText', () => {
  it.each([
    ['bidi overrides and embeddings', 'pay \u202Eelbat\u202C now \u202A\u202B\u202D', 'pay elbat now '],
    ['bidi isolates', 'a\u2066b\u2067c\u2068d\u2069', 'abcd'],
    ['C1 controls', 'a\u0080b\u009Fc\u0085', 'abc'],
    ['C0 controls but newline and tab, and DEL', 'a\u0000b\u0007c\u001B[31md\u007F\r\n\te', 'abc[31md\n\te'],
    ['a lone high surrogate', 'x\uD83Dy', 'x\uFFFDy'],
    ['a lone low surrogate', '\uDE00', '\uFFFD'],
    ['decomposed accents (to NFC)', 'e\u0301', '\u00E9'],
  ])('removes or repairs %s', (_name, input, expected) => {
    expect(cleanText(input)).toBe(expected);
  });

  it('keeps what writers need: emoji sequences, joiners, bidi marks, right-to-left text', () => {
    for (const text of ['👩\u200D💻 👍🏽', 'می\u200Cخواهم', 'שלום\u200F!', 'a\u200Eb', 'line 1\n\tline 2']) {
      expect(cleanText(text)).toBe(text.normalize('NFC'));
    }
  });

  it('is idempotent', () => {
    const once = cleanText('\u202Eab\u0085\uD800c\u0301');
    expect(cleanText(once)).toBe(once);
  });

  it('tells visible text from whitespace and zero-width characters', () => {
    expect(hasVisibleText('\u200B\u200C\u200D\uFEFF \n\t\u2060\u3164')).toBe(false);
    expect(hasVisibleText('')).toBe(false);
    expect(hasVisibleText('\u200Bhi')).toBe(true);
  });
});

describe('names, file names and avatars', () => {
  it('cleans a profile name to one visible line, or nothing', () => {
    expect(cleanName('  Ann\u202E\nLee\u0085 ')).toBe('Ann Lee');
    expect(cleanName('<b>Ann</b>')).toBe('<b>Ann</b>');
    expect(cleanName('\u200B\u202E ')).toBeNull();
  });

  it('cleans file names the same way for uploads and file messages', () => {
    expect(cleanFileName(' photo\u202Egnp.exe ')).toBe('photognp.exe');
    const upload = UploadFileNameSchema.parse('invoice\u202Efdp.exe');
    const body = MessageBodySchema.parse({
      messageType: 'file',
      content: { fileUrl: '/api/common/files/f1', fileId: 'f1', fileName: 'invoice\u202Efdp.exe', fileSize: 1 },
    });
    expect(body.content).toMatchObject({ fileName: upload });
  });

  it('keeps only http(s) avatars', () => {
    expect(safeAvatarUrl('https://cdn.example.com/a.png')).toBe('https://cdn.example.com/a.png');
    expect(safeAvatarUrl('http://cdn.example.com/a.png')).toBe('http://cdn.example.com/a.png');
    expect(safeAvatarUrl('/avatars/a.png')).toBe('/avatars/a.png');
    for (const bad of [
      'javascript:alert(1)',
      ' JavaScript:alert(1)',
      'java\tscript:alert(1)',
      'data:text/html,<script>',
      '//evil.example/a.png',
      '/\\evil.example',
      'relative.png',
      'not a url',
      'ftp://x/y',
    ]) {
      expect(safeAvatarUrl(bad)).toBeNull();
    }
  });

  it('applies both to users-updated events', () => {
    expect(UserUpdatedEventSchema.parse({ userId: 'u1', name: 'Eve\u202E', avatar: 'javascript:alert(1)' })).toEqual({
      userId: 'u1',
      name: 'Eve',
      avatar: null,
    });
    expect(UserUpdatedEventSchema.parse({ userId: 'u1', name: null })).toEqual({ userId: 'u1', name: null });
  });
});

describe('message bodies as written', () => {
  it('clean text, captions and offer details before they are checked', () => {
    expect(MessageBodySchema.parse({ messageType: 'text', content: { text: 'hi\u202E\u0085\uD800' } }).content).toEqual({
      text: 'hi\uFFFD',
    });
    const offer = MessageBodySchema.parse({
      messageType: 'offer',
      content: { offerAmount: 5, text: 'deal\u2066', offerDetails: { note: 'x\u202Ey', tags: ['a\u0085', 1] } },
    });
    expect(offer.content).toEqual({ offerAmount: 5, text: 'deal', offerDetails: { note: 'xy', tags: ['a', 1] } });
  });

  it.each([
    ['only zero-width characters', '\u200B\u200D\uFEFF'],
    ['only bidi controls', '\u202E\u202C'],
    ['only control characters', '\u0007\u0085'],
    ['only whitespace once cleaned', ' \u202E\n '],
  ])('refuse a text of %s', (_name, text) => {
    expect(MessageBodySchema.safeParse({ messageType: 'text', content: { text } }).success).toBe(false);
  });
});

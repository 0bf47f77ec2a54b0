import { describe, expect, it } from 'vitest';
import { UploadContentTypeSchema } from './uploads.ts';

const ok = (value: string) => UploadContentTypeSchema.safeParse(value).success;

describe('UploadContentTypeSchema', () => {
  it.each([
    'multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW',
    'Multipart/Form-Data; charset=utf-8; BOUNDARY="a b:c"',
    `multipart/form-data; boundary=${'x'.repeat(70)}`,
    'multipart/form-data;boundary=1',
  ])('accepts %s', (value) => expect(ok(value)).toBe(true));

  it.each([
    ['no boundary', 'multipart/form-data'],
    ['an empty boundary', 'multipart/form-data; boundary='],
    ['an empty quoted boundary', 'multipart/form-data; boundary=""'],
    ['a boundary of 71 characters', `multipart/form-data; boundary=${'x'.repeat(71)}`],
    ['a boundary over 256 characters', `multipart/form-data; boundary=${'x'.repeat(300)}`],
    ['a boundary ending in a space', 'multipart/form-data; boundary="ab "'],
    ['a character RFC 2046 does not allow', 'multipart/form-data; boundary=a<b'],
    ['two boundaries', 'multipart/form-data; boundary=a; boundary=b'],
    ['another type', 'application/json; boundary=a'],
  ])('refuses %s', (_case, value) => expect(ok(value)).toBe(false));
});

/**
 * Text that one user writes and another is shown (message text and captions, offer details, file names, profile
 * names) goes through one of these functions before it is validated, stored or echoed, so that the sender's ack,
 * the stored document and what the receiver is shown are the same string.
 *
 * What goes, and why:
 * - lone surrogates become U+FFFD: MongoDB (BSON is UTF-8) would store them so anyway, and an ack that echoed
 *   them would differ from what is stored;
 * - bidi embedding/override/isolate controls (U+202A–U+202E, U+2066–U+2069) are removed: they reorder what
 *   follows them (`invoice\u202Efdp.exe` shows as `invoiceexe.pdf`). The bidi *marks* U+200E/U+200F stay: they
 *   reorder nothing beyond a neutral character and right-to-left writers need them;
 * - C0 controls other than newline and tab, DEL and the C1 controls (U+0080–U+009F) are removed: they show as
 *   nothing or as boxes, and some terminals and log viewers act on them. A `\r\n` becomes `\n`;
 * - the result is NFC-normalised, so that equal-looking texts are equal strings.
 * Zero-width characters inside a text stay (U+200D joins emoji, U+200C is needed in Persian); a text that is
 * nothing but whitespace and invisible characters is refused by the schemas (`hasVisibleText`).
 */

// eslint-disable-next-line no-control-regex
const REMOVED = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]/g;

/** Whitespace and characters that show as nothing (zero-width, fillers, variation selectors, format controls). */
const INVISIBLE_OR_SPACE =
  // biome-ignore lint/suspicious/noMisleadingCharacterClass: each code point is matched on its own, on purpose (a variation selector or combining grapheme joiner alone shows nothing)
  /[\s\u00AD\u034F\u115F\u1160\u17B4\u17B5\u180B-\u180F\u200B-\u200F\u2060-\u206F\u3164\uFE00-\uFE0F\uFEFF\uFFA0]/g;

/** Zero-width and bidi characters a file name never needs (a name is one word-like token, not prose). */
const INVISIBLE_IN_NAMES = /[\u200B-\u200F\u202A-\u202E\u2066-\u2069\uFEFF]/g;

/** The text as it is stored and shown: see the module comment. Idempotent. */
export function cleanText(text: string): string {
  return text.toWellFormed().replace(REMOVED, '').normalize('NFC');
}

/** Whether the text shows anything: not empty, not only whitespace and invisible characters. */
export function hasVisibleText(text: string): boolean {
  return text.replace(INVISIBLE_OR_SPACE, '').length > 0;
}

/**
 * A one-line name (a profile's display name): `cleanText`, newlines and tabs as spaces, trimmed; `null` when
 * nothing visible is left. Markup is left as it is: names are text, and clients render them as text.
 */
export function cleanName(name: string): string | null {
  const cleaned = cleanText(name)
    .replace(/[\n\t]+/g, ' ')
    .trim();
  return hasVisibleText(cleaned) ? cleaned : null;
}

/**
 * A file name as it is shown (upload metadata, a file message's `fileName`): well-formed, NFC, without
 * zero-width and bidi characters, trimmed. Control characters are not removed here: the schemas refuse them.
 */
export function cleanFileName(name: string): string {
  return name.toWellFormed().normalize('NFC').replace(INVISIBLE_IN_NAMES, '').trim();
}

/**
 * An avatar as other users' clients may load it: an absolute http(s) URL, or a path on the app's own origin
 * (`/avatars/1.png`, which clients resolve against their http(s) origin); else `null` (`javascript:`, `data:`,
 * protocol-relative `//host`, anything with controls or spaces).
 */
export function safeAvatarUrl(avatar: string): string | null {
  const trimmed = avatar.trim();
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0020\u007F-\u009F\\]/.test(trimmed)) return null;
  if (/^\/(?!\/)/.test(trimmed)) return trimmed;
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    return null;
  }
  return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : null;
}

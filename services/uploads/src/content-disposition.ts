/** Types a browser may show in place; everything else is offered as a download. */
const INLINE_TYPES = new Set(['image/jpeg', 'image/png', 'image/gif', 'image/webp']);

/**
 * `Content-Disposition` for a stored file: `inline` for plain images, `attachment` otherwise, with an ASCII
 * `filename` for old clients and the exact name as RFC 8187 `filename*`. Names are already free of control
 * characters and path separators (UploadFileNameSchema); quotes and backslashes are still replaced in the
 * quoted form so the header cannot be broken out of.
 */
export function contentDisposition(fileName: string, mimeType: string): string {
  const type = INLINE_TYPES.has(mimeType) ? 'inline' : 'attachment';
  const ascii = fileName.replace(/[^\x20-\x7E]/g, '_').replace(/["\\]/g, '_');
  const encoded = encodeURIComponent(fileName).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `${type}; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

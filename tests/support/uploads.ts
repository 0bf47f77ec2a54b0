import { request } from 'node:http';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { crc32, deflateSync } from 'node:zlib';

/** A real PNG of one colour, built here: the uploads service detects the type from the bytes, a browser decodes it. */
export function pngImage(width: number, height: number, [r, g, b]: [number, number, number]): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  const line = Buffer.concat([Buffer.from([0]), Buffer.from(Array.from({ length: width }, () => [r, g, b]).flat())]);
  const pixels = Buffer.concat(Array.from({ length: height }, () => line));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(pixels)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Small real files of each kind the uploads service is asked about, made here (the type is in their bytes). */
export const samples = {
  jpeg: (size = 3000): Buffer =>
    Buffer.concat([
      Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10]),
      Buffer.from('JFIF\0\x01\x01\0\0\x01\0\x01\0\0', 'latin1'),
      randomBytes(size),
      Buffer.from([0xff, 0xd9]),
    ]),
  /** A 2×2 PNG. */
  png: (): Buffer => pngImage(2, 2, [255, 0, 0]),
  pdf: (): Buffer => Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n', 'latin1'),
  html: (): Buffer => Buffer.from('<!doctype html><html><body><script>alert(document.cookie)</script></body></html>'),
  svg: (): Buffer => Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(document.cookie)"><circle r="9"/></svg>'),
};

export interface Part {
  name: string;
  /** Written into the part's header as given (raw bytes: a test can put a NUL or a path there). */
  filename?: string;
  /** Added as RFC 5987 `filename*` instead of `filename`. */
  filenameStar?: string;
  contentType?: string;
  data: Buffer;
}

const BOUNDARY = '----chat-test-boundary-7d1f3a';
export const MULTIPART_TYPE = `multipart/form-data; boundary=${BOUNDARY}`;

function partHeader({ name, filename, filenameStar, contentType }: Omit<Part, 'data'>): Buffer {
  let disposition = `form-data; name="${name}"`;
  if (filename !== undefined) disposition += `; filename="${filename}"`;
  if (filenameStar !== undefined) disposition += `; filename*=${filenameStar}`;
  return Buffer.from(
    `--${BOUNDARY}\r\nContent-Disposition: ${disposition}\r\n${contentType ? `Content-Type: ${contentType}\r\n` : ''}\r\n`,
    'utf8',
  );
}

/** A multipart/form-data body, byte for byte as given. */
export function multipart(parts: Part[]): Buffer {
  return Buffer.concat([
    ...parts.flatMap((part) => [partHeader(part), part.data, Buffer.from('\r\n')]),
    Buffer.from(`--${BOUNDARY}--\r\n`),
  ]);
}

/**
 * A multipart body of one file of `size` bytes, generated while it is sent (never held whole): `head` first
 * (so its type is detected), then pseudo-random 64 KiB chunks. `onFileBytes` sees the file's bytes as they go.
 */
export function streamedFile(filename: string, head: Buffer, size: number, onFileBytes: (chunk: Buffer) => void = () => {}): Readable {
  const block = randomBytes(64 * 1024);
  return Readable.from(
    (function* () {
      yield partHeader({ name: 'file', filename, contentType: 'application/octet-stream' });
      for (let sent = 0; sent < size; ) {
        const chunk = sent === 0 ? head : block.subarray(0, Math.min(block.length, size - sent));
        onFileBytes(chunk);
        sent += chunk.length;
        yield chunk;
      }
      yield Buffer.from(`\r\n--${BOUNDARY}--\r\n`);
    })(),
    { objectMode: false },
  );
}

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  /** The body as JSON (the error and success envelopes). */
  json(): { status: number; message: string; code?: string; data: any; details?: any };
}

/**
 * One HTTP request with node:http, which hands over an answer that arrives before the body is sent (as a
 * refused upload's does) instead of failing on the closed connection.
 */
export function http(
  url: string,
  { method = 'GET', token, contentType, body }: { method?: string; token?: string; contentType?: string; body?: Buffer | Readable } = {},
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(contentType ? { 'content-type': contentType } : {}),
        ...(Buffer.isBuffer(body) ? { 'content-length': body.length } : {}),
      },
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const answer = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: answer, json: () => JSON.parse(answer.toString()) });
      });
      res.on('error', reject);
    });
    // Writing into a connection the server closed after answering early fails; the answer still counts.
    req.on('error', reject);
    if (body === undefined) req.end();
    else if (Buffer.isBuffer(body)) req.end(body);
    else {
      body.on('error', reject);
      body.pipe(req);
    }
  });
}

/** Uploads one file as a well-formed form. */
export function uploadFile(
  baseUrl: string,
  token: string | undefined,
  file: { name: string; data: Buffer; contentType?: string },
): Promise<HttpAnswer> {
  return http(`${baseUrl}/api/common/upload`, {
    method: 'POST',
    ...(token ? { token } : {}),
    contentType: MULTIPART_TYPE,
    body: multipart([{ name: 'file', filename: file.name, contentType: file.contentType ?? 'application/octet-stream', data: file.data }]),
  });
}

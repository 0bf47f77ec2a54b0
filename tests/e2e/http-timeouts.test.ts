import { connect, type Socket } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { signToken } from '@chat/testing';
import type { UploadsService } from '@chat/uploads';
import { startTestUploads, useSystem } from '../support/system.ts';

const system = useSystem({
  messages: false,
  uploads: true,
  gateway: { HTTP_HEADERS_TIMEOUT_MS: '300', HTTP_REQUEST_TIMEOUT_MS: '400', UPLOAD_REQUEST_TIMEOUT_MS: '700' },
});
let slowUploads: UploadsService | undefined;
afterAll(() => slowUploads?.stop());

interface RawExchange {
  /** Resolves with what the server sent once it closed the connection. */
  closed: Promise<string>;
  /** Resolves with the response's head once it has arrived. */
  head: Promise<string>;
  socket: Socket;
  /** Sends a byte at a time, every few milliseconds, until the server closes the connection. */
  trickle(byte?: string): void;
}

/** A client on a raw socket, to send a request as slowly (or as incompletely) as an attacker would. */
function rawExchange(url: string, head: string): RawExchange {
  const { port } = new URL(url);
  const socket = connect(Number(port), '127.0.0.1');
  let received = '';
  let onHead: (head: string) => void = () => undefined;
  const headArrived = new Promise<string>((resolve) => (onHead = resolve));
  socket.on('data', (chunk) => {
    received += chunk.toString('latin1');
    if (received.includes('\r\n\r\n')) onHead(received.slice(0, received.indexOf('\r\n\r\n')));
  });
  socket.on('error', () => undefined);
  const closed = new Promise<string>((resolve) => socket.once('close', () => resolve(received)));
  socket.write(head);
  let timer: NodeJS.Timeout | undefined;
  void closed.then(() => clearInterval(timer));
  return {
    socket,
    closed,
    head: headArrived,
    trickle(byte = 'x') {
      timer = setInterval(() => {
        if (!socket.destroyed && socket.writable) socket.write(byte);
      }, 20);
    },
  };
}

const statusOf = (response: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1]);

describe('HTTP timeouts', () => {
  it('cuts off a REST request whose body trickles in', async () => {
    const token = await signToken({ userId: 'slow-rest' });
    const exchange = rawExchange(
      system.gateway.url,
      `POST /api/chat/conversations HTTP/1.1\r\nHost: chat\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"participantId":"`,
    );
    exchange.trickle();
    const response = await exchange.closed;
    expect(statusOf(response)).toBe(408);
    expect(response).toContain('REQUEST_TIMEOUT');
  });

  it('cuts off a request whose headers trickle in', async () => {
    const exchange = rawExchange(system.gateway.url, 'GET /api/chat/conversations HTTP/1.1\r\nHost: chat\r\nX-Slow: ');
    exchange.trickle();
    expect(statusOf(await exchange.closed)).toBe(408);
  });

  it('cuts off an upload whose body trickles in, at the gateway', async () => {
    const token = await signToken({ userId: 'slow-upload' });
    const exchange = rawExchange(
      system.gateway.url,
      `POST /api/common/upload HTTP/1.1\r\nHost: chat\r\nAuthorization: Bearer ${token}\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000\r\n\r\n--b\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n`,
    );
    exchange.trickle();
    const response = await exchange.closed;
    // The gateway's own timeout (the uploads service's is far longer here).
    expect(statusOf(response), response).toBe(408);
  });

  it('cuts off an upload whose body trickles in, at the uploads service', async () => {
    slowUploads = await startTestUploads(system.ctx, {
      UPLOAD_DIR: system.uploadDir!,
      HTTP_HEADERS_TIMEOUT_MS: '300',
      HTTP_REQUEST_TIMEOUT_MS: '500',
    });
    const token = await signToken({ userId: 'slow-upload' });
    const exchange = rawExchange(
      slowUploads.url,
      `POST /api/common/upload HTTP/1.1\r\nHost: uploads\r\nAuthorization: Bearer ${token}\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000\r\n\r\n--b\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n`,
    );
    exchange.trickle('\u0089');
    expect(statusOf(await exchange.closed)).toBe(408);
  });

  it.each([
    ['a REST request', '/api/chat/conversations', 'application/json'],
    ['an upload', '/api/common/upload', 'multipart/form-data; boundary=b'],
  ])('answers %s without a token 401 before its body is sent', async (_case, path, contentType) => {
    const exchange = rawExchange(
      system.gateway.url,
      `POST ${path} HTTP/1.1\r\nHost: chat\r\nContent-Type: ${contentType}\r\nContent-Length: 5000\r\n\r\n`,
    );
    const head = await exchange.head;
    expect(statusOf(head)).toBe(401);
    expect(head.toLowerCase()).toContain('connection: close');
    exchange.socket.destroy();
  });
});

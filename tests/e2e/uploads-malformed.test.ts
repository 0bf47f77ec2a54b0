import { connect } from 'node:net';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { loadGatewayConfig, startGateway, type Gateway } from '@chat/gateway';
import { loadUploadsConfig, startUploadsService, type UploadsService } from '@chat/uploads';
import { createTestContext, signToken, waitFor } from '@chat/testing';
import { serviceEnv } from '../support/system.ts';
import { http, multipart, samples } from '../support/uploads.ts';

/** What a service logged, parsed. */
type Line = { level: number; msg: string; service?: string; [key: string]: unknown };
const lines: Line[] = [];
const recordingLogger = (service: string) =>
  pino({ level: 'info', base: { service } }, { write: (line: string) => void lines.push(JSON.parse(line)) });
const errorsLogged = (since = 0) => lines.slice(since).filter((line) => line.level >= 50);

const ctx = createTestContext();
let uploads: UploadsService;
let gateway: Gateway;
let uploadDir: string;

beforeAll(async () => {
  uploadDir = await mkdtemp(join(tmpdir(), 'chat-uploads-'));
  uploads = await startUploadsService(
    loadUploadsConfig(serviceEnv(ctx, { UPLOADS_PORT: '0', UPLOAD_DIR: uploadDir, LOG_LEVEL: 'info' })),
    recordingLogger('uploads'),
  );
  gateway = await startGateway(
    loadGatewayConfig(serviceEnv(ctx, { UPLOADS_URL: uploads.url, LOG_LEVEL: 'info' })),
    recordingLogger('gateway'),
  );
});
afterAll(async () => {
  await gateway?.stop();
  await uploads?.stop();
  await rm(uploadDir, { recursive: true, force: true });
  await ctx.cleanup();
});

const body = multipart([{ name: 'file', filename: 'a.png', contentType: 'image/png', data: samples.png() }]);

describe('malformed multipart', () => {
  it.each([
    ['no boundary', 'multipart/form-data'],
    ['an empty boundary', 'multipart/form-data; boundary='],
    ['a boundary over 256 characters', `multipart/form-data; boundary=${'b'.repeat(300)}`],
    ['a boundary of 70 characters that the body does not use', `multipart/form-data; boundary=${'q'.repeat(70)}`],
  ])('with %s is a 400 VALIDATION_ERROR, at the gateway and at the uploads service, and no error is logged', async (_case, contentType) => {
    const token = await signToken({ userId: 'malformed' });
    const before = lines.length;
    for (const base of [gateway.url, uploads.url]) {
      const answer = await http(`${base}/api/common/upload`, { method: 'POST', token, contentType, body });
      expect(answer.status, `${base}: ${answer.body.toString()}`).toBe(400);
      expect(answer.json()).toMatchObject({ status: 400, code: 'VALIDATION_ERROR', data: null });
    }
    expect(errorsLogged(before)).toEqual([]);
  });
});

describe('a client that goes away mid-upload', () => {
  it('is logged below error level, at the gateway and at the uploads service', async () => {
    const token = await signToken({ userId: 'quitter' });
    const before = lines.length;
    const socket = connect(Number(new URL(gateway.url).port), '127.0.0.1');
    socket.on('error', () => undefined);
    const large = multipart([
      { name: 'file', filename: 'big.png', contentType: 'image/png', data: Buffer.concat([samples.png(), randomBytes(256 * 1024)]) },
    ]);
    socket.write(
      `POST /api/common/upload HTTP/1.1\r\nHost: chat\r\nAuthorization: Bearer ${token}\r\nContent-Type: multipart/form-data; boundary=----chat-test-boundary-7d1f3a\r\nContent-Length: ${large.length}\r\n\r\n`,
    );
    socket.write(large.subarray(0, large.length - 1000));
    // Gone once the uploads service is storing the file (its partial file exists).
    await waitFor(async () => (await readdir(uploadDir, { recursive: true })).some((name) => String(name).endsWith('.partial')));
    socket.destroy();
    await waitFor(() =>
      lines.slice(before).some((line) => line.service === 'uploads' && line.level >= 30 && /abort/i.test(JSON.stringify(line))),
    );
    expect(errorsLogged(before)).toEqual([]);
  });
});

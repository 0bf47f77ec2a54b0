import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { createTestContext, signToken } from '@chat/testing';
import { spawnGateway, spawnService, type ServiceProcess } from '../support/processes.ts';
import { startS3Server, type S3Server } from '../support/s3.ts';
import { serviceEnv } from '../support/system.ts';
import { http, MULTIPART_TYPE, samples, streamedFile, uploadFile } from '../support/uploads.ts';

/**
 * Large uploads through a gateway process to an uploads service process, on disk and on S3, sampling both
 * processes' resident memory (VmRSS) every 10 ms: the figures are printed (docs/architecture.md#uploads has a
 * run's). Garbage buffers make RSS rise by tens of MB whatever the file's size (V8 collects external memory
 * in steps of about 64 MB), so the one assertion is that memory does not follow the size: after a 50 MB and a
 * 300 MB upload, each process's peak is less than half of 300 MB above its RSS before either.
 */
const MB = 1024 * 1024;
const SIZES = [50 * MB, 300 * MB];
const mb = (bytes: number) => `${(bytes / MB).toFixed(1)} MB`;

async function rssOf(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1]) * 1024;
}

/** Samples each process's RSS until stopped; resolves with each one's peak. */
function sampleRss(pids: Record<string, number>): { stop(): Promise<Record<string, number>> } {
  const peaks: Record<string, number> = Object.fromEntries(Object.keys(pids).map((name) => [name, 0]));
  let running = true;
  const loop = (async () => {
    while (running) {
      for (const [name, pid] of Object.entries(pids)) peaks[name] = Math.max(peaks[name]!, await rssOf(pid));
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return peaks;
    },
  };
}

const ctx = createTestContext();
let s3: S3Server;
beforeAll(async () => {
  s3 = await startS3Server();
});
afterAll(async () => {
  await s3?.stop();
  await ctx.cleanup();
});

describe.each(['disk', 's3'] as const)('large uploads to %s', (storage) => {
  const processes: ServiceProcess[] = [];
  let dir: string;
  let gatewayUrl: string;
  let pids: Record<'gateway' | 'uploads', number>;
  /** RSS after the warm-up, before any large upload. */
  let baseline: Record<'gateway' | 'uploads', number>;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'chat-uploads-memory-'));
    const env = serviceEnv(ctx, { MAX_FILE_SIZE: String(Math.max(...SIZES) + MB), UPLOAD_DIR: dir, ...(storage === 's3' ? s3.env : {}) });
    const uploads = spawnService('uploads', { ...env, UPLOADS_PORT: '0', OPS_PORT: '0', LOG_FORMAT: 'json', LOG_LEVEL: 'info' });
    processes.push(uploads);
    await uploads.waitForLog('"msg":"ready"');
    const gateway = await spawnGateway({ ...env, UPLOADS_URL: `http://127.0.0.1:${/"port":(\d+)/.exec(uploads.output())![1]}` });
    processes.push(gateway);
    gatewayUrl = gateway.url;
    pids = { gateway: gateway.child.pid!, uploads: uploads.child.pid! };
    // Warm up (lazy modules, first connections) before any resting figure is taken.
    expect((await uploadFile(gatewayUrl, await signToken({ userId: 'alice' }), { name: 'warm.pdf', data: samples.pdf() })).status).toBe(
      200,
    );
    baseline = { gateway: await rssOf(pids.gateway), uploads: await rssOf(pids.uploads) };
  });
  afterAll(async () => {
    for (const service of processes) await service.kill();
    await rm(dir, { recursive: true, force: true });
  });

  it.each(SIZES)(
    'of %d bytes are stored whole, with both processes holding far less than the file',
    async (size) => {
      const resting = { gateway: await rssOf(pids.gateway), uploads: await rssOf(pids.uploads) };
      const sent = createHash('sha256');
      const file = streamedFile('big.pdf', samples.pdf(), size, (chunk) => sent.update(chunk));
      const sampler = sampleRss(pids);
      const answer = await http(`${gatewayUrl}/api/common/upload`, {
        method: 'POST',
        token: await signToken({ userId: 'alice' }),
        contentType: MULTIPART_TYPE,
        body: file,
      });
      const peaks = await sampler.stop();
      expect(answer.status).toBe(200);
      const { fileId, fileSize } = answer.json().data;
      expect(fileSize).toBe(size);

      // What was stored is what was sent: both hashed in pieces, never held whole here either.
      const key = `${fileId.slice(0, 2)}/${fileId}`;
      const stored: Readable =
        storage === 'disk'
          ? createReadStream(join(dir, key))
          : ((await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }))).Body as Readable);
      const storedHash = createHash('sha256');
      for await (const chunk of stored) storedHash.update(chunk as Buffer);
      expect(storedHash.digest('hex')).toBe(sent.digest('hex'));

      const growth = { gateway: peaks.gateway! - resting.gateway, uploads: peaks.uploads! - resting.uploads };
      console.log(
        `RSS, ${mb(size)} upload to ${storage}: gateway ${mb(resting.gateway)} → peak ${mb(peaks.gateway!)} (+${mb(growth.gateway)}), ` +
          `uploads ${mb(resting.uploads)} → peak ${mb(peaks.uploads!)} (+${mb(growth.uploads)})`,
      );
      if (size >= 300 * MB) {
        expect(peaks.gateway! - baseline.gateway, 'gateway RSS above its baseline').toBeLessThan(size / 2);
        expect(peaks.uploads! - baseline.uploads, 'uploads RSS above its baseline').toBeLessThan(size / 2);
      }
    },
    120_000,
  );
});

import { GetObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signToken } from '@chat/testing';
import { startS3Server, type S3Server } from '../support/s3.ts';
import { TestSystem } from '../support/system.ts';
import { SUITE_MAX_FILE_SIZE, uploadSuite } from '../support/upload-suite.ts';
import { http, samples, uploadFile } from '../support/uploads.ts';

// Uploads on the S3 backend: a real S3-compatible server (signatures checked, multipart uploads, presigned URLs)
// started for this file on a free loopback port.
const system = new TestSystem();
let s3: S3Server;
beforeAll(async () => {
  s3 = await startS3Server();
  await system.start({ uploads: { ...s3.env, MAX_FILE_SIZE: String(SUITE_MAX_FILE_SIZE) } });
});
afterAll(async () => {
  await system.stop();
  await s3?.stop();
});

uploadSuite(system, {
  kind: 's3',
  contents: () => s3.contents(),
  read: async (key) =>
    Buffer.from(await (await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }))).Body!.transformToByteArray()),
});

describe('presigned downloads', () => {
  it('are refused by S3 once tampered with', async () => {
    const { fileUrl } = (
      await uploadFile(system.gateway.url, await signToken({ userId: 'alice' }), { name: 'a.png', data: samples.png() })
    ).json().data;
    const redirect = await http(`${system.gateway.url}${fileUrl}`, { token: await signToken({ userId: 'alice' }) });
    expect(redirect.status).toBe(302);
    const location = new URL(String(redirect.headers.location));
    expect((await http(location.toString())).status).toBe(200);
    location.searchParams.set('response-content-type', 'text/html');
    expect((await http(location.toString())).status).toBe(403);
  });
});

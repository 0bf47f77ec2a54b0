import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { signToken } from '@chat/testing';
import { startTestGateway, useSystem } from '../support/system.ts';
import { SUITE_MAX_FILE_SIZE, uploadSuite } from '../support/upload-suite.ts';
import { samples, uploadFile } from '../support/uploads.ts';

// Uploads on the local-disk backend (UPLOAD_DIR), through the gateway, against the real services.
const system = useSystem({ uploads: { MAX_FILE_SIZE: String(SUITE_MAX_FILE_SIZE) } });

uploadSuite(system, {
  kind: 'disk',
  // Every file under UPLOAD_DIR, `.partial` ones included: a refused upload must leave none.
  contents: async () =>
    (await readdir(system.uploadDir!, { recursive: true, withFileTypes: true }))
      .filter((e) => e.isFile())
      .map((e) => join(e.parentPath, e.name))
      .sort(),
  read: (key) => readFile(join(system.uploadDir!, key)),
});

describe('the uploads service behind the gateway', () => {
  it('checks the token itself: a request straight to it without one is refused', async () => {
    const answer = await uploadFile(system.uploads!.url, undefined, { name: 'a.png', data: samples.png() });
    expect(answer.status).toBe(401);
    expect(answer.json()).toMatchObject({ code: 'AUTH_ERROR' });
  });

  it('is UNAVAILABLE (503) at the gateway when it does not answer', async () => {
    const lonely = await startTestGateway(system.ctx, { UPLOADS_URL: 'http://127.0.0.1:9' });
    try {
      const answer = await uploadFile(lonely.url, await signToken({ userId: 'alice' }), { name: 'a.png', data: samples.png() });
      expect(answer.status).toBe(503);
      expect(answer.json()).toMatchObject({ status: 503, code: 'UNAVAILABLE', data: null });
    } finally {
      await lonely.stop();
    }
  });
});

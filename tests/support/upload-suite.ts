import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Bus } from '@chat/bus';
import { busNames, conversationIdOf, type UserId } from '@chat/contracts';
import { collectEvents, emitWithAck, nextEvent, signToken } from '@chat/testing';
import type { TestSystem } from './system.ts';
import { testLogger } from './system.ts';
import { http, multipart, MULTIPART_TYPE, samples, streamedFile, uploadFile, type HttpAnswer } from './uploads.ts';

/** How a suite sees the storage under test. */
export interface StorageProbe {
  kind: 'disk' | 's3';
  /** Everything stored: file paths under UPLOAD_DIR, or the bucket's keys plus open multipart uploads. */
  contents(): Promise<unknown>;
  /** The bytes stored under a key. */
  read(key: string): Promise<Buffer>;
}

/** The system under test must run uploads with this limit, so that the oversize case stays small. */
export const SUITE_MAX_FILE_SIZE = 6 * 1024 * 1024;

const ALLOWED = [
  { mimeType: 'image/jpeg', messageType: 'image', name: 'Site photo.jpg', make: () => samples.jpeg() },
  { mimeType: 'image/png', messageType: 'image', name: 'plan.png', make: () => samples.png() },
  { mimeType: 'application/pdf', messageType: 'file', name: 'Quote — März.pdf', make: () => samples.pdf() },
] as const;

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/**
 * The uploads behaviour, run once per storage backend against the real services: every allowed type uploaded,
 * sent and downloaded by exactly the right people; every refusal leaving nothing behind.
 */
export function uploadSuite(system: TestSystem, probe: StorageProbe): void {
  const token = (userId: string) => signToken({ userId });
  const url = (path = '') => `${system.gateway.url}${path}`;
  const uploads = () => system.uploads!.store.uploads;
  let bus: Bus;

  beforeAll(async () => {
    bus = await Bus.connect({ servers: [system.ctx.natsUrl], name: 'upload-test', logger: testLogger('upload-test') });
  });
  afterAll(() => bus?.close());

  /** The download as a client gets it: the bytes (disk) or, with S3, the presigned redirect followed. */
  async function expectServed(answer: HttpAnswer, data: Buffer, mimeType: string, fileName: string): Promise<void> {
    expect(answer.headers['x-content-type-options']).toBe('nosniff');
    let served = answer;
    if (probe.kind === 's3') {
      expect(answer.status).toBe(302);
      const location = new URL(String(answer.headers.location));
      expect(location.searchParams.get('X-Amz-Expires')).toBe('60');
      expect(location.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
      served = await http(location.toString());
    }
    expect(served.status).toBe(200);
    expect(served.body.equals(data)).toBe(true);
    expect(served.headers['content-type']).toBe(mimeType);
    const disposition = String(served.headers['content-disposition']);
    expect(disposition).toMatch(mimeType.startsWith('image/') ? /^inline; / : /^attachment; /);
    expect(disposition).toContain(`filename*=UTF-8''${encodeURIComponent(fileName)}`);
  }

  /** Runs `action`, then checks that neither storage nor metadata gained anything. */
  async function expectNothingStored(action: () => Promise<void>): Promise<void> {
    const before = { contents: await probe.contents(), docs: await uploads().countDocuments() };
    await action();
    expect({ contents: await probe.contents(), docs: await uploads().countDocuments() }).toEqual(before);
  }

  describe.each(ALLOWED)('$mimeType', ({ mimeType, messageType, name, make }) => {
    it('is uploaded, sent in a message, and downloadable by the participants only', async () => {
      const [alice, bob, carol] = ['alice', 'bob', 'carol'] as UserId[];
      const data = make();

      const answer = await uploadFile(url(), await token(alice!), { name, data, contentType: 'application/octet-stream' });
      expect(answer.status).toBe(200);
      const { fileId } = answer.json().data;
      expect(answer.json()).toEqual({
        status: 200,
        message: 'File uploaded successfully',
        data: { fileUrl: `/api/common/files/${fileId}`, fileId, fileName: name, fileSize: data.length, mimeType },
      });

      // Metadata, stored bytes under a generated name, and the event.
      const doc = await uploads().findOne({ _id: fileId });
      expect(doc).toMatchObject({ ownerId: alice, mimeType, size: data.length, sha256: sha256(data), storage: probe.kind, fileName: name });
      expect(doc!.storageKey).toBe(`${fileId.slice(0, 2)}/${fileId}`);
      expect(doc!.createdAt).toBeInstanceOf(Date);
      expect((await probe.read(doc!.storageKey)).equals(data)).toBe(true);
      const names = busNames(system.ctx.namespace);
      const event = await bus.jsm.streams.getMessage(names.streams.events.name, {
        last_by_subj: names.uploads.uploadStored(fileId).subject,
      });
      expect(event?.json()).toEqual({
        fileId,
        ownerId: alice,
        fileName: name,
        mimeType,
        size: data.length,
        sha256: sha256(data),
        storage: probe.kind,
        storageKey: doc!.storageKey,
        createdAt: doc!.createdAt.toISOString(),
      });

      // Before it is sent, only its owner may have it.
      await expectServed(await http(url(answer.json().data.fileUrl), { token: await token(alice!) }), data, mimeType, name);
      expect((await http(url(answer.json().data.fileUrl), { token: await token(bob!) })).json()).toMatchObject({
        status: 403,
        code: 'FORBIDDEN',
      });

      const [sa, sb] = [await system.connectAs(alice!), await system.connectAs(bob!)];
      const received = nextEvent(sb, 'new_message');
      const ack = await emitWithAck(sa, 'send_message', {
        conversationId: conversationIdOf(alice!, bob!),
        receiverId: bob!,
        messageType,
        content: { fileUrl: answer.json().data.fileUrl, fileId, fileName: name, fileSize: data.length, text: 'see attached' },
      });
      expect(ack).toMatchObject({ ok: true, data: { messageType, content: { fileId, mimeType, fileSize: data.length } } });
      expect((await received).content).toEqual({
        fileUrl: `/api/common/files/${fileId}`,
        fileId,
        fileName: name,
        fileSize: data.length,
        mimeType,
        text: 'see attached',
      });

      for (const participant of [alice!, bob!]) {
        await expectServed(await http(url(`/api/common/files/${fileId}`), { token: await token(participant) }), data, mimeType, name);
      }
      const other = await http(url(`/api/common/files/${fileId}`), { token: await token(carol!) });
      expect(other.status).toBe(403);
      expect(other.json()).toMatchObject({ status: 403, code: 'FORBIDDEN', data: null });
      const anonymous = await http(url(`/api/common/files/${fileId}`));
      expect(anonymous.status).toBe(401);
      expect(anonymous.json()).toMatchObject({ status: 401, code: 'AUTH_ERROR', data: null });
      const forged = await http(url(`/api/common/files/${fileId}`), {
        token: await signToken({ userId: bob!, secret: 'not-the-secret-but-long-enough-1234' }),
      });
      expect(forged.status).toBe(401);
    });
  });

  describe('refused, with nothing stored', () => {
    const post = async (body: Buffer | NodeJS.ReadableStream, options: { token?: string | null; contentType?: string } = {}) =>
      http(url('/api/common/upload'), {
        method: 'POST',
        ...(options.token === null ? {} : { token: options.token ?? (await token('uploader')) }),
        contentType: options.contentType ?? MULTIPART_TYPE,
        body: body as Buffer,
      });
    const expectRefused = (answer: HttpAnswer, status: number, code: string) => {
      expect(answer.status).toBe(status);
      expect(answer.json()).toMatchObject({ status, code, data: null });
    };

    it('a file over MAX_FILE_SIZE, cut off while streaming (413)', async () => {
      await expectNothingStored(async () => {
        // Larger than one S3 part, so that with S3 a multipart upload was under way and has to be aborted.
        const answer = await post(streamedFile('big.pdf', samples.pdf(), SUITE_MAX_FILE_SIZE + 2 * 1024 * 1024));
        expectRefused(answer, 413, 'FILE_TOO_LARGE');
      });
    });

    it.each([
      ['HTML named .png', 'invoice.png', samples.html],
      ['SVG named .png', 'logo.png', samples.svg],
      ['HTML with a JPEG name and no type', 'photo.jpg', samples.html],
    ])('a spoofed type: %s (415)', async (_what, name, make) => {
      await expectNothingStored(async () => {
        const answer = await post(multipart([{ name: 'file', filename: name, contentType: 'image/png', data: make() }]));
        expectRefused(answer, 415, 'UNSUPPORTED_FILE_TYPE');
        expect(answer.json().details.detected).toBeNull();
      });
    });

    it('a form without a file part (400)', async () => {
      await expectNothingStored(async () => {
        expectRefused(await post(multipart([{ name: 'caption', data: Buffer.from('no file here') }])), 400, 'VALIDATION_ERROR');
      });
    });

    it('a body that is not a form (400)', async () => {
      await expectNothingStored(async () => {
        expectRefused(await post(Buffer.from('{"file":"x"}'), { contentType: 'application/json' }), 400, 'VALIDATION_ERROR');
      });
    });

    it('an empty file (400)', async () => {
      await expectNothingStored(async () => {
        expectRefused(await post(multipart([{ name: 'file', filename: 'empty.png', data: Buffer.alloc(0) }])), 400, 'VALIDATION_ERROR');
      });
    });

    it.each([
      ['a relative path', { filename: '../../etc/passwd.png' }],
      ['a Windows path', { filename: '..\\..\\boot.png' }],
      ['an absolute path', { filename: '/etc/cron.d/job.png' }],
      ['a dot-dot name', { filename: '..' }],
      ['a NUL byte', { filename: 'photo.png\0.html' }],
      ['a NUL byte in filename*', { filenameStar: "UTF-8''photo.png%00.html" }],
      ['a path in filename*', { filenameStar: "UTF-8''..%2F..%2Fetc%2Fpasswd" }],
      ['a control character', { filename: 'photo\u0007.png' }],
      ['no name at all', { filename: '' }],
    ])('a file name with %s (400)', async (_what, name) => {
      await expectNothingStored(async () => {
        const answer = await post(multipart([{ name: 'file', ...name, contentType: 'image/png', data: samples.png() }]));
        expectRefused(answer, 400, 'INVALID_FILE_NAME');
      });
    });

    it('an upload without a token, or with a bad one (401)', async () => {
      await expectNothingStored(async () => {
        const body = multipart([{ name: 'file', filename: 'a.png', data: samples.png() }]);
        expectRefused(await post(body, { token: null }), 401, 'AUTH_ERROR');
        expectRefused(await post(body, { token: 'not.a.jwt' }), 401, 'AUTH_ERROR');
        expectRefused(await post(body, { token: await signToken({ userId: 'uploader', expiresIn: -60 }) }), 401, 'AUTH_ERROR');
        // A big anonymous body is answered at once, without being read or forwarded.
        expectRefused(await post(streamedFile('big.pdf', samples.pdf(), 20 * 1024 * 1024), { token: null }), 401, 'AUTH_ERROR');
      });
    });
  });

  describe('messages must reference an upload of the sender', () => {
    const dave = 'dave' as UserId;
    const erin = 'erin' as UserId;
    const conversationId = conversationIdOf(dave, erin);

    it.each([
      ['without a fileId', () => undefined, 'image', 'UPLOAD_NOT_FOUND'],
      ['with an unknown fileId', () => 'c0ffee00-0000-4000-8000-000000000000', 'image', 'UPLOAD_NOT_FOUND'],
      ["with someone else's upload", (ids: Record<string, string>) => ids.erins, 'image', 'UPLOAD_NOT_FOUND'],
      ['with a PDF as an image', (ids: Record<string, string>) => ids.pdf, 'image', 'VALIDATION_ERROR'],
    ] as const)('refuses a message %s, and stores nothing', async (_what, fileIdOf, messageType, code) => {
      const ids = {
        erins: (await uploadFile(url(), await token(erin), { name: 'hers.png', data: samples.png() })).json().data.fileId,
        pdf: (await uploadFile(url(), await token(dave), { name: 'doc.pdf', data: samples.pdf() })).json().data.fileId,
      };
      const fileId = fileIdOf(ids);
      const [sd, se] = [await system.connectAs(dave), await system.connectAs(erin)];
      const toErin = collectEvents(se, 'new_message');
      const ack = await emitWithAck(sd, 'send_message', {
        conversationId,
        receiverId: erin,
        messageType,
        content: { fileUrl: `/api/common/files/${fileId ?? 'x'}`, ...(fileId ? { fileId } : {}), fileName: 'x.png', fileSize: 10 },
      });
      expect(ack).toMatchObject({ ok: false, error: { code, event: 'send_message' } });
      // A text sent after it arrives alone: the refused message was never queued.
      const text = await emitWithAck(sd, 'send_message', {
        conversationId,
        receiverId: erin,
        messageType: 'text',
        content: { text: 'after' },
      });
      expect(text.ok).toBe(true);
      await expect.poll(() => toErin.length).toBe(1);
      expect(toErin[0]!.messageType).toBe('text');
      expect(await system.messages!.store.messages.countDocuments({ conversationId, messageType: { $ne: 'text' } })).toBe(0);
    });

    it("takes the file's URL, size and type from the upload, not from the client", async () => {
      const data = samples.jpeg(500);
      const { fileId } = (await uploadFile(url(), await token(dave), { name: 'real.jpg', data })).json().data;
      const sd = await system.connectAs(dave);
      const ack = await emitWithAck(sd, 'send_message', {
        conversationId,
        receiverId: erin,
        messageType: 'image',
        content: { fileUrl: '/api/common/files/somebody-elses', fileId, fileName: 'shown.jpg', fileSize: 1, mimeType: 'image/png' },
      });
      expect(ack).toMatchObject({
        ok: true,
        data: {
          content: { fileUrl: `/api/common/files/${fileId}`, fileId, fileName: 'shown.jpg', fileSize: data.length, mimeType: 'image/jpeg' },
        },
      });
    });
  });

  describe('downloads', () => {
    it('of an unknown file answer 404, of a malformed id 400', async () => {
      const unknown = await http(url('/api/common/files/c0ffee00-0000-4000-8000-000000000000'), { token: await token('alice') });
      expect(unknown.status).toBe(404);
      expect(unknown.json()).toMatchObject({ status: 404, code: 'UPLOAD_NOT_FOUND', data: null });
      const malformed = await http(url('/api/common/files/a.b'), { token: await token('alice') });
      expect(malformed.status).toBe(400);
      expect(malformed.json()).toMatchObject({ status: 400, code: 'VALIDATION_ERROR', data: null });
    });
  });
}

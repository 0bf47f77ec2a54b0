import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser } from '@nats-io/nkeys';
import { connect, nkeyAuthenticator } from '@nats-io/transport-node';
import { Bus } from '@chat/bus';
import { conversationIdOf, type UserId } from '@chat/contracts';
import type { Gateway } from '@chat/gateway';
import type { MessagesService } from '@chat/messages';
import type { PresenceService } from '@chat/presence';
import type { UploadsService } from '@chat/uploads';
import {
  connectClient,
  createTestContext,
  emitWithAck,
  nextEvent,
  signToken,
  startNatsServer,
  waitFor,
  type OwnNatsServer,
} from '@chat/testing';
import { startTestGateway, startTestMessages, startTestPresence, startTestUploads, testLogger } from '../support/system.ts';
import { http, samples, uploadFile } from '../support/uploads.ts';

/**
 * NATS with authentication: Bus.connect with each kind of credential (right, wrong, missing) against a
 * nats-server of this file's own, and the four services end to end through deploy/nats/chat-auth.conf (an NKey
 * user per service, permissions limited to its subjects).
 */
const logger = testLogger('nats-auth');
const nkeyPair = () => {
  const pair = createUser();
  return { seed: new TextDecoder().decode(pair.getSeed()), publicKey: pair.getPublicKey() };
};

describe('Bus.connect with credentials', () => {
  const userKey = nkeyPair();
  const strangerKey = nkeyPair();
  let users: OwnNatsServer;
  let tokenServer: OwnNatsServer;
  beforeAll(async () => {
    users = await startNatsServer({
      config: `authorization { users: [ { user: chat, password: "right-password" }, { nkey: ${userKey.publicKey} } ] }`,
      files: { 'chat.nk': `${userKey.seed}\n` },
    });
    tokenServer = await startNatsServer({ config: 'authorization { token: "right-token" }' });
  });
  afterAll(async () => {
    await users?.stop();
    await tokenServer?.stop();
  });

  const connectsWith = async (url: string, auth: Parameters<typeof Bus.connect>[0]['auth']) => {
    const bus = await Bus.connect({ servers: [url], name: 'auth-test', logger, auth, connectTimeoutMs: 3000 });
    await bus.close();
  };

  it('connects with a user and password, an NKey seed (value or file), a token', async () => {
    await connectsWith(users.url, { user: 'chat', password: 'right-password' });
    await connectsWith(users.url, { nkeySeed: userKey.seed });
    await connectsWith(users.url, { nkeySeed: join(users.dir, 'chat.nk') });
    await connectsWith(tokenServer.url, { token: 'right-token' });
  });

  it('fails with a message naming what was refused', async () => {
    await expect(connectsWith(users.url, { user: 'chat', password: 'wrong' })).rejects.toThrow(
      /cannot connect to NATS at nats:\/\/127\.0\.0\.1:\d+: .*authorization violation.* \(it refused this service's user chat\)/i,
    );
    await expect(connectsWith(users.url, { nkeySeed: strangerKey.seed })).rejects.toThrow(
      /authorization violation.*refused this service's NKey seed/i,
    );
    await expect(connectsWith(tokenServer.url, { token: 'wrong-token' })).rejects.toThrow(/refused this service's token/);
  });

  it('fails without credentials, saying which settings provide them', async () => {
    await expect(connectsWith(users.url, {})).rejects.toThrow(
      /authorization violation.*\(it requires credentials: set NATS_CREDS, NATS_NKEY_SEED, NATS_USER and NATS_PASSWORD, or NATS_TOKEN\)/i,
    );
  });

  it('fails before connecting on an unreadable seed file or a value that is not a user seed', async () => {
    await expect(connectsWith(users.url, { nkeySeed: join(users.dir, 'missing.nk') })).rejects.toThrow(
      /cannot read NATS NKey seed file .*missing\.nk/,
    );
    await expect(connectsWith(users.url, { nkeySeed: join(users.dir, 'nats.conf') })).rejects.toThrow(/is not a user seed/);
    await expect(connectsWith(users.url, { credsFile: join(users.dir, 'missing.creds') })).rejects.toThrow(
      /cannot read NATS credentials file/,
    );
  });
});

/** A CA, a server certificate for 127.0.0.1 (and localhost, the name the client checks) and a client certificate, made with openssl into `dir`. */
function makeCertificates(dir: string): void {
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=test-ca', '-keyout', 'ca-key.pem', '-out', 'ca.pem');
  for (const [name, extensions] of [
    ['server', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth'],
    ['client', 'extendedKeyUsage=clientAuth'],
  ] as const) {
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${name}`, '-keyout', `${name}-key.pem`, '-out', `${name}.csr`);
    execFileSync('sh', ['-c', `printf '${extensions}\n' > ${name}.ext`], { cwd: dir });
    openssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca-key.pem',
      '-CAcreateserial',
      '-days',
      '1',
      '-extfile',
      `${name}.ext`,
      '-out',
      `${name}.pem`,
    );
  }
}

describe('Bus.connect over TLS', () => {
  let server: OwnNatsServer;
  let certs: string;
  beforeAll(async () => {
    certs = await mkdtemp(join(tmpdir(), 'nats-tls-'));
    makeCertificates(certs);
    server = await startNatsServer({
      config: `tls { cert_file: "${certs}/server.pem", key_file: "${certs}/server-key.pem", ca_file: "${certs}/ca.pem", verify: true }`,
    });
  });
  afterAll(async () => {
    await server?.stop();
    if (certs) await rm(certs, { recursive: true, force: true });
  });

  it('connects with the CA and a client certificate; fails without the certificate the server verifies', async () => {
    const bus = await Bus.connect({
      servers: [server.url],
      name: 'tls-test',
      logger,
      auth: { tls: { caFile: join(certs, 'ca.pem'), certFile: join(certs, 'client.pem'), keyFile: join(certs, 'client-key.pem') } },
    });
    await bus.close();
    await expect(
      Bus.connect({
        servers: [server.url],
        name: 'tls-test',
        logger,
        auth: { tls: { caFile: join(certs, 'ca.pem') } },
        connectTimeoutMs: 3000,
      }),
    ).rejects.toThrow(/cannot connect to NATS at nats:\/\/127\.0\.0\.1:\d+/);
  });
});

describe('the services through deploy/nats/chat-auth.conf', () => {
  const ctx = createTestContext();
  const keys = { gateway: nkeyPair(), messages: nkeyPair(), presence: nkeyPair(), uploads: nkeyPair() };
  let nats: OwnNatsServer;
  let messages: MessagesService | undefined;
  let presence: PresenceService | undefined;
  let gateway: Gateway | undefined;
  let uploads: UploadsService | undefined;
  let uploadDir: string | undefined;
  const as = (service: keyof typeof keys) => ({ NATS_URL: nats.url, NATS_NKEY_SEED: keys[service].seed });

  beforeAll(async () => {
    // The example is written for namespace `chat`; this file's namespace is its own.
    const conf = readFileSync(join(import.meta.dirname, '../../deploy/nats/chat-auth.conf'), 'utf8')
      .replaceAll('chat.', `${ctx.namespace}.`)
      .replaceAll('CHAT_COMMANDS', `${ctx.namespace.toUpperCase()}_COMMANDS`)
      .replaceAll('CHAT_EVENTS', `${ctx.namespace.toUpperCase()}_EVENTS`)
      .replaceAll('CHAT_DEADLETTER', `${ctx.namespace.toUpperCase()}_DEADLETTER`);
    nats = await startNatsServer({
      config: 'include ./chat-auth.conf',
      files: { 'chat-auth.conf': conf },
      env: Object.fromEntries(Object.entries(keys).map(([service, key]) => [`CHAT_${service.toUpperCase()}_NKEY`, key.publicKey])),
    });
    messages = await startTestMessages(ctx, as('messages'));
    presence = await startTestPresence(ctx, as('presence'));
    uploadDir = await mkdtemp(join(tmpdir(), 'chat-uploads-'));
    uploads = await startTestUploads(ctx, { ...as('uploads'), UPLOAD_DIR: uploadDir });
    gateway = await startTestGateway(ctx, { ...as('gateway'), UPLOADS_URL: uploads.url });
  });
  afterAll(async () => {
    await gateway?.stop();
    await uploads?.stop();
    if (uploadDir) await rm(uploadDir, { recursive: true, force: true });
    await presence?.stop();
    await messages?.stop();
    await nats?.stop();
    await ctx.cleanup();
  });

  it('a message and an image are sent, stored and delivered, the image downloaded, and presence answers', async () => {
    const alice = 'alice' as UserId;
    const bob = 'bob' as UserId;
    const a = await connectClient(gateway!.url, { token: await signToken({ userId: alice }) });
    const b = await connectClient(gateway!.url, { token: await signToken({ userId: bob }) });
    try {
      const arrives = nextEvent(b, 'new_message');
      const ack = await emitWithAck(a, 'send_message', {
        conversationId: conversationIdOf(alice, bob),
        receiverId: bob,
        messageType: 'text',
        content: { text: 'through an authenticated NATS' },
      });
      expect(ack.ok, JSON.stringify(ack)).toBe(true);
      expect((await arrives).content).toEqual({ text: 'through an authenticated NATS' });
      const status = await emitWithAck(a, 'get_online_status', { userId: bob });
      expect(status.ok && status.data).toMatchObject({ userId: bob, isOnline: true });
      // An image: stored by uploads (its event), checked by messages, downloaded by the receiver (uploads asks messages).
      const upload = await uploadFile(gateway!.url, await signToken({ userId: alice }), { name: 'photo.jpg', data: samples.jpeg() });
      expect(upload.status, JSON.stringify(upload.json())).toBe(200);
      const { fileId, fileName, fileSize, fileUrl } = upload.json().data;
      const image = await emitWithAck(a, 'send_message', {
        conversationId: conversationIdOf(alice, bob),
        receiverId: bob,
        messageType: 'image',
        content: { fileId, fileName, fileSize, fileUrl },
      });
      expect(image.ok, JSON.stringify(image)).toBe(true);
      const download = await http(`${gateway!.url}/api/common/files/${fileId}`, { token: await signToken({ userId: bob }) });
      expect(download.status).toBe(200);
      // Nothing a service did was refused (the server logs every permissions violation: the last test shows it).
      expect(nats.log()).not.toMatch(/violation/i);
    } finally {
      a.disconnect();
      b.disconnect();
    }
  });

  it('refuses a connection without credentials, and a service publishing outside its subjects', async () => {
    await expect(Bus.connect({ servers: [nats.url], name: 'intruder', logger, connectTimeoutMs: 3000 })).rejects.toThrow(
      /requires credentials/,
    );
    // The presence service's identity may not queue send commands (only the gateway's may).
    const nc = await connect({ servers: nats.url, authenticator: nkeyAuthenticator(new TextEncoder().encode(keys.presence.seed)) });
    try {
      await expect(nc.request(`${ctx.namespace}.cmd.conv.0.x.send`, 'forged', { timeout: 3000 })).rejects.toThrow(/permissions violation/i);
      // …and the server logs it, as the first test would have shown for anything the services did.
      await waitFor(() => new RegExp(`Publish Violation - Subject "${ctx.namespace}\\.cmd\\.conv`).test(nats.log()));
    } finally {
      await nc.close();
    }
  });
});

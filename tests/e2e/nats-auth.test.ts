import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser } from '@nats-io/nkeys';
import { connect, nkeyAuthenticator } from '@nats-io/transport-node';
import { Bus } from '@chat/bus';
import { conversationIdOf, type UserId } from '@chat/contracts';
import type { Gateway } from '@chat/gateway';
import type { MessagesService } from '@chat/messages';
import type { PresenceService } from '@chat/presence';
import { connectClient, createTestContext, emitWithAck, nextEvent, signToken, startNatsServer, waitFor, type OwnNatsServer } from '@chat/testing';
import { startTestGateway, startTestMessages, startTestPresence, testLogger } from '../support/system.ts';

/**
 * NATS with authentication: Bus.connect with each kind of credential (right, wrong, missing) against a
 * nats-server of this file's own, and the services end to end through deploy/nats/chat-auth.conf (a user per
 * service, permissions limited to its subjects).
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
    await expect(connectsWith(users.url, { nkeySeed: strangerKey.seed })).rejects.toThrow(/authorization violation.*refused this service's NKey seed/i);
    await expect(connectsWith(tokenServer.url, { token: 'wrong-token' })).rejects.toThrow(/refused this service's token/);
  });

  it('fails without credentials, saying which settings provide them', async () => {
    await expect(connectsWith(users.url, {})).rejects.toThrow(
      /authorization violation.*\(it requires credentials: set NATS_CREDS, NATS_NKEY_SEED, NATS_USER and NATS_PASSWORD, or NATS_TOKEN\)/i,
    );
  });

  it('fails before connecting on an unreadable seed file or a value that is not a user seed', async () => {
    await expect(connectsWith(users.url, { nkeySeed: join(users.dir, 'missing.nk') })).rejects.toThrow(/cannot read NATS NKey seed file .*missing\.nk/);
    await expect(connectsWith(users.url, { nkeySeed: join(users.dir, 'nats.conf') })).rejects.toThrow(/is not a user seed/);
    await expect(connectsWith(users.url, { credsFile: join(users.dir, 'missing.creds') })).rejects.toThrow(/cannot read NATS credentials file/);
  });
});

describe('the services through deploy/nats/chat-auth.conf', () => {
  const ctx = createTestContext();
  const keys = { gateway: nkeyPair(), messages: nkeyPair(), presence: nkeyPair(), uploads: nkeyPair() };
  let nats: OwnNatsServer;
  let messages: MessagesService | undefined;
  let presence: PresenceService | undefined;
  let gateway: Gateway | undefined;
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
    gateway = await startTestGateway(ctx, as('gateway'));
  });
  afterAll(async () => {
    await gateway?.stop();
    await presence?.stop();
    await messages?.stop();
    await nats?.stop();
    await ctx.cleanup();
  });

  it('a message is sent, stored and delivered, and presence answers', async () => {
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
      // Nothing a service did was refused (the server logs every permissions violation: the last test shows it).
      expect(nats.log()).not.toMatch(/violation/i);
    } finally {
      a.disconnect();
      b.disconnect();
    }
  });

  it('refuses a connection without credentials, and a service publishing outside its subjects', async () => {
    await expect(Bus.connect({ servers: [nats.url], name: 'intruder', logger, connectTimeoutMs: 3000 })).rejects.toThrow(/requires credentials/);
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

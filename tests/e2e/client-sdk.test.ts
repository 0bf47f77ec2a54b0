import { afterEach, describe, expect, it } from 'vitest';
import {
  ChatClient,
  MemoryStorage,
  type ChatClientOptions,
  type ConnectionState,
  type Message,
  type PresenceStatus,
  type TypingEvent,
} from '@chat/client';
import type { ConversationId } from '@chat/contracts';
import { signToken, waitFor } from '@chat/testing';
import { startTestGateway, useSystem } from '../support/system.ts';

/** The SDK (`libs/client`) against real gateways, messages and presence services. */
const system = useSystem({ presence: true });
const clients: ChatClient[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) await client.close();
});

async function clientOf(userId: string, options: Partial<ChatClientOptions> = {}): Promise<ChatClient> {
  const client = new ChatClient({ urls: [system.gateway.url], token: await signToken({ userId }), ...options });
  clients.push(client);
  return client;
}

const conversation = (a: string, b: string) => [a, b].sort().join('_');
const texts = (client: ChatClient, conversationId: string) =>
  client.timeline(conversationId).messages.map((m) => (m.messageType === 'text' ? m.content.text : m.messageType));
const seqs = (client: ChatClient, conversationId: string) => client.timeline(conversationId).messages.map((m) => m.seq);
const contiguous = (values: number[]) => values.every((seq, i) => i === 0 || seq === values[i - 1]! + 1);

describe('the client SDK', () => {
  it('sends and receives both ways, matches the stored message to the optimistic one, and sees receipts', async () => {
    const alice = await clientOf('sdk-alice');
    const bob = await clientOf('sdk-bob');
    await Promise.all([alice.connect(), bob.connect()]);
    const conversationId = conversation('sdk-alice', 'sdk-bob');

    const received: Message[] = [];
    bob.on('message', (message) => received.push(message));
    const sent = alice.sendText(conversationId, 'hello bob');
    // Shown at once, before the server answers.
    expect(alice.timeline(conversationId).pending.map((p) => p.clientMessageId)).toEqual([sent.clientMessageId]);
    const result = await sent.result;
    if (!result.ok) throw new Error(result.error.code);
    expect(result.message).toMatchObject({ clientMessageId: sent.clientMessageId, senderId: 'sdk-alice', receiverId: 'sdk-bob' });
    expect(alice.timeline(conversationId).items()).toEqual([
      { kind: 'message', message: expect.objectContaining({ _id: result.message._id }) },
    ]);
    expect(alice.outbox).toEqual([]);

    await waitFor(() => received.length === 1);
    expect(received[0]).toMatchObject({ _id: result.message._id, clientMessageId: sent.clientMessageId });
    // Bob's device acknowledged it (deliveryAcks), so Alice hears it was delivered.
    await waitFor(() => alice.timeline(conversationId).get(result.message._id)?.status === 'delivered');

    const reply = await bob.sendText(conversationId, 'hello alice').result;
    expect(reply.ok).toBe(true);
    await waitFor(() => alice.timeline(conversationId).messages.length === 2);
    expect(texts(alice, conversationId)).toEqual(['hello bob', 'hello alice']);
    expect(texts(bob, conversationId)).toEqual(['hello bob', 'hello alice']);

    const read = await bob.markRead(conversationId, result.message.seq);
    expect(read.ok).toBe(true);
    await waitFor(() => alice.timeline(conversationId).get(result.message._id)?.status === 'read');
  });

  it('types and watches presence, the watch coming back after a reconnect', async () => {
    const gateway = await startTestGateway(system.ctx);
    const carol = await clientOf('sdk-carol', { urls: [gateway.url, system.gateway.url] });
    const dave = await clientOf('sdk-dave');
    await Promise.all([carol.connect(), dave.connect()]);
    const conversationId = conversation('sdk-carol', 'sdk-dave');
    // Partners once a message is stored.
    expect((await carol.sendText(conversationId, 'hi').result).ok).toBe(true);

    const typing: TypingEvent[] = [];
    dave.on('typing', (event) => typing.push(event));
    carol.typing(conversationId);
    carol.typing(conversationId);
    await waitFor(() => typing.some((e) => e.isTyping && e.userId === 'sdk-carol'));

    const statuses: PresenceStatus[] = [];
    carol.on('presence', (status) => statuses.push(status));
    carol.watch('sdk-dave');
    await waitFor(() => statuses.some((s) => s.userId === 'sdk-dave' && s.isOnline));

    // Carol's gateway goes away: she reconnects to the other one and is told Dave's status again, and his changes.
    const log: string[] = [];
    carol.on('state', (state) => log.push(state));
    carol.on('presence', (status) => log.push(`${status.userId}:${status.isOnline}`));
    await gateway.stop();
    await waitFor(() => log.slice(log.indexOf('offline')).join(' ').includes('online sdk-dave:true'));
    await dave.close();
    await waitFor(() => statuses.at(-1)?.isOnline === false);
  });

  it('loses nothing and shows nothing twice when its gateway stops mid-conversation with sends queued', { timeout: 60_000 }, async () => {
    const doomed = await startTestGateway(system.ctx);
    const erin = await clientOf('sdk-erin', { urls: [doomed.url, system.gateway.url] });
    const frank = await clientOf('sdk-frank');
    await Promise.all([erin.connect(), frank.connect()]);
    const conversationId = conversation('sdk-erin', 'sdk-frank');
    const frankSaw: string[] = [];
    frank.on('message', (m) => frankSaw.push(m._id));

    const before = await Promise.all([1, 2, 3].map((i) => erin.sendText(conversationId, `before ${i}`).result));
    expect(before.every((r) => r.ok)).toBe(true);
    const reply = await frank.sendText(conversationId, 'reply 1').result;
    expect(reply.ok).toBe(true);

    const states: ConnectionState[] = [];
    erin.on('state', (state) => states.push(state));
    const stopped = doomed.stop();
    const during = [1, 2, 3, 4, 5].map((i) => erin.sendText(conversationId, `during ${i}`));
    await stopped;
    const after = [1, 2].map((i) => erin.sendText(conversationId, `after ${i}`));
    const results = await Promise.all([...during, ...after].map((s) => s.result));
    expect(results.map((r) => r.ok)).toEqual(Array(7).fill(true));
    for (const [i, r] of results.entries()) expect(r.ok && r.message.clientMessageId).toBe([...during, ...after][i]!.clientMessageId);

    const expected = ['before 1', 'before 2', 'before 3', 'reply 1', ...[1, 2, 3, 4, 5].map((i) => `during ${i}`), 'after 1', 'after 2'];
    // She did lose her gateway, and came back on the other one.
    expect(states).toContain('offline');
    expect(erin.state).toBe('online');
    await waitFor(() => frank.timeline(conversationId).messages.length === expected.length);
    for (const client of [erin, frank]) {
      // One send in flight per conversation: stored in the order written, even those sent at once.
      expect(texts(client, conversationId)).toEqual(expected);
      expect(contiguous(seqs(client, conversationId))).toBe(true);
      expect(client.timeline(conversationId).pending).toEqual([]);
    }
    expect(new Set(frankSaw).size).toBe(frankSaw.length);
    expect(erin.outbox).toEqual([]);
    expect(await system.messages!.store.messages.countDocuments({ conversationId: conversationId as ConversationId })).toBe(
      expected.length,
    );
  });

  it('sends after a reload what the previous session could not', async () => {
    const storage = new MemoryStorage();
    const offline = await clientOf('sdk-gina', { urls: ['http://127.0.0.1:9'], storage });
    void offline.connect().catch(() => undefined);
    const conversationId = conversation('sdk-gina', 'sdk-hank');
    const queued = [offline.sendText(conversationId, 'one'), offline.sendText(conversationId, 'two')];
    await offline.close();

    const hank = await clientOf('sdk-hank');
    await hank.connect();
    const reloaded = await clientOf('sdk-gina', { storage });
    const sent: Message[] = [];
    reloaded.on('sent', (m) => sent.push(m));
    await reloaded.connect();
    expect(reloaded.timeline(conversationId).pending.length + reloaded.timeline(conversationId).messages.length).toBe(2);
    await waitFor(() => sent.length === 2);
    expect(sent.map((m) => m.clientMessageId)).toEqual(queued.map((q) => q.clientMessageId));
    await waitFor(() => hank.timeline(conversationId).messages.length === 2);
    expect(texts(hank, conversationId)).toEqual(['one', 'two']);
    expect(reloaded.outbox).toEqual([]);
  });

  it('catches a second device up on connect with what the first one received', async () => {
    const conversationId = conversation('sdk-ivan', 'sdk-jane');
    const jane = await clientOf('sdk-jane');
    const ivanPhone = await clientOf('sdk-ivan');
    await Promise.all([jane.connect(), ivanPhone.connect()]);
    for (const text of ['a', 'b', 'c']) expect((await jane.sendText(conversationId, text).result).ok).toBe(true);
    await waitFor(() => ivanPhone.timeline(conversationId).messages.length === 3);
    // Ivan's phone acknowledged them: they are delivered, so nothing will replay them to another device.
    await waitFor(() => jane.timeline(conversationId).messages.every((m) => m.status === 'delivered'));

    const ivanLaptop = await clientOf('sdk-ivan');
    ivanLaptop.timeline(conversationId);
    await ivanLaptop.connect();
    await waitFor(() => ivanLaptop.timeline(conversationId).messages.length === 3);
    expect(texts(ivanLaptop, conversationId)).toEqual(['a', 'b', 'c']);

    // Live from here on, the phone's own sends included (pushed, or synced once the next message shows a gap).
    expect((await ivanPhone.sendText(conversationId, 'd').result).ok).toBe(true);
    expect((await jane.sendText(conversationId, 'e').result).ok).toBe(true);
    await waitFor(() => ivanLaptop.timeline(conversationId).messages.length === 5);
    expect(texts(ivanLaptop, conversationId)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(contiguous(seqs(ivanLaptop, conversationId))).toBe(true);
  });

  it('refreshes its token before exp, and reconnects with a fresh one after the server ends an expired socket', {
    timeout: 30_000,
  }, async () => {
    let refreshes = 0;
    const refreshToken = async () => {
      refreshes += 1;
      return signToken({ userId: 'sdk-kate', expiresIn: 3600 });
    };
    const early = await clientOf('sdk-kate', {
      token: await signToken({ userId: 'sdk-kate', expiresIn: 3 }),
      refreshToken,
      refreshBeforeExpMs: 2_000,
    });
    const earlyStates: ConnectionState[] = [];
    early.on('state', (state) => earlyStates.push(state));
    await early.connect();
    await waitFor(() => refreshes === 1);
    const expiredAt = Date.now() + 4_000;
    await waitFor(() => Date.now() > expiredAt, { timeoutMs: 10_000 });
    expect(earlyStates).not.toContain('offline');
    expect((await early.sendText(conversation('sdk-kate', 'sdk-liam'), 'still here').result).ok).toBe(true);

    // Asked to refresh only after exp: the server says `token_expired`, disconnects, and the client comes back.
    const late = await clientOf('sdk-kate', {
      token: await signToken({ userId: 'sdk-kate', expiresIn: 2 }),
      refreshToken,
      refreshBeforeExpMs: -60_000,
    });
    const lateStates: ConnectionState[] = [];
    const errors: string[] = [];
    late.on('state', (state) => lateStates.push(state));
    late.on('error', (error) => errors.push(`${error.code}:${(error.details as { reason?: string } | undefined)?.reason}`));
    await late.connect();
    await waitFor(() => lateStates.includes('offline') && late.state === 'online', { timeoutMs: 15_000 });
    expect(errors).toContain('AUTH_ERROR:token_expired');
    expect((await late.sendText(conversation('sdk-kate', 'sdk-liam'), 'back again').result).ok).toBe(true);
  });

  it('gives up, with the reason, when its token is refused and it has no way to get another', async () => {
    const client = await clientOf('sdk-mo', { token: await signToken({ userId: 'sdk-mo', expiresIn: -10 }) });
    const errors: string[] = [];
    client.on('error', (error) => errors.push(`${error.code}:${(error.details as { reason?: string } | undefined)?.reason}`));
    await expect(client.connect()).rejects.toThrow(/closed/);
    expect(client.state).toBe('closed');
    expect(errors).toEqual(['AUTH_ERROR:token_expired']);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MongoClient } from 'mongodb';
import { conversationIdOf, type Ack, type Message, type UserId } from '@chat/contracts';
import { collectEvents, connectClient, createTestContext, emitWithAck, signToken, waitFor, type ChatClient } from '@chat/testing';
import { serviceEnv } from '../support/system.ts';
import { spawnGateway, spawnMessages, type ServiceProcess } from '../support/processes.ts';

/**
 * The whole system as separate processes — two gateways, two messages replicas — with 1,000 messages in flight
 * while every messages replica is killed (SIGKILL) and new ones started.
 */
const ctx = createTestContext();
const env = serviceEnv(ctx, { COMMAND_ACK_WAIT_MS: '2000', SEND_ACK_TIMEOUT_MS: '120000' });
const processes: ServiceProcess[] = [];
const clients: ChatClient[] = [];
let mongo: MongoClient;

const PAIRS = 10;
const PER_SENDER = 100;

let replicas: ServiceProcess[];
let gatewayA: ServiceProcess & { url: string };
let gatewayB: ServiceProcess & { url: string };

beforeAll(async () => {
  mongo = await new MongoClient(ctx.mongoUrl).connect();
  replicas = await Promise.all([spawnMessages(env), spawnMessages(env)]);
  [gatewayA, gatewayB] = await Promise.all([spawnGateway(env), spawnGateway(env)]);
  processes.push(...replicas, gatewayA, gatewayB);
});

afterAll(async () => {
  for (const client of clients) client.disconnect();
  await Promise.all(processes.map((p) => p.kill('SIGTERM')));
  await mongo?.close();
  await ctx.cleanup();
});

async function connect(url: string, userId: string): Promise<ChatClient> {
  const client = await connectClient(url, { token: await signToken({ userId }) });
  clients.push(client);
  return client;
}

describe('across two gateway processes and two messages replicas', () => {
  it('delivers, receipts, catches up and answers REST for users on different gateways', async () => {
    const a = 'across-a' as UserId;
    const b = 'across-b' as UserId;
    const conversationId = conversationIdOf(a, b);
    const sa = await connect(gatewayA.url, a);
    const deliveredToA = collectEvents(sa, 'message_delivered');

    // b is offline: the messages wait for b's next connect, on the other gateway.
    const sent: string[] = [];
    for (let i = 1; i <= 5; i++) {
      const ack = await emitWithAck(sa, 'send_message', { conversationId, receiverId: b, messageType: 'text', content: { text: `x${i}` } });
      if (!ack.ok) throw new Error(ack.error.message);
      sent.push(ack.data._id);
    }
    const sb = await connectClient(gatewayB.url, { token: await signToken({ userId: b }), wait: false });
    clients.push(sb);
    const receivedByB = collectEvents(sb, 'new_message');
    await waitFor(() => receivedByB.length === 5 && deliveredToA.length === 5);
    expect(receivedByB.map((m) => m._id)).toEqual(sent);

    // Read on gateway B, heard on gateway A.
    const readByA = collectEvents(sa, 'message_read');
    expect((await emitWithAck(sb, 'mark_as_read', { conversationId, upToSeq: 4 })).ok).toBe(true);
    await waitFor(() => readByA.length === 1);
    expect(readByA[0]).toMatchObject({ readBy: b, upToSeq: 4, conversationId });

    const response = await fetch(`${gatewayB.url}/api/chat/conversations`, {
      headers: { authorization: `Bearer ${await signToken({ userId: b })}` },
    });
    const list = (await response.json()) as { data: Array<{ _id: string; unreadCount: number; lastSeq: number }> };
    expect(list.data).toEqual([expect.objectContaining({ _id: conversationId, unreadCount: 1, lastSeq: 5 })]);

    // Another message type, live across gateways; then a device catching up with sync_messages, and the
    // history with a cursor from the other gateway.
    const offer = { offerAmount: 120, currency: 'EUR', offerDetails: { days: 2 } };
    const offerAck = await emitWithAck(sa, 'send_message', { conversationId, receiverId: b, messageType: 'offer', content: offer });
    expect(offerAck.ok).toBe(true);
    await waitFor(() => receivedByB.length === 6);
    expect(receivedByB[5]).toMatchObject({ messageType: 'offer', content: offer, seq: 6 });
    const sync = await emitWithAck(sb, 'sync_messages', { conversationId, afterSeq: 4 });
    expect(sync.ok && sync.data.messages.map((m) => m.seq)).toEqual([5, 6]);
    const history = await fetch(`${gatewayA.url}/api/chat/conversations/${conversationId}/messages?before=3`, {
      headers: { authorization: `Bearer ${await signToken({ userId: b })}` },
    });
    const page = (await history.json()) as { data: { messages: Array<{ seq: number }>; hasMore: boolean } };
    expect(page.data.messages.map((m) => m.seq)).toEqual([1, 2]);
    expect(page.data.hasMore).toBe(false);
  });
});

describe('1,000 messages in flight while the messages service is killed and restarted', () => {
  it('loses none, duplicates none, keeps each conversation in order and counts unread exactly', { timeout: 240_000 }, async () => {
    const pairs = await Promise.all(
      Array.from({ length: PAIRS }, async (_, i) => {
        const sender = `sender${i}` as UserId;
        const receiver = `receiver${i}` as UserId;
        const senderSocket = await connect(gatewayA.url, sender);
        const receiverSocket = await connect(gatewayB.url, receiver);
        return {
          sender,
          receiver,
          conversationId: conversationIdOf(sender, receiver),
          senderSocket,
          received: collectEvents(receiverSocket, 'new_message'),
          delivered: collectEvents(senderSocket, 'message_delivered'),
        };
      }),
    );

    // Every sender fires all of its messages at once, in order.
    const acks: Array<Promise<Ack<Message>>> = [];
    for (let n = 0; n < PER_SENDER; n++) {
      for (const { senderSocket, conversationId, receiver } of pairs) {
        acks.push(
          emitWithAck(
            senderSocket,
            'send_message',
            { conversationId, receiverId: receiver, messageType: 'text', content: { text: String(n) }, clientMessageId: `m${n}` },
            120_000,
          ),
        );
      }
    }

    const messages = mongo.db().collection('messages');
    const ours = { conversationId: { $in: pairs.map((p) => p.conversationId) } };
    // Kill as soon as storing has begun: the batched pipeline stores the 1,000 in about a second, so a later kill
    // could find them all stored (and test nothing in flight).
    await waitFor(async () => (await messages.countDocuments(ours)) >= 20, { timeoutMs: 60_000, intervalMs: 5 });
    await Promise.all(replicas.map((replica) => replica.kill('SIGKILL')));
    const storedAtKill = await messages.countDocuments(ours);
    processes.push(...(await Promise.all([spawnMessages(env), spawnMessages(env)])));

    const answers = await Promise.all(acks);
    expect(answers.filter((a) => !a.ok)).toEqual([]);
    expect(storedAtKill).toBeLessThan(PAIRS * PER_SENDER);

    // One more message per pair: once it arrives, any repeat of the earlier ones would have arrived too.
    for (const { senderSocket, conversationId, receiver } of pairs) {
      const barrier = await emitWithAck(senderSocket, 'send_message', {
        conversationId,
        receiverId: receiver,
        messageType: 'text',
        content: { text: 'end' },
      });
      expect(barrier.ok).toBe(true);
    }
    await waitFor(() => pairs.every((p) => p.received.some((m) => m.content.text === 'end')), { timeoutMs: 60_000 });

    expect(await messages.countDocuments(ours)).toBe(PAIRS * (PER_SENDER + 1));
    const expectedTexts = [...Array.from({ length: PER_SENDER }, (_, n) => String(n)), 'end'];
    for (const { conversationId, receiver, received } of pairs) {
      // Stored once each, in send order.
      const stored = await messages.find({ conversationId }).sort({ seq: 1 }).toArray();
      expect(stored.map((m) => (m.content as { text: string }).text)).toEqual(expectedTexts);
      // Shown to the receiver once each, in the same order.
      expect(received.map((m) => m.content.text)).toEqual(expectedTexts);
      const seqs = received.map((m) => m.seq);
      expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
      // Unread count exact (the conversation is written after the deliveries go out).
      await waitFor(
        async () =>
          (
            await mongo
              .db()
              .collection('conversations')
              .findOne({ _id: conversationId as never })
          )?.appliedSeq === stored.at(-1)?.seq,
      );
      const conversation = await mongo
        .db()
        .collection('conversations')
        .findOne({ _id: conversationId as never });
      expect(conversation?.unreadCount).toEqual({ [receiver]: PER_SENDER + 1 });
    }
    // Each message reached the receiver's device, and each sender heard so.
    try {
      await waitFor(() => pairs.every((p) => new Set(p.delivered.map((d) => d.messageId)).size === PER_SENDER + 1), { timeoutMs: 60_000 });
    } catch (error) {
      const diag = [];
      for (const p of pairs) {
        const got = new Set(p.delivered.map((d) => d.messageId));
        const stored = await messages.find({ conversationId: p.conversationId }).sort({ seq: 1 }).toArray();
        const missing = stored.filter((m) => !got.has(m._id.toHexString())).map((m) => m.seq);
        const conv = await mongo
          .db()
          .collection('conversations')
          .findOne({ _id: p.conversationId as never });
        diag.push({
          c: p.conversationId,
          missing,
          members: conv?.members,
          applied: conv?.appliedSeq,
          last: conv?.lastSeq,
          rev: conv?.rev,
          delivered: p.delivered.slice(-3),
        });
      }
      const { writeFileSync } = await import('node:fs');
      writeFileSync(
        '/tmp/durability-diag.json',
        JSON.stringify(
          {
            diag,
            logs: processes.map((p) =>
              p
                .output()
                .split('\n')
                .filter((l) => /owner|warn|error|WARN|ERROR|"level":[45]/.test(l))
                .slice(-60),
            ),
          },
          null,
          1,
        ),
      );
      throw error;
    }
  });
});

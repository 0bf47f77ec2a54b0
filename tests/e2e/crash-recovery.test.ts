import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MongoClient } from 'mongodb';
import { conversationIdOf, type UserId } from '@chat/contracts';
import { collectEvents, emitWithAck, waitFor } from '@chat/testing';
import { serviceEnv, useSystem } from '../support/system.ts';
import { spawnService, type ServiceProcess } from '../support/processes.ts';

/**
 * The messages service is killed (SIGKILL, by a failpoint) at the worst moments of handling a send; JetStream
 * redelivers the unacknowledged command to the next instance, which must finish the work without storing,
 * counting or delivering anything twice.
 */
const system = useSystem({ messages: false, gateway: { SEND_ACK_TIMEOUT_MS: '20000' } });
const processes: ServiceProcess[] = [];
let mongo: MongoClient;

async function startMessages(failpoints?: string): Promise<ServiceProcess> {
  const env = serviceEnv(system.ctx, {
    COMMAND_ACK_WAIT_MS: '1000',
    LOG_LEVEL: 'info',
    LOG_FORMAT: 'json',
    ...(failpoints ? { FAILPOINTS: failpoints } : {}),
  });
  const service = spawnService('messages', env);
  processes.push(service);
  await service.waitForLog('messages service started');
  return service;
}

beforeAll(async () => {
  mongo = await new MongoClient(system.ctx.mongoUrl).connect();
});

afterEach(async () => {
  await Promise.all(processes.splice(0).map((p) => p.kill('SIGKILL')));
});

afterAll(async () => {
  await mongo?.close();
});

describe.each([
  ['after storing, before the deliveries', 'send.after-store'],
  ['after the deliveries and created events, before applying to the conversation', 'send.after-deliver'],
  ['after applying to the conversation, before the receipts and acks', 'send.after-apply'],
  ['after everything, before acking', 'send.before-ack'],
])('messages service killed %s', (_label, failpoint) => {
  it('leaves exactly one message, one unread count and one delivery', async () => {
    const sender = `s-${failpoint.replace(/\W/g, '')}` as UserId;
    const receiver = `r-${failpoint.replace(/\W/g, '')}` as UserId;
    const conversationId = conversationIdOf(sender, receiver);
    const a = await system.connectAs(sender);
    const b = await system.connectAs(receiver);
    const delivered = collectEvents(b, 'new_message');
    const receipts = collectEvents(a, 'message_delivered');

    const doomed = await startMessages(`${failpoint}=kill`);
    const ack = emitWithAck(
      a,
      'send_message',
      { conversationId, receiverId: receiver, messageType: 'text', content: { text: 'survives a crash' }, clientMessageId: 'crash-1' },
      30_000,
    );
    expect(await doomed.exited).toBe('SIGKILL');

    await startMessages();
    const answer = await ack;
    expect(answer.ok).toBe(true);

    // A later message of the same conversation is handled after the redelivered one: once it has arrived,
    // any repeated delivery of the first would have arrived before it.
    const sentinel = await emitWithAck(a, 'send_message', {
      conversationId,
      receiverId: receiver,
      messageType: 'text',
      content: { text: 'after' },
    });
    expect(sentinel.ok).toBe(true);
    await waitFor(() => delivered.some((m) => m.content.text === 'after'));
    // Its receipt is a later command of the conversation: once the sender hears it, the sentinel is applied.
    await waitFor(() => sentinel.ok && receipts.some((r) => r.messageId === sentinel.data._id));

    const db = mongo.db();
    expect(await db.collection('messages').countDocuments({ conversationId })).toBe(2);
    const conversation = await db.collection('conversations').findOne({ _id: conversationId as never });
    expect(conversation?.unreadCount).toEqual({ [receiver]: 2 });
    expect(delivered.map((m) => m.content.text)).toEqual(['survives a crash', 'after']);
    if (answer.ok) expect(delivered[0]!._id).toBe(answer.data._id);
  });
});

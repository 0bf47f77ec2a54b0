import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { conversationIdOf, type UserId } from '@chat/contracts';
import type { Gateway } from '@chat/gateway';
import type { MessagesService } from '@chat/messages';
import {
  collectEvents,
  connectClient,
  createTestContext,
  emitWithAck,
  nextEvent,
  signToken,
  waitFor,
  type ChatClient,
} from '@chat/testing';
import { startTestGateway, startTestMessages } from '../support/system.ts';

const ctx = createTestContext();
let gateway: Gateway;
let messages: MessagesService;
const clients: ChatClient[] = [];

const alice = 'alice' as UserId;
const bob = 'bob' as UserId;
const conversationId = conversationIdOf(alice, bob);

async function connectAs(userId: string): Promise<ChatClient> {
  const client = await connectClient(gateway.url, { token: await signToken({ userId }) });
  clients.push(client);
  await nextEvent(client, 'authenticated').catch(() => undefined);
  return client;
}

beforeAll(async () => {
  messages = await startTestMessages(ctx);
  gateway = await startTestGateway(ctx);
});

afterEach(() => {
  for (const client of clients.splice(0)) client.disconnect();
});

afterAll(async () => {
  await gateway?.stop();
  await messages?.stop();
  await ctx.cleanup();
});

describe('send_message', () => {
  it('stores the message once, delivers it to the receiver and acks the sender with it', async () => {
    const a = await connectAs(alice);
    const b = await connectAs(bob);
    const received = nextEvent(b, 'new_message');

    const ack = await emitWithAck(a, 'send_message', {
      conversationId,
      receiverId: bob,
      messageType: 'text',
      content: { text: 'Hello!' },
    });

    expect(ack.ok).toBe(true);
    if (!ack.ok) return;
    const message = await received;
    expect(message._id).toBe(ack.data._id);
    expect(message).toMatchObject({ conversationId, senderId: alice, receiverId: bob, content: { text: 'Hello!' }, status: 'sent' });
    expect(Date.parse(message.timestamp)).not.toBeNaN();

    const stored = await messages.store.messages.find({ conversationId }).toArray();
    expect(stored).toHaveLength(1);
    expect(stored[0]!._id.toHexString()).toBe(message._id);
    const conversation = await messages.store.conversations.findOne({ _id: conversationId });
    expect(conversation?.unreadCount).toEqual({ bob: 1 });
    expect(conversation?.lastMessage?.text).toBe('Hello!');
  });

  it('stores a resend with the same clientMessageId once and acks both with the same message', async () => {
    const a = await connectAs('carol');
    const b = await connectAs('dave');
    const conversation = conversationIdOf('carol' as UserId, 'dave' as UserId);
    const seenByDave = collectEvents(b, 'new_message');
    const payload = { conversationId: conversation, receiverId: 'dave', messageType: 'text' as const, content: { text: 'once' }, clientMessageId: 'c-1' };

    const first = await emitWithAck(a, 'send_message', payload);
    const second = await emitWithAck(a, 'send_message', payload);

    expect(first.ok && second.ok).toBe(true);
    if (!first.ok || !second.ok) return;
    expect(second.data._id).toBe(first.data._id);
    expect(await messages.store.messages.countDocuments({ conversationId: conversation })).toBe(1);
    const doc = await messages.store.conversations.findOne({ _id: conversation });
    expect(doc?.unreadCount).toEqual({ dave: 1 });
    await waitFor(() => seenByDave.length >= 1);
    expect(seenByDave.map((m) => m._id)).toEqual([first.data._id]);
  });
});

import { describe, expect, it } from 'vitest';
import { conversationIdOf, type UserId } from '@chat/contracts';
import { collectEvents, emitWithAck, nextEvent, waitFor } from '@chat/testing';
import { useSystem } from '../support/system.ts';

const system = useSystem();
const store = () => system.messages!.store;

const alice = 'alice' as UserId;
const bob = 'bob' as UserId;
const conversationId = conversationIdOf(alice, bob);

describe('send_message', () => {
  it('stores the message once, delivers it to the receiver and acks the sender with it', async () => {
    const a = await system.connectAs(alice);
    const b = await system.connectAs(bob);
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
    expect(message).toMatchObject({
      conversationId,
      senderId: alice,
      receiverId: bob,
      content: { text: 'Hello!' },
      status: 'sent',
      seq: 1,
    });
    expect(Date.parse(message.timestamp)).not.toBeNaN();

    const stored = await store().messages.find({ conversationId }).toArray();
    expect(stored).toHaveLength(1);
    expect(stored[0]!._id.toHexString()).toBe(message._id);
    // The conversation is written after the deliveries go out.
    await waitFor(async () => (await store().conversations.findOne({ _id: conversationId }))?.appliedSeq === 1);
    const conversation = await store().conversations.findOne({ _id: conversationId });
    expect(conversation?.unreadCount).toEqual({ bob: 1 });
    expect(conversation?.lastMessage?.text).toBe('Hello!');
  });

  it('stores a resend with the same clientMessageId once and acks both with the same message', async () => {
    const a = await system.connectAs('carol');
    const b = await system.connectAs('dave');
    const conversation = conversationIdOf('carol' as UserId, 'dave' as UserId);
    const seenByDave = collectEvents(b, 'new_message');
    const payload = {
      conversationId: conversation,
      receiverId: 'dave',
      messageType: 'text' as const,
      content: { text: 'once' },
      clientMessageId: 'c-1',
    };

    const first = await emitWithAck(a, 'send_message', payload);
    const second = await emitWithAck(a, 'send_message', payload);

    expect(first.ok && second.ok).toBe(true);
    if (!first.ok || !second.ok) return;
    expect(second.data._id).toBe(first.data._id);
    expect(await store().messages.countDocuments({ conversationId: conversation })).toBe(1);
    await waitFor(async () => (await store().conversations.findOne({ _id: conversation }))?.appliedSeq === 1);
    const doc = await store().conversations.findOne({ _id: conversation });
    expect(doc?.unreadCount).toEqual({ dave: 1 });
    // A later message arrives after any repeat of the first would have.
    const later = await emitWithAck(a, 'send_message', { ...payload, clientMessageId: 'c-2', content: { text: 'later' } });
    expect(later.ok).toBe(true);
    await waitFor(() => seenByDave.length >= 2);
    expect(seenByDave.map((m) => m.content.text)).toEqual(['once', 'later']);
  });

  it('reaches every socket of both users once, across gateways, joined to the room or not', async () => {
    const otherGateway = await system.addGateway();
    const erin = 'erin' as UserId;
    const frank = 'frank' as UserId;
    const conversation = conversationIdOf(erin, frank);
    const erinPhone = await system.connectAs(erin);
    const erinLaptop = await system.connectAs(erin, otherGateway);
    const frankPhone = await system.connectAs(frank, otherGateway);
    const frankLaptop = await system.connectAs(frank, otherGateway);
    // In the conversation room and in the user room: still one copy.
    expect((await emitWithAck(frankPhone, 'join_conversation', { conversationId: conversation, userId: frank })).ok).toBe(true);
    expect((await emitWithAck(erinPhone, 'join_conversation', { conversationId: conversation })).ok).toBe(true);
    const sockets = { erinPhone, erinLaptop, frankPhone, frankLaptop };
    const seen = Object.fromEntries(Object.entries(sockets).map(([name, socket]) => [name, collectEvents(socket, 'new_message')]));

    const first = await emitWithAck(erinPhone, 'send_message', {
      conversationId: conversation,
      receiverId: frank,
      messageType: 'text',
      content: { text: 'one' },
    });
    const second = await emitWithAck(frankLaptop, 'send_message', {
      conversationId: conversation,
      receiverId: erin,
      messageType: 'text',
      content: { text: 'two' },
    });
    expect(first.ok && second.ok).toBe(true);

    await waitFor(() => Object.values(seen).every((list) => list.length >= 2));
    // One more round trip on every socket, so that a duplicate would have arrived by now.
    await Promise.all(Object.values(sockets).map((socket) => emitWithAck(socket, 'join_conversation', { conversationId: conversation })));
    for (const list of Object.values(seen)) {
      expect(list.map((m) => m.content.text)).toEqual(['one', 'two']);
      expect(list.map((m) => m.seq)).toEqual([1, 2]);
    }
  });
});

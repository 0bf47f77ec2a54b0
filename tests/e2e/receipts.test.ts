import { describe, expect, it } from 'vitest';
import { busNames, conversationIdOf, type ClientEventPayload, type UserId } from '@chat/contracts';
import { collectEvents, connectClient, emitWithAck, nextEvent, signToken, waitFor } from '@chat/testing';
import { Bus } from '@chat/bus';
import { ConversationCommands } from '../../services/gateway/src/delivery/conversation-commands.ts';
import { testLogger, useSystem } from '../support/system.ts';
import { samples, uploadFile } from '../support/uploads.ts';

// Uploads too: image and file messages must reference the sender's uploads.
const system = useSystem({ uploads: true });
const store = () => system.messages!.store;

let pairs = 0;
/** A fresh pair of users and their conversation, so tests do not see each other's messages. */
function pair() {
  pairs++;
  const a = `a${pairs}` as UserId;
  const b = `b${pairs}` as UserId;
  return { a, b, conversationId: conversationIdOf(a, b) };
}

type Send = ClientEventPayload<'send_message'>;

/** The conversation's messages as a participant's device sees them (statuses derived from the read state). */
async function seen(socket: Parameters<typeof emitWithAck>[0], conversationId: string) {
  const sync = await emitWithAck(socket, 'sync_messages', { conversationId, afterSeq: 0 } as never);
  if (!sync.ok) throw new Error(sync.error.message);
  return (sync.data as { messages: Array<{ status: string; deliveredAt?: string; readAt?: string }> }).messages;
}

describe('message types', () => {
  it('sends text, image, file and offer with their content, and previews the last one', async () => {
    const { a, b, conversationId } = pair();
    const sa = await system.connectAs(a);
    const sb = await system.connectAs(b);
    const received = collectEvents(sb, 'new_message');
    const token = await signToken({ userId: a });
    const photo = (await uploadFile(system.gateway.url, token, { name: 'site.jpg', data: samples.jpeg(2048) })).json().data;
    const quote = (await uploadFile(system.gateway.url, token, { name: 'quote.pdf', data: samples.pdf() })).json().data;
    const bodies: Array<Pick<Send, 'messageType' | 'content'>> = [
      { messageType: 'text', content: { text: 'hi\nthere' } },
      { messageType: 'image', content: { ...photo, fileName: 'site.jpg', text: 'the site' } },
      { messageType: 'file', content: { ...quote, fileName: 'quote.pdf' } },
      {
        messageType: 'offer',
        content: { offerAmount: 250.5, currency: 'EUR', offerDetails: { days: 3, materials: ['tiles'], note: 'incl. VAT' } },
      },
    ];
    for (const body of bodies) {
      const ack = await emitWithAck(sa, 'send_message', { conversationId, receiverId: b, ...body });
      expect(ack.ok).toBe(true);
    }
    await waitFor(() => received.length === 4);
    expect(received.map(({ messageType, content }) => ({ messageType, content }))).toEqual(bodies);
    // The conversation is written after the deliveries go out.
    await waitFor(async () => (await store().conversations.findOne({ _id: conversationId }))?.appliedSeq === 4);
    const conversation = await store().conversations.findOne({ _id: conversationId });
    expect(conversation?.lastMessage?.text).toBe('Offer: 250.5 EUR');
    expect(conversation?.unreadCount).toEqual({ [b]: 4 });
  });
});

describe('delivery and read receipts', () => {
  it('tells the sender when the message reached a device of the receiver', async () => {
    const { a, b, conversationId } = pair();
    const sa = await system.connectAs(a);
    await system.connectAs(b);
    const delivered = nextEvent(sa, 'message_delivered');
    const ack = await emitWithAck(sa, 'send_message', { conversationId, receiverId: b, messageType: 'text', content: { text: 'ping' } });
    if (!ack.ok) throw new Error(ack.error.message);
    expect(await delivered).toEqual({ messageId: ack.data._id, conversationId, upToSeq: 1 });
    const [message] = await seen(sa, conversationId);
    expect(message?.status).toBe('delivered');
    expect(Date.parse(message!.deliveredAt!)).toBeGreaterThan(0);
  });

  it('marks by id: only the receiver, the sender is told, the unread count drops by what was read', async () => {
    const { a, b, conversationId } = pair();
    const sa = await system.connectAs(a);
    const sb = await system.connectAs(b);
    const ids: string[] = [];
    for (const text of ['1', '2', '3']) {
      const ack = await emitWithAck(sa, 'send_message', { conversationId, receiverId: b, messageType: 'text', content: { text } });
      if (!ack.ok) throw new Error(ack.error.message);
      ids.push(ack.data._id);
    }
    // The sender cannot mark its own messages read.
    expect(await emitWithAck(sa, 'mark_as_read', { conversationId, messageIds: ids })).toMatchObject({ ok: true });
    const readBySender = nextEvent(sa, 'message_read');
    expect(await emitWithAck(sb, 'mark_as_read', { conversationId, messageIds: [ids[0]!, ids[1]!] })).toEqual({
      ok: true,
      data: { conversationId, messageIds: [ids[0], ids[1]] },
    });
    expect(await readBySender).toEqual({ messageIds: [ids[0], ids[1]], readBy: b, conversationId });

    const shown = await seen(sb, conversationId);
    expect(shown.map((m) => m.status)).toEqual(['read', 'read', expect.stringMatching(/^(sent|delivered)$/)]);
    expect(Date.parse(shown[0]!.readAt!)).toBeGreaterThan(0);
    expect(Date.parse(shown[0]!.deliveredAt!)).toBeGreaterThan(0);
    const counts = (await store().conversations.findOne({ _id: conversationId }))?.unreadCount;
    expect(counts?.[b]).toBe(1);
    expect(counts?.[a] ?? 0).toBe(0);

    // Marking again changes nothing, counts nothing twice and tells no one: nothing became read.
    const readEvents = collectEvents(sa, 'message_read');
    await emitWithAck(sb, 'mark_as_read', { conversationId, messageIds: [ids[0]!, ids[1]!] });
    // Commands of a conversation apply in order: once a later message is receipted, the repeat was applied.
    const barrier = nextEvent(sa, 'message_delivered');
    await emitWithAck(sa, 'send_message', { conversationId, receiverId: b, messageType: 'text', content: { text: '4' } });
    await barrier;
    expect(readEvents).toEqual([]);
    expect((await store().conversations.findOne({ _id: conversationId }))?.unreadCount?.[b]).toBe(2);
  });

  it('marks everything up to a sequence number, and never moves a status backwards', async () => {
    const { a, b, conversationId } = pair();
    const sa = await system.connectAs(a);
    const sb = await system.connectAs(b);
    const deliveredToA = collectEvents(sa, 'message_delivered');
    for (let i = 1; i <= 5; i++) {
      expect(
        (await emitWithAck(sa, 'send_message', { conversationId, receiverId: b, messageType: 'text', content: { text: `m${i}` } })).ok,
      ).toBe(true);
    }
    await waitFor(() => deliveredToA.length === 5);
    const read = nextEvent(sa, 'message_read');
    expect((await emitWithAck(sb, 'mark_as_read', { conversationId, upToSeq: 3 })).ok).toBe(true);
    const receipt = await read;
    expect(receipt).toMatchObject({ readBy: b, conversationId, upToSeq: 3 });
    expect(receipt.messageIds).toHaveLength(3);
    expect((await store().conversations.findOne({ _id: conversationId }))?.unreadCount).toEqual({ [b]: 2 });

    // A late delivery receipt for every message (as a slow gateway could send) leaves the read ones read.
    const ids = (await store().messages.find({ conversationId }).sort({ seq: 1 }).toArray()).map((d) => d._id.toHexString());
    const bus = await Bus.connect({ servers: [system.ctx.natsUrl], name: 'test', logger: testLogger('test') });
    try {
      const commands = new ConversationCommands(bus, busNames(system.ctx.namespace), 4);
      await commands.publish({ type: 'delivered', conversationId, receiverId: b, messageIds: ids, at: new Date().toISOString() });
    } finally {
      await bus.close();
    }
    // Commands of a conversation apply in order: once a later message is delivered, the receipt was applied.
    const barrier = await emitWithAck(sa, 'send_message', { conversationId, receiverId: b, messageType: 'text', content: { text: 'm6' } });
    await waitFor(() => barrier.ok && deliveredToA.some((d) => d.messageId === barrier.data._id));
    expect((await seen(sa, conversationId)).map((m) => m.status)).toEqual(['read', 'read', 'read', 'delivered', 'delivered', 'delivered']);
  });

  it('tells a sender who was away, when they connect, how far the receiver got and read', async () => {
    const { a, b, conversationId } = pair();
    const sa = await system.connectAs(a);
    const ids: string[] = [];
    for (const text of ['1', '2', '3']) {
      const ack = await emitWithAck(sa, 'send_message', { conversationId, receiverId: b, messageType: 'text', content: { text } });
      if (!ack.ok) throw new Error(ack.error.message);
      ids.push(ack.data._id);
    }
    sa.disconnect();
    // While the sender is away, the receiver gets all three and reads the first two.
    const sb = await system.connectAs(b);
    await waitFor(async () => (await seen(sb, conversationId)).every((m) => m.status === 'delivered'));
    expect((await emitWithAck(sb, 'mark_as_read', { conversationId, upToSeq: 2 })).ok).toBe(true);
    await waitFor(async () => (await seen(sb, conversationId)).filter((m) => m.status === 'read').length === 2);

    const again = await connectClient(system.gateway.url, { token: await signToken({ userId: a }), wait: false });
    system.track(again);
    const delivered = nextEvent(again, 'message_delivered');
    const read = nextEvent(again, 'message_read');
    expect(await delivered).toEqual({ messageId: ids[2], conversationId, upToSeq: 3 });
    expect(await read).toEqual({ messageIds: [ids[1]], readBy: b, conversationId, upToSeq: 2 });
  });

  it('refuses a receipt for a conversation one is not part of, and a receipt with neither ids nor seq', async () => {
    const { a, conversationId } = pair();
    const outsider = await system.connectAs('outsider');
    expect(await emitWithAck(outsider, 'mark_as_read', { conversationId, upToSeq: 1 })).toMatchObject({
      ok: false,
      error: { code: 'NOT_PARTICIPANT' },
    });
    const sa = await system.connectAs(a);
    expect(await emitWithAck(sa, 'mark_as_read', { conversationId } as never)).toMatchObject({
      ok: false,
      error: { code: 'VALIDATION_ERROR' },
    });
  });
});

import { describe, expect, it } from 'vitest';
import { conversationIdOf, type UserId } from '@chat/contracts';
import { collectEvents, connectClient, emitWithAck, signToken, waitFor } from '@chat/testing';
import { useSystem } from '../support/system.ts';

const system = useSystem();

describe('a receiver who was offline', () => {
  it('gets all 50 missed messages once, in order, on reconnect, and the sender then hears each was delivered', async () => {
    const sender = 'sender50' as UserId;
    const receiver = 'receiver50' as UserId;
    const conversationId = conversationIdOf(sender, receiver);
    const s = await system.connectAs(sender);
    const deliveredToSender = collectEvents(s, 'message_delivered');
    const sentIds: string[] = [];
    for (let i = 1; i <= 50; i++) {
      const ack = await emitWithAck(s, 'send_message', {
        conversationId,
        receiverId: receiver,
        messageType: 'text',
        content: { text: `#${i}` },
      });
      if (!ack.ok) throw new Error(ack.error.message);
      sentIds.push(ack.data._id);
    }
    expect(deliveredToSender).toHaveLength(0);

    // Connect without waiting, and listen before the first replayed message can arrive.
    const r = await connectClient(system.gateway.url, { token: await signToken({ userId: receiver }), wait: false });
    system.track(r);
    const received = collectEvents(r, 'new_message');
    await waitFor(() => received.length >= 50);
    await waitFor(() => deliveredToSender.length >= 50);

    // A live message after the replay arrives after it; anything replayed twice would be before it.
    const live = await emitWithAck(s, 'send_message', {
      conversationId,
      receiverId: receiver,
      messageType: 'text',
      content: { text: 'live' },
    });
    await waitFor(() => received.some((m) => m.content.text === 'live'));
    expect(live.ok).toBe(true);

    expect(received.map((m) => m._id)).toEqual([...sentIds, live.ok ? live.data._id : '']);
    expect(received.map((m) => m.seq)).toEqual(Array.from({ length: 51 }, (_, i) => i + 1));
    expect(new Set(deliveredToSender.slice(0, 50).map((d) => d.messageId))).toEqual(new Set(sentIds));

    // Nothing is replayed again on the next connect: every message was delivered.
    r.disconnect();
    const again = await connectClient(system.gateway.url, { token: await signToken({ userId: receiver }), wait: false });
    system.track(again);
    const replayed = collectEvents(again, 'new_message');
    const barrier = await emitWithAck(s, 'send_message', {
      conversationId,
      receiverId: receiver,
      messageType: 'text',
      content: { text: 'barrier' },
    });
    expect(barrier.ok).toBe(true);
    await waitFor(() => replayed.some((m) => m.content.text === 'barrier'));
    expect(replayed.map((m) => m.content.text)).toEqual(['barrier']);
  });

  it('can sync a conversation after a sequence number', async () => {
    const a = 'syncer' as UserId;
    const b = 'syncee' as UserId;
    const conversationId = conversationIdOf(a, b);
    const sa = await system.connectAs(a);
    for (let i = 1; i <= 7; i++) {
      expect(
        (await emitWithAck(sa, 'send_message', { conversationId, receiverId: b, messageType: 'text', content: { text: `s${i}` } })).ok,
      ).toBe(true);
    }
    const sb = await system.connectAs(b);
    const page = await emitWithAck(sb, 'sync_messages', { conversationId, afterSeq: 4, limit: 2 });
    expect(page).toMatchObject({ ok: true, data: { hasMore: true } });
    if (!page.ok) return;
    expect(page.data.messages.map((m) => m.seq)).toEqual([5, 6]);
    const rest = await emitWithAck(sb, 'sync_messages', { conversationId, afterSeq: 6 });
    expect(rest.ok && rest.data.messages.map((m) => m.content.text)).toEqual(['s7']);
    expect(rest.ok && rest.data.hasMore).toBe(false);

    const outsider = await system.connectAs('stranger');
    expect(await emitWithAck(outsider, 'sync_messages', { conversationId, afterSeq: 0 })).toMatchObject({
      ok: false,
      error: { code: 'NOT_PARTICIPANT' },
    });
  });
});

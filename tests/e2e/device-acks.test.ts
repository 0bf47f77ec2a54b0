import { describe, expect, it } from 'vitest';
import { conversationIdOf, DELIVERY_ACKS_AUTH_FIELD, type Message, type UserId } from '@chat/contracts';
import { collectEvents, connectClient, emitWithAck, nextEvent, signToken, waitFor, type ChatClient } from '@chat/testing';
import { useSystem } from '../support/system.ts';

const system = useSystem();

/** A device that acknowledges deliveries (handshake `deliveryAcks`); `ack` decides whether it acks each one. */
async function ackingDevice(userId: UserId, ack: (message: Message) => boolean): Promise<{ socket: ChatClient; shown: Message[] }> {
  const socket = system.track(
    await connectClient(system.gateway.url, { token: await signToken({ userId }), auth: { [DELIVERY_ACKS_AUTH_FIELD]: true } }),
  );
  const shown: Message[] = [];
  socket.on('new_message', ((message: Message, done?: () => void) => {
    shown.push(message);
    if (ack(message)) done?.();
  }) as never);
  return { socket, shown };
}

describe('deliveries acknowledged by the device', () => {
  it('report delivered only what the device acknowledged; what it did not is delivered again on the next connect', async () => {
    const a = 'ack-sender' as UserId;
    const b = 'ack-receiver' as UserId;
    const conversationId = conversationIdOf(a, b);
    const sa = await system.connectAs(a);
    const delivered = collectEvents(sa, 'message_delivered');

    // Shown but never acknowledged (the app crashed before it stored it, say).
    const first = await ackingDevice(b, () => false);
    const unacked = await emitWithAck(sa, 'send_message', {
      conversationId,
      receiverId: b,
      messageType: 'text',
      content: { text: 'lost on the device' },
    });
    if (!unacked.ok) throw new Error(unacked.error.message);
    await waitFor(() => first.shown.length === 1);
    first.socket.disconnect();

    // Not reported: the next device of the user gets it again, with the same id, and acknowledges it.
    const second = await ackingDevice(b, () => true);
    await waitFor(() => second.shown.length === 1);
    expect(second.shown[0]!._id).toBe(unacked.data._id);
    await waitFor(() => delivered.some((d) => d.messageId === unacked.data._id));

    // Acknowledged live: reported as before.
    const receipt = nextEvent(sa, 'message_delivered');
    const live = await emitWithAck(sa, 'send_message', { conversationId, receiverId: b, messageType: 'text', content: { text: 'kept' } });
    if (!live.ok) throw new Error(live.error.message);
    expect(await receipt).toMatchObject({ messageId: live.data._id, conversationId });
  });

  it('a client without deliveryAcks is reported delivered when the message is emitted to it', async () => {
    const a = 'plain-sender' as UserId;
    const b = 'plain-receiver' as UserId;
    const sa = await system.connectAs(a);
    await system.connectAs(b);
    const receipt = nextEvent(sa, 'message_delivered');
    const ack = await emitWithAck(sa, 'send_message', {
      conversationId: conversationIdOf(a, b),
      receiverId: b,
      messageType: 'text',
      content: { text: 'hi' },
    });
    if (!ack.ok) throw new Error(ack.error.message);
    expect(await receipt).toMatchObject({ messageId: ack.data._id });
  });
});

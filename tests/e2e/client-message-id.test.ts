import { describe, expect, it } from 'vitest';
import { conversationIdOf, type UserId } from '@chat/contracts';
import { emitWithAck, nextEvent } from '@chat/testing';
import { useSystem } from '../support/system.ts';

/**
 * What a client matches its optimistic bubble with: the `send_message` ack and the sender's own `new_message`
 * echo (on every socket of the sender) carry the client's `clientMessageId`. Without one, the gateway makes a
 * UUID, and the ack and the echo carry that one: only the ack tells the client which id it was.
 */
const system = useSystem();

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

async function sendFrom(sender: UserId, receiver: UserId, clientMessageId?: string) {
  const conversationId = conversationIdOf(sender, receiver);
  const phone = await system.connectAs(sender);
  const laptop = await system.connectAs(sender);
  const other = await system.connectAs(receiver);
  const echoes = [nextEvent(phone, 'new_message'), nextEvent(laptop, 'new_message'), nextEvent(other, 'new_message')];
  const ack = await emitWithAck(phone, 'send_message', {
    conversationId,
    receiverId: receiver,
    messageType: 'text',
    content: { text: 'optimistic' },
    ...(clientMessageId === undefined ? {} : { clientMessageId }),
  });
  if (!ack.ok) throw new Error(`send refused: ${ack.error.code}`);
  const [onPhone, onLaptop, onReceiver] = await Promise.all(echoes);
  return { ack: ack.data, onPhone: onPhone!, onLaptop: onLaptop!, onReceiver: onReceiver! };
}

describe('clientMessageId in the ack and the echo', () => {
  it("carries the client's own id in the ack and in new_message to the sender's sockets and the receiver", async () => {
    const { ack, onPhone, onLaptop, onReceiver } = await sendFrom('cmid-a' as UserId, 'cmid-b' as UserId, 'bubble-42');

    expect(ack.clientMessageId).toBe('bubble-42');
    for (const echo of [onPhone, onLaptop, onReceiver]) {
      expect(echo._id).toBe(ack._id);
      expect(echo.clientMessageId).toBe('bubble-42');
    }
  });

  it('carries the id the gateway made when the client gave none: the same in the ack and every echo', async () => {
    const { ack, onPhone, onLaptop, onReceiver } = await sendFrom('cmid-c' as UserId, 'cmid-d' as UserId);

    expect(ack.clientMessageId).toMatch(UUID);
    for (const echo of [onPhone, onLaptop, onReceiver]) {
      expect(echo._id).toBe(ack._id);
      expect(echo.clientMessageId).toBe(ack.clientMessageId);
    }
  });
});

import type { BusNames, SendMessageCommand } from '@chat/contracts';
import type { Bus } from '@chat/bus';
import type { Logger } from '@chat/logger';
import type { Failpoints } from '../failpoints.ts';
import { toMessage } from '../store/documents.ts';
import type { MessageStore } from '../store/message-store.ts';

export interface SendMessageDeps {
  store: MessageStore;
  bus: Bus;
  names: BusNames;
  logger: Logger;
  failpoint?: Failpoints;
  now?: () => Date;
}

/**
 * Stores a sent message and tells both participants. Every step is idempotent, so a redelivery after a crash
 * at any point finishes the work without a second message, a second count or (once published) a second emit.
 */
export function sendMessageHandler({ store, bus, names, logger, failpoint = () => undefined, now = () => new Date() }: SendMessageDeps) {
  return async (command: SendMessageCommand, { redelivered }: { redelivered: boolean } = { redelivered: true }): Promise<void> => {
    const { conversationId, senderId, receiverId, clientMessageId } = command;
    // A first delivery is almost always a new message (JetStream already dropped resends inside its dedupe
    // window): go straight to the insert, whose unique index catches the rare late resend. Only a redelivery
    // looks first, so that finishing a crashed attempt does not take a new sequence number.
    let doc = redelivered ? await store.findByClientMessageId(senderId, clientMessageId) : null;
    if (!doc) {
      const at = now();
      const seq = await store.nextSeq(conversationId, at);
      doc = await store.insert(
        {
          conversationId,
          senderId,
          receiverId,
          clientMessageId,
          ...command.body,
          timestamp: new Date(command.sentAt),
        },
        seq,
        at,
      );
    }
    await store.applyToConversation(doc);
    failpoint('send.after-store');

    const message = toMessage(doc);
    if (doc.publishedAt) {
      // Already delivered once: only answer the sender's retry.
      bus.publish(names.userDelivery(senderId), { type: 'send_result', message });
      return;
    }
    await bus.publishDurable(names.messageCreated(conversationId), { message }, { msgId: `created:${message._id}` });
    bus.publish(names.userDelivery(senderId), { type: 'new_message', message });
    bus.publish(names.userDelivery(receiverId), { type: 'new_message', message });
    // The server has the deliveries before we record that they went out: a crash cannot lose them unseen.
    await bus.nc.flush();
    await store.markPublished(doc._id, now());
    logger.debug({ messageId: message._id, conversationId, seq: message.seq }, 'message stored');
    failpoint('send.before-ack');
  };
}

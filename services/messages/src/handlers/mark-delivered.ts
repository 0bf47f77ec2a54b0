import { ObjectId } from 'mongodb';
import type { BusNames, MarkDeliveredCommand } from '@chat/contracts';
import type { Bus } from '@chat/bus';
import type { MessageStore } from '../store/message-store.ts';

/**
 * A device of the receiver got these messages: move them to `delivered` and tell the sender. Repeating it
 * repeats the same receipts (clients treat a receipt for a delivered message as a no-op).
 */
export function markDeliveredHandler({ store, bus, names }: { store: MessageStore; bus: Bus; names: BusNames }) {
  return async (command: MarkDeliveredCommand): Promise<void> => {
    const ids = command.messageIds.map((id) => ObjectId.createFromHexString(id));
    const delivered = await store.markDelivered(command.conversationId, command.receiverId, ids, new Date(command.at));
    for (const doc of delivered) {
      bus.publish(names.userDelivery(doc.senderId), {
        type: 'message_delivered',
        payload: { messageId: doc._id.toHexString(), conversationId: doc.conversationId },
      });
    }
  };
}

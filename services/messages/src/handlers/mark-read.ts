import { ObjectId } from 'mongodb';
import { otherParticipant, type BusNames, type MarkReadCommand } from '@chat/contracts';
import type { Bus } from '@chat/bus';
import type { MessageStore } from '../store/message-store.ts';

/**
 * The reader read messages they received: mark them read, recount the reader's unread messages, and tell both
 * participants (the sender's devices show the receipt, the reader's other devices drop the badge).
 */
export function markReadHandler({ store, bus, names }: { store: MessageStore; bus: Bus; names: BusNames }) {
  return async (command: MarkReadCommand): Promise<void> => {
    const { conversationId, readerId } = command;
    const sender = otherParticipant(conversationId, readerId);
    if (!sender) return; // The gateway checked this; a forged command changes nothing.
    const scope = command.messageIds
      ? { messageIds: command.messageIds.map((id) => ObjectId.createFromHexString(id)) }
      : { upToSeq: command.upToSeq ?? 0 };
    const { read } = await store.markRead(conversationId, readerId, scope, new Date(command.at));
    // Only messages the reader received: marking one's own messages reads nothing.
    const messageIds = read.map((id) => id.toHexString());
    if (messageIds.length === 0 && command.upToSeq === undefined) return;
    const payload = {
      messageIds,
      readBy: readerId,
      conversationId,
      ...(command.upToSeq === undefined ? {} : { upToSeq: command.upToSeq }),
    };
    bus.publish(names.userDelivery(sender), { type: 'message_read', payload });
    bus.publish(names.userDelivery(readerId), { type: 'message_read', payload });
  };
}

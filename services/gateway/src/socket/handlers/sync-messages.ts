import type { BusNames } from '@chat/contracts';
import type { Bus } from '@chat/bus';
import type { EventHandler } from '../event-wrapper.ts';

/** `sync_messages` (participants only: the wrapper checked): a conversation's messages after a sequence number, oldest first, for a device catching up. */
export function syncMessagesHandler({ bus, names }: { bus: Bus; names: BusNames }): EventHandler<'sync_messages'> {
  return async ({ user }, { conversationId, afterSeq, limit }) => {
    const page = await bus.request(names.messagesService.history, { userId: user.userId, conversationId, limit, afterSeq });
    return { messages: page.messages, hasMore: page.hasMore };
  };
}

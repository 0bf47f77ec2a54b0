import { ChatError } from '@chat/contracts';
import type { Logger } from '@chat/logger';
import type { ConversationCommands } from '../../delivery/conversation-commands.ts';
import type { EventHandler } from '../event-wrapper.ts';

/**
 * `mark_as_read` (participants only: the wrapper checked): the reader's own received messages only (by id, or everything up to a sequence number).
 * Acked once the read is durably queued; `message_read` follows to both participants once it is applied.
 */
export function markAsReadHandler({ commands, logger }: { commands: ConversationCommands; logger: Logger }): EventHandler<'mark_as_read'> {
  return async ({ user }, { conversationId, messageIds, upToSeq }) => {
    try {
      await commands.publish({
        type: 'read',
        conversationId,
        readerId: user.userId,
        ...(messageIds ? { messageIds } : {}),
        ...(upToSeq === undefined ? {} : { upToSeq }),
        at: new Date().toISOString(),
      });
    } catch (error) {
      logger.warn({ err: error, conversationId }, 'could not queue a read receipt');
      throw new ChatError('UNAVAILABLE', 'The read receipt could not be queued; retry');
    }
    return { conversationId, ...(messageIds ? { messageIds } : {}), ...(upToSeq === undefined ? {} : { upToSeq }) };
  };
}

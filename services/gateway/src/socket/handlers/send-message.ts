import { randomUUID } from 'node:crypto';
import { ChatError, MessageBodySchema, sendMessageMsgId, validationError, type BusNames, type Message } from '@chat/contracts';
import type { Bus } from '@chat/bus';
import type { Logger } from '@chat/logger';
import type { ConversationCommands } from '../../delivery/conversation-commands.ts';
import type { PendingSends } from '../../delivery/pending-sends.ts';
import type { GatewayMetrics } from '../../metrics.ts';
import type { EventHandler } from '../event-wrapper.ts';
import { checkAttachment } from './attachment.ts';

export interface SendMessageDeps {
  bus: Bus;
  names: BusNames;
  commands: ConversationCommands;
  pending: PendingSends;
  metrics?: GatewayMetrics;
  ackTimeoutMs: number;
  /** False while the gateway shuts down. */
  acceptingSends?: () => boolean;
  logger: Logger;
}

/**
 * Validates and authorises a send, queues it durably in JetStream (deduplicated by sender + clientMessageId),
 * and answers with the stored message once the messages service has it.
 */
export function sendMessageHandler({
  bus,
  names,
  commands,
  pending,
  metrics,
  ackTimeoutMs,
  acceptingSends = () => true,
  logger,
}: SendMessageDeps): EventHandler<'send_message'> {
  return async ({ user, other }, payload): Promise<Message> => {
    // Draining: a send taken now could be cut off by the transport close; the client resends it (same
    // clientMessageId) once it has reconnected, to another gateway.
    if (!acceptingSends())
      throw new ChatError('UNAVAILABLE', 'This server is shutting down: resend after reconnecting', { reason: 'shutting_down' });
    const { conversationId, receiverId } = payload;
    if (receiverId !== other) throw new ChatError('INVALID_RECEIVER');
    const body = MessageBodySchema.safeParse({ messageType: payload.messageType, content: payload.content });
    if (!body.success) throw validationError(body.error, `${payload.messageType} content`);
    const checkedBody = await checkAttachment({ bus, names }, user.userId, body.data);

    const clientMessageId = payload.clientMessageId ?? randomUUID();
    const command = {
      type: 'send',
      conversationId,
      senderId: user.userId,
      receiverId,
      clientMessageId,
      sentAt: new Date().toISOString(),
      body: checkedBody,
    } as const;
    const publish = () => commands.publish(command, sendMessageMsgId(user.userId, clientMessageId));
    // The same command again, should the bus have lost it (JetStream drops the copy when it has the first).
    const answer = pending.wait(user.userId, clientMessageId, ackTimeoutMs, async () => void (await publish()));
    // The waiter may time out while we are still here; never leave its rejection unhandled.
    answer.promise.catch(() => undefined);

    let duplicate: boolean;
    try {
      const ack = await publish();
      duplicate = ack.duplicate;
    } catch (error) {
      answer.cancel();
      logger.warn({ err: error, conversationId }, 'could not queue a message');
      throw new ChatError('SEND_FAILED');
    }

    if (duplicate) {
      // A resend: if the first one is already stored no new delivery will come, so ask for it.
      const found = await bus
        .request(names.messagesService.findByClientMessageId, { senderId: user.userId, clientMessageId })
        .catch(() => ({ message: null }));
      if (found.message) {
        answer.cancel();
        return found.message;
      }
    }
    const stored = await answer.promise;
    if (!duplicate) metrics?.messagesSent.inc({ type: stored.messageType });
    return stored;
  };
}

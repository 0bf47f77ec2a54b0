import { expect } from 'vitest';
import { conversationIdOf, type UserId } from '@chat/contracts';
import { emitWithAck, type ChatClient } from '@chat/testing';

/** Stores the conversation of two users by a first message, so that they "share a conversation". */
export async function converse(from: ChatClient, fromId: UserId, toId: UserId, text = 'hi'): Promise<void> {
  const ack = await emitWithAck(from, 'send_message', {
    conversationId: conversationIdOf(fromId, toId),
    receiverId: toId,
    messageType: 'text',
    content: { text },
  });
  expect(ack.ok).toBe(true);
}

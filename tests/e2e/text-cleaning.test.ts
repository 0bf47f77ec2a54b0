import { describe, expect, it } from 'vitest';
import { conversationIdOf, type Message, type UserId } from '@chat/contracts';
import { emitWithAck, nextEvent, signToken } from '@chat/testing';
import { useSystem } from '../support/system.ts';

/**
 * Text one user writes and another is shown is cleaned once, at the edge, so that the sender's ack, the stored
 * message, the receiver's `new_message`, history and the conversation list all carry the same string.
 */
const system = useSystem();

async function rest<T>(userId: string, path: string): Promise<T> {
  const response = await fetch(`${system.gateway.url}${path}`, { headers: { authorization: `Bearer ${await signToken({ userId })}` } });
  expect(response.status).toBe(200);
  return ((await response.json()) as { data: T }).data;
}

describe('text shown to another user', () => {
  it('is stored, acknowledged and shown cleaned: no bidi or control characters, no lone surrogates, NFC', async () => {
    const [alice, bob] = ['tc-alice', 'tc-bob'] as [UserId, UserId];
    const a = await system.connectAs(alice);
    const b = await system.connectAs(bob);
    const conversationId = conversationIdOf(alice, bob);
    const written = 'pay \u202Eelbat\u202C\u2066 now\u0085\u0007\r\n\tcafe\u0301 \uD83D and 👩\u200D💻';
    const cleaned = 'pay elbat now\n\tcaf\u00E9 \uFFFD and 👩\u200D💻';

    const shown = nextEvent(b, 'new_message');
    const ack = await emitWithAck(a, 'send_message', { conversationId, receiverId: bob, messageType: 'text', content: { text: written } });
    expect(ack.ok).toBe(true);
    const acked = (ack as { data: Message }).data;
    expect(acked.content).toEqual({ text: cleaned });
    expect((await shown).content).toEqual({ text: cleaned });

    const history = await rest<{ messages: Message[] }>(bob, `/api/chat/conversations/${conversationId}/messages`);
    expect(history.messages.map((m) => m.content)).toEqual([{ text: cleaned }]);
    const stored = await system.messages!.store.messages.findOne({ conversationId, seq: acked.seq });
    expect(stored?.content).toEqual({ text: cleaned });
    const list = await rest<Array<{ _id: string; lastMessage: { text: string } | null }>>(bob, '/api/chat/conversations');
    expect(list.find((c) => c._id === conversationId)?.lastMessage?.text).toBe(cleaned);
  });

  it('refuses a text that is nothing visible once cleaned', async () => {
    const [carol, dan] = ['tc-carol', 'tc-dan'] as [UserId, UserId];
    const c = await system.connectAs(carol);
    const ack = await emitWithAck(c, 'send_message', {
      conversationId: conversationIdOf(carol, dan),
      receiverId: dan,
      messageType: 'text',
      content: { text: '\u200B\u200D\u202E\uFEFF\u0085 \n' },
    });
    expect(ack).toMatchObject({ ok: false, error: { code: 'VALIDATION_ERROR' } });
  });
});

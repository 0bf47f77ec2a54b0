import { describe, expect, it } from 'vitest';
import { conversationIdOf, type UserId } from '@chat/contracts';
import { busNames } from '@chat/contracts';
import { Bus } from '@chat/bus';
import { connectClient, emitWithAck, signToken, waitFor } from '@chat/testing';
import { startTestGateway, startTestMessages, testLogger, useSystem } from '../support/system.ts';

const system = useSystem({ messages: false });

describe('a gateway shutting down', () => {
  it('refuses new sends with a retryable error while the ones in flight finish', { timeout: 60_000 }, async () => {
    const gateway = await startTestGateway(system.ctx, { SEND_ACK_TIMEOUT_MS: '30000' });
    const a = 'drain-a' as UserId;
    const b = 'drain-b' as UserId;
    const conversationId = conversationIdOf(a, b);
    const socket = system.track(await connectClient(gateway.url, { token: await signToken({ userId: a }) }));
    const send = (clientMessageId: string) =>
      emitWithAck(
        socket,
        'send_message',
        { conversationId, receiverId: b, messageType: 'text', content: { text: clientMessageId }, clientMessageId },
        30_000,
      );

    // No messages service yet: this send is queued and waits for its stored message.
    const inFlight = send('in-flight');
    const bus = await Bus.connect({ servers: [system.ctx.natsUrl], name: 'drain-test', logger: testLogger('test') });
    try {
      const commands = busNames(system.ctx.namespace).streams.commands.name;
      await waitFor(async () => (await bus.jsm.streams.info(commands)).state.messages === 1);
    } finally {
      await bus.close();
    }
    const stopped = gateway.stop();
    expect(await send('too-late')).toMatchObject({
      ok: false,
      error: { code: 'UNAVAILABLE', details: { reason: 'shutting_down' }, clientMessageId: 'too-late' },
    });

    const messages = await startTestMessages(system.ctx);
    try {
      expect(await inFlight).toMatchObject({ ok: true, data: { clientMessageId: 'in-flight' } });
      await stopped;
      expect(await messages.store.messages.countDocuments({ conversationId })).toBe(1);
    } finally {
      await messages.stop();
    }
  });
});

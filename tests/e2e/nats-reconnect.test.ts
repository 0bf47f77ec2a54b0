import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { busNames, conversationIdOf, DELIVERY_ACKS_AUTH_FIELD, type Message, type UserId } from '@chat/contracts';
import { Bus } from '@chat/bus';
import { collectEvents, connectClient, CuttableProxy, emitWithAck, signToken, waitFor } from '@chat/testing';
import { startTestMessages, testLogger, useSystem } from '../support/system.ts';

const system = useSystem();
let proxy: CuttableProxy;
let proxiedNatsUrl: string;

beforeAll(async () => {
  proxy = new CuttableProxy(new URL(system.ctx.natsUrl));
  proxiedNatsUrl = await proxy.listen();
});

afterAll(async () => {
  await proxy.close();
});

describe("a gateway's NATS connection lost and back", () => {
  it('brings its still-connected sockets up to date with what was stored meanwhile, once each, without a reconnect of theirs', {
    timeout: 60_000,
  }, async () => {
    const gatewayB = await system.addGateway({ NATS_URL: proxiedNatsUrl });
    const a = 'nr-sender' as UserId;
    const b = 'nr-receiver' as UserId;
    const conversationId = conversationIdOf(a, b);
    const sa = await system.connectAs(a);
    const sb = await system.connectAs(b, gatewayB);
    const socketId = sb.id;
    let disconnects = 0;
    sb.on('disconnect', () => disconnects++);
    const received = collectEvents(sb, 'new_message');
    const send = (text: string) =>
      emitWithAck(sa, 'send_message', { conversationId, receiverId: b, messageType: 'text', content: { text } });

    expect((await send('before')).ok).toBe(true);
    await waitFor(() => received.length === 1);

    proxy.cut();
    await waitFor(async () => !(await gatewayB.readiness.nats!()));
    // Stored and delivered on the bus while the receiver's gateway is off it: those deliveries never reach it.
    const during = await Promise.all(Array.from({ length: 10 }, (_, i) => send(`during ${i}`)));
    expect(during.every((ack) => ack.ok)).toBe(true);
    proxy.restore();

    expect((await send('after')).ok).toBe(true);
    await waitFor(() => received.some((m) => m.content.text === 'after'), { timeoutMs: 30_000 });
    expect(received.map((m) => m.content.text)).toEqual(['before', ...Array.from({ length: 10 }, (_, i) => `during ${i}`), 'after']);
    expect(sb.id).toBe(socketId);
    expect(disconnects).toBe(0);
  });

  it("answers a send whose stored message was announced while the sender's gateway was off the bus", { timeout: 60_000 }, async () => {
    const gatewayB = await system.addGateway({ NATS_URL: proxiedNatsUrl, SEND_ACK_TIMEOUT_MS: '30000' });
    const a = 'nr-away-sender' as UserId;
    const b = 'nr-away-receiver' as UserId;
    const sa = await system.connectAs(a, gatewayB);
    const bus = await Bus.connect({ servers: [system.ctx.natsUrl], name: 'nr-test', logger: testLogger('test') });
    const queued = async () => (await bus.jsm.streams.info(busNames(system.ctx.namespace).streams.commands.name)).state.messages;
    try {
      // Nothing works the command yet: it waits in its stream, and the gateway waits for its answer.
      await system.messages!.stop();
      system.messages = undefined;
      const answer = emitWithAck(
        sa,
        'send_message',
        {
          conversationId: conversationIdOf(a, b),
          receiverId: b,
          messageType: 'text',
          content: { text: 'while away' },
          clientMessageId: 'away-1',
        },
        30_000,
      );
      await waitFor(async () => (await queued()) === 1);
      // The sender's gateway goes off the bus; the messages service comes back, stores the message and announces
      // it to a gateway that is not there to hear it.
      proxy.cut();
      await waitFor(async () => !(await gatewayB.readiness.nats!()));
      system.messages = await startTestMessages(system.ctx);
      await waitFor(async () => (await queued()) === 0, { timeoutMs: 30_000 });
      proxy.restore();

      const ack = await answer;
      expect(ack).toMatchObject({ ok: true, data: { clientMessageId: 'away-1' } });
    } finally {
      await bus.close();
    }
  });

  it('reports a delivery the device acknowledged while its gateway was off the bus, once the bus is back', {
    timeout: 60_000,
  }, async () => {
    const gatewayB = await system.addGateway({ NATS_URL: proxiedNatsUrl });
    const a = 'nr-receipt-sender' as UserId;
    const b = 'nr-receipt-receiver' as UserId;
    const sa = await system.connectAs(a);
    const delivered = collectEvents(sa, 'message_delivered');
    const device = system.track(
      await connectClient(gatewayB.url, { token: await signToken({ userId: b }), auth: { [DELIVERY_ACKS_AUTH_FIELD]: true } }),
    );
    const shown: Array<{ message: Message; ack: () => void }> = [];
    device.on('new_message', ((message: Message, ack: () => void) => shown.push({ message, ack })) as never);

    const sent = await emitWithAck(sa, 'send_message', {
      conversationId: conversationIdOf(a, b),
      receiverId: b,
      messageType: 'text',
      content: { text: 'ack me' },
    });
    if (!sent.ok) throw new Error(sent.error.message);
    await waitFor(() => shown.length === 1);
    // The device acknowledges while its gateway cannot reach NATS: the receipt cannot be sent yet.
    proxy.cut();
    await waitFor(async () => !(await gatewayB.readiness.nats!()));
    shown[0]!.ack();
    proxy.restore();

    await waitFor(() => delivered.some((d) => d.messageId === sent.data._id), { timeoutMs: 30_000 });
    const stored = await system.messages!.store.conversations.findOne({ _id: conversationIdOf(a, b) });
    expect(stored?.members?.[b]?.deliveredSeq).toBe(sent.data.seq);
  });
});

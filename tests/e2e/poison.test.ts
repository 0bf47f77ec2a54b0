import { describe, expect, it } from 'vitest';
import { busNames, conversationIdOf, UserDeliverySchema, type UserDelivery, type UserId } from '@chat/contracts';
import { Bus } from '@chat/bus';
import { collectEvents, emitWithAck, waitFor } from '@chat/testing';
import { testLogger, useSystem } from '../support/system.ts';

// One partition: every conversation below shares it, so one stuck command would stop them all.
const POISON_ID = 'poison-insert-1';
const system = useSystem({
  messages: { MESSAGE_PARTITIONS: '1', FAILPOINTS: `send.insert=error:${POISON_ID}` },
  gateway: { MESSAGE_PARTITIONS: '1' },
});
const names = () => busNames(system.ctx.namespace);

async function withBus<T>(work: (bus: Bus) => Promise<T>): Promise<T> {
  const bus = await Bus.connect({ servers: [system.ctx.natsUrl], name: 'poison-test', logger: testLogger('test') });
  try {
    return await work(bus);
  } finally {
    await bus.close();
  }
}

/** What is parked in the dead-letter stream, by original subject. */
async function parked(bus: Bus): Promise<Array<{ subject: string; reason: string }>> {
  const stream = names().streams.deadLetter.name;
  const info = await bus.jsm.streams.info(stream);
  const out: Array<{ subject: string; reason: string }> = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const msg = await bus.jsm.streams.getMessage(stream, { seq }).catch(() => null);
    if (msg) out.push({ subject: msg.header.get('Chat-Original-Subject'), reason: msg.header.get('Chat-Dead-Letter-Reason') });
  }
  return out;
}

describe('poison commands', () => {
  it('refuses at the edge, with VALIDATION_ERROR, content keys that MongoDB would refuse, at any depth', async () => {
    const a = 'pa' as UserId;
    const b = 'pb' as UserId;
    const conversationId = conversationIdOf(a, b);
    const sa = await system.connectAs(a);
    for (const offerDetails of [{ $gt: 1 }, { 'a.b': 'x' }, { 'a\u0000b': 'x' }]) {
      const ack = await emitWithAck(sa, 'send_message', {
        conversationId,
        receiverId: b,
        messageType: 'offer',
        content: { offerAmount: 10, offerDetails },
      });
      expect(ack, JSON.stringify(offerDetails)).toMatchObject({ ok: false, error: { code: 'VALIDATION_ERROR' } });
    }
    // Keys a content type does not define never reach the store, whatever they hold.
    const nested = await emitWithAck(sa, 'send_message', {
      conversationId,
      receiverId: b,
      messageType: 'text',
      content: { text: 'hi', extra: { deeper: [{ $where: 'x' }] } } as never,
    });
    expect(nested.ok && nested.data.content).toEqual({ text: 'hi' });
    expect(
      (await emitWithAck(sa, 'send_message', { conversationId, receiverId: b, messageType: 'text', content: { text: 'fine' } })).ok,
    ).toBe(true);
  });

  it('parks a queued command the store refuses (from a gateway that did not check), answers its sender, and the partition goes on', async () => {
    const sender = 'old-gw-sender' as UserId;
    const receiver = 'old-gw-receiver' as UserId;
    const conversationId = conversationIdOf(sender, receiver);
    await withBus(async (bus) => {
      const answers: UserDelivery[] = [];
      bus.subscribe(names().userDelivery(sender), (delivery) => void answers.push(delivery));
      await bus.nc.flush();
      // Published as an older gateway would have: the keys pass no check on the way in.
      const poison = {
        type: 'send',
        conversationId,
        senderId: sender,
        receiverId: receiver,
        clientMessageId: 'poison-offer',
        sentAt: new Date().toISOString(),
        body: { messageType: 'offer', content: { offerAmount: 5, offerDetails: { $gt: 1, 'a.b': 2 } } },
      };
      await bus.js.publish(`${system.ctx.namespace}.cmd.conv.0.${conversationId}.send`, JSON.stringify(poison));

      // Other conversations of the partition are not held up.
      const acks = await Promise.all(
        Array.from({ length: 20 }, async (_, i) => {
          const a = `after${i}` as UserId;
          const b = `other${i}` as UserId;
          const socket = await system.connectAs(a);
          return emitWithAck(socket, 'send_message', {
            conversationId: conversationIdOf(a, b),
            receiverId: b,
            messageType: 'text',
            content: { text: 'go' },
          });
        }),
      );
      expect(acks.filter((ack) => !ack.ok)).toEqual([]);
      await waitFor(() => answers.some((d) => d.type === 'send_failed'));
      expect(UserDeliverySchema.parse(answers.find((d) => d.type === 'send_failed'))).toMatchObject({
        type: 'send_failed',
        clientMessageId: 'poison-offer',
        error: { code: 'MESSAGE_REFUSED' },
      });
      await waitFor(async () => (await parked(bus)).some((p) => p.subject.endsWith(`${conversationId}.send`)));
      expect(await system.messages!.store.messages.countDocuments({ conversationId })).toBe(0);
    });
  });

  it('sets aside one command whose store write keeps failing, while 100 others of its partition go through', {
    timeout: 60_000,
  }, async () => {
    const parkedSends = async () =>
      (await system.messages!.metrics.getSingleMetricAsString('chat_commands_processed_total'))
        .split('\n')
        .filter((line) => line.includes('outcome="parked"') && line.includes('type="send"'))
        .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
    const parkedBefore = await parkedSends();
    const a = 'busy-a' as UserId;
    const sa = await system.connectAs(a);
    const errors = collectEvents(sa, 'error');
    const sends = Array.from({ length: 101 }, (_, i) => {
      const b = `busy-b${i % 10}` as UserId;
      return {
        conversationId: conversationIdOf(a, b),
        receiverId: b,
        messageType: 'text' as const,
        content: { text: `m${i}` },
        clientMessageId: i === 50 ? POISON_ID : `busy-${i}`,
      };
    });
    const acks = await Promise.all(sends.map((payload) => emitWithAck(sa, 'send_message', payload, 30_000)));
    const refused = acks.filter((ack) => !ack.ok);
    expect(refused).toEqual([
      expect.objectContaining({ ok: false, error: expect.objectContaining({ code: 'MESSAGE_REFUSED', clientMessageId: POISON_ID }) }),
    ]);
    expect(acks.filter((ack) => ack.ok)).toHaveLength(100);
    expect(errors.map((e) => e.code)).toEqual(['MESSAGE_REFUSED']);
    await withBus(async (bus) => {
      const entries = await parked(bus);
      expect(entries.filter((p) => p.reason.includes(`injected store error for ${POISON_ID}`))).toHaveLength(1);
    });
    expect((await parkedSends()) - parkedBefore).toBe(1);
    expect(await system.messages!.store.messages.countDocuments({ senderId: a })).toBe(100);
  });
});

import { describe, expect, it } from 'vitest';
import { conversationIdOf, type UserId } from '@chat/contracts';
import { collectEvents, emitWithAck, nextEvent, waitFor } from '@chat/testing';
import { useSystem } from '../support/system.ts';

const system = useSystem();
const connectAs = (userId: string) => system.connectAs(userId);
const store = () => system.messages!.store;

const mallory = 'mallory' as UserId;
const alice = 'alice' as UserId;
const bob = 'bob' as UserId;
const aliceAndBob = conversationIdOf(alice, bob);

describe('a user who is not a participant', () => {
  it('cannot join, and cannot send: nothing is stored or delivered', async () => {
    const m = await connectAs(mallory);
    const a = await connectAs(alice);
    const b = await connectAs(bob);
    const seenByAlice = collectEvents(a, 'new_message');
    const seenByBob = collectEvents(b, 'new_message');

    const errorEvent = nextEvent(m, 'error');
    expect(await emitWithAck(m, 'join_conversation', { conversationId: aliceAndBob })).toMatchObject({
      ok: false,
      error: { code: 'NOT_PARTICIPANT', event: 'join_conversation' },
    });
    expect(await errorEvent).toMatchObject({ code: 'NOT_PARTICIPANT' });

    expect(
      await emitWithAck(m, 'send_message', { conversationId: aliceAndBob, receiverId: bob, messageType: 'text', content: { text: 'hi' } }),
    ).toMatchObject({ ok: false, error: { code: 'NOT_PARTICIPANT' } });

    // Alice's own message travels the same path: once it has arrived, Mallory's would have too.
    const ok = await emitWithAck(a, 'send_message', {
      conversationId: aliceAndBob,
      receiverId: bob,
      messageType: 'text',
      content: { text: 'real' },
    });
    expect(ok.ok).toBe(true);
    await waitFor(() => seenByBob.length > 0 && seenByAlice.length > 0);
    expect(seenByBob.map((x) => x.content.text)).toEqual(['real']);
    expect(seenByAlice.map((x) => x.content.text)).toEqual(['real']);
    expect(await store().messages.countDocuments({ senderId: mallory })).toBe(0);
  });

  it('cannot join as someone else', async () => {
    const m = await connectAs(mallory);
    expect(await emitWithAck(m, 'join_conversation', { conversationId: conversationIdOf(mallory, bob), userId: 'bob' })).toMatchObject({
      ok: false,
      error: { code: 'FORBIDDEN' },
    });
  });
});

describe('malformed payloads', () => {
  // Their own conversation, so that what is stored in it says what these tests did, whatever ran before.
  const carol = 'carol' as UserId;
  const dave = 'dave' as UserId;
  const carolAndDave = conversationIdOf(carol, dave);
  const valid = { conversationId: carolAndDave, receiverId: 'dave', messageType: 'text', content: { text: 'ok' } };

  it.each([
    ['a missing conversationId', { ...valid, conversationId: undefined }, 'VALIDATION_ERROR'],
    ['a missing content', { ...valid, content: undefined }, 'VALIDATION_ERROR'],
    ['a number as text', { ...valid, content: { text: 42 } }, 'VALIDATION_ERROR'],
    ['an unknown messageType', { ...valid, messageType: 'video' }, 'VALIDATION_ERROR'],
    ['an image without its file', { ...valid, messageType: 'image' }, 'VALIDATION_ERROR'],
    ['an offer without an amount', { ...valid, messageType: 'offer', content: { currency: 'USD' } }, 'VALIDATION_ERROR'],
    ['a negative offer', { ...valid, messageType: 'offer', content: { offerAmount: -5 } }, 'VALIDATION_ERROR'],
    [
      'a file with a path in its name',
      { ...valid, messageType: 'file', content: { fileUrl: '/u/1', fileName: '../etc/passwd', fileSize: 10 } },
      'VALIDATION_ERROR',
    ],
    [
      'a file url with a scheme we do not serve',
      { ...valid, messageType: 'file', content: { fileUrl: 'javascript:alert(1)', fileName: 'a.pdf', fileSize: 10 } },
      'VALIDATION_ERROR',
    ],
    ['1 MB of text', { ...valid, content: { text: 'x'.repeat(1024 * 1024) } }, 'VALIDATION_ERROR'],
    ['4,001 characters', { ...valid, content: { text: 'x'.repeat(4001) } }, 'VALIDATION_ERROR'],
    ['only white space', { ...valid, content: { text: ' \n\t ' } }, 'VALIDATION_ERROR'],
    [
      'nothing but control, bidi and zero-width characters',
      { ...valid, content: { text: '\u0007\u202E\u200B\u0085' } },
      'VALIDATION_ERROR',
    ],
    ['an unsorted conversation id', { ...valid, conversationId: 'dave_carol' }, 'VALIDATION_ERROR'],
    ['a subject wildcard in an id', { ...valid, conversationId: 'carol_dave.>', receiverId: 'dave.>' }, 'VALIDATION_ERROR'],
    ['the wrong receiver', { ...valid, receiverId: 'erin' }, 'INVALID_RECEIVER'],
    ['a bad clientMessageId', { ...valid, clientMessageId: 'has spaces' }, 'VALIDATION_ERROR'],
    ['a string', 'hello', 'VALIDATION_ERROR'],
    ['a number', 7, 'VALIDATION_ERROR'],
    ['an array', [valid], 'VALIDATION_ERROR'],
    ['null', null, 'VALIDATION_ERROR'],
  ])('refuses %s with %s', async (_name, payload, code) => {
    const a = await connectAs(carol);
    const errorEvent = nextEvent(a, 'error');
    const ack = await emitWithAck(a, 'send_message', payload as never);
    expect(ack).toMatchObject({ ok: false, error: { code, event: 'send_message' } });
    expect(await errorEvent).toMatchObject({ code });
  });

  it('answers an event without an ack or a payload with the error event', async () => {
    const a = await connectAs(carol);
    const errorEvent = nextEvent(a, 'error');
    (a.emit as (event: string) => void)('send_message');
    expect(await errorEvent).toMatchObject({ code: 'VALIDATION_ERROR', event: 'send_message' });
  });

  it('answers an unknown event with UNKNOWN_EVENT', async () => {
    const a = await connectAs(alice);
    const ack = await (a.timeout(5000).emitWithAck as (event: string, payload: unknown) => Promise<unknown>)('drop_database', {});
    expect(ack).toMatchObject({ ok: false, error: { code: 'UNKNOWN_EVENT' } });
  });

  // Socket.IO itself listens to `error` on every server socket: the gateway took that for a handler and answered
  // nothing (found by the fuzz test).
  it('answers an emitted error event with UNKNOWN_EVENT', async () => {
    const a = await connectAs(alice);
    const errorEvent = nextEvent(a, 'error');
    const ack = await (a.timeout(5000).emitWithAck as (event: string, payload: unknown) => Promise<unknown>)('error', { boom: true });
    expect(ack).toMatchObject({ ok: false, error: { code: 'UNKNOWN_EVENT', event: 'error' } });
    expect(await errorEvent).toMatchObject({ code: 'UNKNOWN_EVENT' });
  });

  // Socket.IO dispatches a client's event to the socket's listeners by its name; were a reserved name such as
  // `disconnect` let through, a raw client would run the gateway's disconnect handling on a live socket (its user's
  // subscription dropped for their other sockets too, presence told it left). socket.io-parser refuses those names.
  it("closes a connection that sends a forged disconnect event; the user's other socket goes on receiving", async () => {
    const erin = 'erin' as UserId;
    const frank = 'frank' as UserId;
    const forger = await connectAs(erin);
    const other = await connectAs(erin);
    const f = await connectAs(frank);
    const closed = new Promise<string>((resolve) => forger.once('disconnect', resolve));
    // What socket.io-client refuses to send (a reserved name), written as the raw Socket.IO packet.
    (forger.io.engine as unknown as { write(data: string): void }).write('2["disconnect","forged"]');
    // The server closes it (its parser's error); the client sees the transport close.
    expect(await closed).toBe('transport close');
    forger.disconnect();
    const received = nextEvent(other, 'new_message');
    const ack = await emitWithAck(f, 'send_message', {
      conversationId: conversationIdOf(erin, frank),
      receiverId: erin,
      messageType: 'text',
      content: { text: 'still connected' },
    });
    expect(ack.ok).toBe(true);
    expect(await received).toMatchObject({ content: { text: 'still connected' } });
  });

  it('keeps serving after all of that, and stored none of it', async () => {
    const c = await connectAs(carol);
    const ack = await emitWithAck(c, 'send_message', { ...valid, content: { text: 'still here' } } as never);
    expect(ack.ok).toBe(true);
    const texts = (await store().messages.find({ conversationId: carolAndDave }).toArray()).map((m) => m.content.text);
    expect(texts).toEqual(['still here']);
  });
});

describe('rate limit', () => {
  it('refuses sends over the per-user limit with RATE_LIMITED and stores none of them', async () => {
    const limited = await system.addGateway({ SEND_RATE_PER_MINUTE: '60', SEND_RATE_BURST: '3' });
    const sender = await system.connectAs('flooder', limited);
    const conversationId = conversationIdOf('flooder' as UserId, bob);
    const acks = [];
    for (let i = 0; i < 5; i++) {
      acks.push(
        await emitWithAck(sender, 'send_message', {
          conversationId,
          receiverId: bob,
          messageType: 'text',
          content: { text: `flood ${i}` },
        }),
      );
    }
    expect(acks.map((a) => (a.ok ? 'ok' : a.error.code))).toEqual(['ok', 'ok', 'ok', 'RATE_LIMITED', 'RATE_LIMITED']);
    expect(await store().messages.countDocuments({ conversationId })).toBe(3);
  });
});

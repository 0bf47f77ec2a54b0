import { describe, expect, it } from 'vitest';
import { conversationIdOf, type UserId } from '@chat/contracts';
import { collectEvents, connectClient, emitWithAck, nextEvent, signToken, waitFor, type ChatClient } from '@chat/testing';
import { useSystem } from '../support/system.ts';

/** A socket lives no longer than its token, unless the client sends `authenticate` with a fresh one. */
const system = useSystem();

const disconnected = (client: ChatClient) => new Promise<string>((resolve) => client.once('disconnect', resolve));

describe('a socket whose token expires', () => {
  it("is told why and disconnected at the token's exp (handshake token)", async () => {
    const client = system.track(await connectClient(system.gateway.url, { token: await signToken({ userId: 'te-short', expiresIn: 2 }) }));
    const error = nextEvent(client, 'error', 10_000);
    const gone = disconnected(client);
    // Until then it chats.
    const send = await emitWithAck(client, 'send_message', {
      conversationId: conversationIdOf('te-other' as UserId, 'te-short' as UserId),
      receiverId: 'te-other' as UserId,
      messageType: 'text',
      content: { text: 'while it lasts' },
    });
    expect(send.ok).toBe(true);
    expect(await error).toMatchObject({ code: 'AUTH_ERROR', details: { reason: 'token_expired' } });
    expect(await gone).toBe('io server disconnect');
  });

  it('is disconnected at exp when it authenticated with the authenticate event too', async () => {
    const client = system.track(await connectClient(system.gateway.url, { wait: false }));
    const error = nextEvent(client, 'error', 10_000);
    const gone = disconnected(client);
    const ack = await emitWithAck(client, 'authenticate', { token: await signToken({ userId: 'te-late', expiresIn: 2 }) });
    expect(ack).toMatchObject({ ok: true, data: { userId: 'te-late', success: true } });
    expect(await error).toMatchObject({ code: 'AUTH_ERROR', details: { reason: 'token_expired' } });
    expect(await gone).toBe('io server disconnect');
  });

  it('lives on with a fresh token sent before exp, until that one expires', async () => {
    const firstExpiresAt = (Math.floor(Date.now() / 1000) + 2) * 1000;
    const client = system.track(await connectClient(system.gateway.url, { token: await signToken({ userId: 'te-renew', expiresIn: 2 }) }));
    const refreshed = await emitWithAck(client, 'authenticate', { token: await signToken({ userId: 'te-renew', expiresIn: 4 }) });
    expect(refreshed).toMatchObject({ ok: true });
    // Past the first token's exp, the socket still chats.
    await waitFor(() => Date.now() > firstExpiresAt + 500);
    expect(client.connected).toBe(true);
    const send = await emitWithAck(client, 'send_message', {
      conversationId: conversationIdOf('te-other' as UserId, 'te-renew' as UserId),
      receiverId: 'te-other' as UserId,
      messageType: 'text',
      content: { text: 'still here' },
    });
    expect(send.ok).toBe(true);
    // A fresh token of another user is refused, and does not extend anything.
    expect(await emitWithAck(client, 'authenticate', { token: await signToken({ userId: 'te-someone-else' }) })).toMatchObject({
      ok: false,
      error: { code: 'FORBIDDEN' },
    });
    const errors = collectEvents(client, 'error');
    const gone = disconnected(client);
    expect(await emitWithAck(client, 'authenticate', { token: await signToken({ userId: 'te-someone-else' }) })).toMatchObject({
      ok: false,
      error: { code: 'FORBIDDEN' },
    });
    expect(await gone).toBe('io server disconnect');
    expect(errors.at(-1)).toMatchObject({ code: 'AUTH_ERROR', details: { reason: 'token_expired' } });
  });
});

import { describe, expect, it } from 'vitest';
import { SignJWT } from 'jose';
import { connectClient, emitWithAck, nextEvent, signToken, TEST_JWT_SECRET } from '@chat/testing';
import { useSystem } from '../support/system.ts';

const system = useSystem({ messages: false, gateway: { AUTH_TIMEOUT_MS: '1500' } });

const base64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Connects and returns the refusal's `{ message, data }`. */
async function refusalOf(options: {
  token?: string;
  bearer?: string;
}): Promise<{ message: string; data: { code: string; details?: { reason?: string } } }> {
  try {
    const client = await connectClient(system.gateway.url, options);
    system.track(client);
  } catch (error) {
    return error as never;
  }
  throw new Error('the connection was accepted');
}

describe('authentication at the handshake', () => {
  it('accepts a good token (auth.token or Authorization: Bearer) and says authenticated', async () => {
    const viaAuth = await connectClient(system.gateway.url, { token: await signToken({ userId: 'u1' }), wait: false });
    system.track(viaAuth);
    const authenticated = nextEvent(viaAuth, 'authenticated');
    expect(await authenticated).toEqual({ userId: 'u1', success: true });

    const viaHeader = await connectClient(system.gateway.url, { bearer: await signToken({ userId: 'u2' }), wait: false });
    system.track(viaHeader);
    expect(await nextEvent(viaHeader, 'authenticated')).toEqual({ userId: 'u2', success: true });
  });

  it.each([
    ['a bad signature', () => signToken({ userId: 'u1', secret: 'another-secret-another-secret-1234' }), 'invalid_signature'],
    [
      'alg: none',
      async () => `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url({ userId: 'u1', exp: Math.floor(Date.now() / 1000) + 60 })}.`,
      'algorithm_not_allowed',
    ],
    ['an expired token', () => signToken({ userId: 'u1', expiresIn: -60 }), 'token_expired'],
    ['a token without exp', () => signToken({ userId: 'u1', expiresIn: null }), 'missing_exp'],
    ['garbage', async () => 'not-a-jwt', 'malformed_token'],
    [
      'an HS512 token',
      () =>
        new SignJWT({ userId: 'u1' })
          .setProtectedHeader({ alg: 'HS512' })
          .setExpirationTime('1h')
          .sign(new TextEncoder().encode(TEST_JWT_SECRET)),
      'algorithm_not_allowed',
    ],
  ])('refuses %s with AUTH_ERROR and the reason', async (_name, makeToken, reason) => {
    const refusal = await refusalOf({ token: await makeToken() });
    expect(refusal.data.code).toBe('AUTH_ERROR');
    expect(refusal.data.details?.reason).toBe(reason);
    expect(refusal.message.length).toBeGreaterThan(0);
  });
});

describe('connecting without a token', () => {
  it('may do nothing but authenticate, then works after authenticate', async () => {
    const client = await connectClient(system.gateway.url);
    system.track(client);

    const refused = await emitWithAck(client, 'join_conversation', { conversationId: 'u1_u2' });
    expect(refused).toMatchObject({ ok: false, error: { code: 'UNAUTHENTICATED', event: 'join_conversation' } });

    const badAuth = await emitWithAck(client, 'authenticate', { token: await signToken({ userId: 'u1', expiresIn: -1 }) });
    expect(badAuth).toMatchObject({ ok: false, error: { code: 'AUTH_ERROR', details: { reason: 'token_expired' } } });

    const authenticated = nextEvent(client, 'authenticated');
    const ack = await emitWithAck(client, 'authenticate', { token: await signToken({ userId: 'u1' }) });
    expect(ack).toEqual({ ok: true, data: { userId: 'u1', success: true } });
    expect(await authenticated).toEqual({ userId: 'u1', success: true });

    expect(await emitWithAck(client, 'join_conversation', { conversationId: 'u1_u2' })).toEqual({
      ok: true,
      data: { conversationId: 'u1_u2' },
    });
  });

  it('is told why and disconnected when it does not authenticate in time', async () => {
    const client = await connectClient(system.gateway.url);
    system.track(client);
    const error = nextEvent(client, 'error', 5000);
    const disconnected = new Promise<string>((resolve) => client.once('disconnect', resolve));
    expect(await error).toMatchObject({ code: 'AUTH_ERROR', details: { reason: 'missing_token' } });
    expect(await disconnected).toBe('io server disconnect');
  });

  it('cannot switch to another user on the same socket', async () => {
    const client = await connectClient(system.gateway.url, { token: await signToken({ userId: 'u1' }) });
    system.track(client);
    const ack = await emitWithAck(client, 'authenticate', { token: await signToken({ userId: 'u2' }) });
    expect(ack).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
  });
});

import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CompactSign, SignJWT, exportJWK, generateKeyPair, jwtVerify } from 'jose';
import type { CryptoKey, JWK, JWTPayload } from 'jose';
import { ChatError } from '@chat/contracts';
import type { AuthFailureReason } from '@chat/contracts';
import { createTokenVerifier } from './index.ts';
import type { TokenVerifier } from './index.ts';

const SECRET = 'a-test-secret-that-is-at-least-32-bytes-long';
const now = () => Math.floor(Date.now() / 1000);
const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

function hs(payload: JWTPayload, options: { secret?: string; alg?: string; exp?: number | null } = {}) {
  const jwt = new SignJWT(payload).setProtectedHeader({ alg: options.alg ?? 'HS256', typ: 'JWT' }).setIssuedAt();
  if (options.exp !== null) jwt.setExpirationTime(options.exp ?? now() + 300);
  return jwt.sign(new TextEncoder().encode(options.secret ?? SECRET));
}

async function expectAuthError(promise: Promise<unknown>, reason: AuthFailureReason) {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ChatError);
  expect((error as ChatError).code).toBe('AUTH_ERROR');
  expect((error as ChatError).details).toEqual({ reason });
  return error as ChatError;
}

describe('createTokenVerifier config', () => {
  it('needs exactly one of secret and jwksUrl', () => {
    expect(() => createTokenVerifier({})).toThrow(TypeError);
    expect(() => createTokenVerifier({ secret: SECRET, jwksUrl: 'http://127.0.0.1/jwks' })).toThrow(TypeError);
    expect(() => createTokenVerifier({ secret: '', jwksUrl: '' })).toThrow(TypeError);
    expect(() => createTokenVerifier({ jwksUrl: 'not a url' })).toThrow(TypeError);
    expect(() => createTokenVerifier({ secret: SECRET, clockToleranceSeconds: -1 })).toThrow(TypeError);
  });
});

describe('HS256 verifier', () => {
  const verifier = createTokenVerifier({ secret: SECRET });

  it('returns the user from the userId claim with the profile claims', async () => {
    const token = await hs({
      userId: 'user-1',
      sub: 'ignored',
      email: 'a@example.com',
      role: 'admin',
      name: 'Ann',
      avatar: 'https://example.com/a.png',
    });
    await expect(verifier.verify(token)).resolves.toEqual({
      expiresAt: expect.any(Number),
      userId: 'user-1',
      email: 'a@example.com',
      role: 'admin',
      name: 'Ann',
      avatar: 'https://example.com/a.png',
    });
  });

  it('keeps the expiry, from exp, in ms', async () => {
    const exp = Math.floor(Date.now() / 1000) + 600;
    await expect(verifier.verify(await hs({ userId: 'user-1' }, { exp }))).resolves.toMatchObject({ expiresAt: exp * 1000 });
  });

  it('falls back to sub and drops non-string profile claims', async () => {
    const token = await hs({ sub: '507f1f77bcf86cd799439011', email: 42, role: ['x'] });
    await expect(verifier.verify(token)).resolves.toEqual({ expiresAt: expect.any(Number), userId: '507f1f77bcf86cd799439011' });
  });

  it('refuses a missing token', async () => {
    await expectAuthError(verifier.verify(''), 'missing_token');
    await expectAuthError(verifier.verify(undefined as unknown as string), 'missing_token');
  });

  it('refuses garbage', async () => {
    await expectAuthError(verifier.verify('not-a-jwt'), 'malformed_token');
    await expectAuthError(verifier.verify('a.b.c'), 'malformed_token');
    // Validly signed, but the payload is not a JSON claims set (jose checks the signature first).
    const notJson = await new CompactSign(new TextEncoder().encode('not json'))
      .setProtectedHeader({ alg: 'HS256' })
      .sign(new TextEncoder().encode(SECRET));
    await expectAuthError(verifier.verify(notJson), 'malformed_token');
    await expectAuthError(verifier.verify('x'.repeat(20_000)), 'malformed_token');
  });

  it('refuses a token signed with another secret, without echoing the token', async () => {
    const token = await hs({ userId: 'user-1' }, { secret: 'another-secret-another-secret-another' });
    const error = await expectAuthError(verifier.verify(token), 'invalid_signature');
    expect(error.message).not.toContain(token);
    expect(error.message).not.toContain(token.split('.')[2]);
  });

  it('refuses alg none', async () => {
    const token = `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ userId: 'user-1', exp: now() + 300 })}.`;
    await expectAuthError(verifier.verify(token), 'algorithm_not_allowed');
  });

  it('refuses HS512 even with the right secret', async () => {
    const token = await hs({ userId: 'user-1' }, { alg: 'HS512' });
    await expectAuthError(verifier.verify(token), 'algorithm_not_allowed');
  });

  it('refuses an expired token', async () => {
    const token = await hs({ userId: 'user-1' }, { exp: now() - 10 });
    await expectAuthError(verifier.verify(token), 'token_expired');
  });

  it('honours the clock tolerance', async () => {
    const token = await hs({ userId: 'user-1' }, { exp: now() - 10 });
    const tolerant = createTokenVerifier({ secret: SECRET, clockToleranceSeconds: 60 });
    await expect(tolerant.verify(token)).resolves.toEqual({ expiresAt: expect.any(Number), userId: 'user-1' });
  });

  it('refuses a token without exp', async () => {
    const token = await hs({ userId: 'user-1' }, { exp: null });
    await expectAuthError(verifier.verify(token), 'missing_exp');
  });

  it('refuses a token that is not valid yet', async () => {
    const token = await hs({ userId: 'user-1', nbf: now() + 120 });
    await expectAuthError(verifier.verify(token), 'invalid_claims');
  });

  it('refuses user ids that are missing or have invalid characters', async () => {
    await expectAuthError(verifier.verify(await hs({ userId: 'user_1' })), 'invalid_user_id');
    await expectAuthError(verifier.verify(await hs({ sub: 'user.1' })), 'invalid_user_id');
    await expectAuthError(verifier.verify(await hs({ userId: 'x'.repeat(65) })), 'invalid_user_id');
    await expectAuthError(verifier.verify(await hs({ userId: 12 })), 'invalid_user_id');
    await expectAuthError(verifier.verify(await hs({ email: 'a@example.com' })), 'invalid_user_id');
  });

  describe('with issuer and audience', () => {
    const strict = createTokenVerifier({ secret: SECRET, issuer: 'https://auth.example', audience: 'chat' });

    it('accepts the right iss and aud', async () => {
      const token = await hs({ userId: 'user-1', iss: 'https://auth.example', aud: ['other', 'chat'] });
      await expect(strict.verify(token)).resolves.toEqual({ expiresAt: expect.any(Number), userId: 'user-1' });
    });

    it('refuses a wrong or missing iss', async () => {
      const wrongIss = await hs({ userId: 'u', iss: 'https://evil', aud: 'chat' });
      await expectAuthError(strict.verify(wrongIss), 'invalid_claims');
      await expectAuthError(strict.verify(await hs({ userId: 'u', aud: 'chat' })), 'invalid_claims');
    });

    it('refuses a wrong or missing aud', async () => {
      await expectAuthError(strict.verify(await hs({ userId: 'u', iss: 'https://auth.example', aud: 'other' })), 'invalid_claims');
      await expectAuthError(strict.verify(await hs({ userId: 'u', iss: 'https://auth.example' })), 'invalid_claims');
    });

    it('ignores iss and aud when they are not configured', async () => {
      const token = await hs({ userId: 'user-1', iss: 'https://anyone', aud: 'anything' });
      await expect(verifier.verify(token)).resolves.toEqual({ expiresAt: expect.any(Number), userId: 'user-1' });
    });
  });
});

describe('HS256 verifier: the signature checked without WebCrypto', () => {
  const options = { issuer: 'https://auth.example', audience: 'chat', clockToleranceSeconds: 5 };
  const verifier = createTokenVerifier({ secret: SECRET, ...options });
  const key = new TextEncoder().encode(SECRET);
  const claims = { userId: 'user-1', iss: 'https://auth.example', aud: 'chat' };
  // By hand: jose refuses to sign some of these headers.
  const sign = async (header: Record<string, unknown>, payload: Uint8Array | JWTPayload, secret = SECRET) => {
    const input = `${b64url(header)}.${Buffer.from(payload instanceof Uint8Array ? payload : JSON.stringify(payload)).toString('base64url')}`;
    return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
  };

  it('accepts and refuses every token as jose does', async () => {
    const good = await hs(claims);
    const [h, p, sig] = good.split('.') as [string, string, string];
    const tokens = [
      good,
      await hs(claims, { exp: now() - 3 }), // within the tolerance
      await hs(claims, { exp: now() - 30 }),
      await hs({ ...claims, nbf: now() + 60 }),
      await hs({ ...claims, aud: 'other' }),
      await hs({ ...claims, iss: 'https://elsewhere' }),
      await hs(claims, { exp: null }),
      await sign({ alg: 'HS256', typ: 'JWT', kid: 'k1' }, { ...claims, exp: now() + 60 }),
      await sign({ alg: 'HS256', crit: ['exp'], exp: 1 }, { ...claims, exp: now() + 60 }),
      await sign({ alg: 'HS256', b64: false, crit: ['b64'] }, { ...claims, exp: now() + 60 }),
      await sign({ alg: 'HS256' }, new TextEncoder().encode('[1,2]')),
      await sign({ alg: 'HS256' }, new TextEncoder().encode('not json')),
      await sign({ alg: 'HS256' }, { ...claims, exp: now() + 60 }, 'another-secret-another-secret-another'),
      `${h}.${p}.${sig.slice(0, -1)}${sig.at(-1) === 'A' ? 'B' : 'A'}`,
      `${h}.${p}x.${sig}`,
      `${h}.${p}.${sig}.`,
      `${h}.${p}.${sig}=`,
      `${h}=.${p}.${sig}`,
      `${h}.${p}`,
    ];
    for (const token of tokens) {
      const ours = await verifier.verify(token).then(
        (user) => ({ ok: user.userId }),
        (error: ChatError) => ({ refused: (error.details as { reason: string }).reason }),
      );
      const jose = await jwtVerify(token, key, {
        algorithms: ['HS256'],
        requiredClaims: ['exp'],
        issuer: options.issuer,
        audience: options.audience,
        clockTolerance: 5,
      }).then(
        () => 'ok',
        () => 'refused',
      );
      expect({ token, outcome: 'ok' in ours ? 'ok' : 'refused' }).toEqual({ token, outcome: jose });
    }
  });
});

describe('JWKS verifier', () => {
  let server: Server;
  let baseUrl: string;
  let requests = 0;
  let rsKey: CryptoKey;
  let esKey: CryptoKey;
  let rotatedA: CryptoKey;
  let rotatedB: CryptoKey;
  let unknownRsKey: CryptoKey;

  const sign = (payload: JWTPayload, alg: string, key: CryptoKey | Uint8Array, kid?: string) =>
    new SignJWT(payload)
      .setProtectedHeader({ alg, typ: 'JWT', ...(kid === undefined ? {} : { kid }) })
      .setExpirationTime(now() + 300)
      .sign(key);

  beforeAll(async () => {
    const rs = await generateKeyPair('RS256');
    const es = await generateKeyPair('ES256');
    const a = await generateKeyPair('RS256');
    const b = await generateKeyPair('RS256');
    const unknown = await generateKeyPair('RS256');
    rsKey = rs.privateKey;
    esKey = es.privateKey;
    rotatedA = a.privateKey;
    rotatedB = b.privateKey;
    unknownRsKey = unknown.privateKey;
    const jwk = async (key: CryptoKey, extra: Partial<JWK>) => ({ ...(await exportJWK(key)), use: 'sig', ...extra });
    const sets: Record<string, unknown> = {
      '/jwks': {
        keys: [await jwk(rs.publicKey, { kid: 'rs', alg: 'RS256' }), await jwk(es.publicKey, { kid: 'es', alg: 'ES256' })],
      },
      // Two RS256 keys without kid, as during a rotation.
      '/rotating': { keys: [await jwk(a.publicKey, {}), await jwk(b.publicKey, {})] },
    };
    server = createServer((req, res) => {
      requests++;
      const set = sets[req.url ?? ''];
      if (set === undefined) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(set));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  let verifier: TokenVerifier;
  beforeAll(() => {
    verifier = createTokenVerifier({ jwksUrl: `${baseUrl}/jwks`, issuer: 'https://auth.example' });
  });

  it('accepts RS256 and ES256 tokens and caches the key set', async () => {
    const before = requests;
    const rs = await sign({ sub: 'rs-user', iss: 'https://auth.example', role: 'user' }, 'RS256', rsKey, 'rs');
    const es = await sign({ userId: 'es-user', iss: 'https://auth.example' }, 'ES256', esKey, 'es');
    await expect(verifier.verify(rs)).resolves.toEqual({ expiresAt: expect.any(Number), userId: 'rs-user', role: 'user' });
    await expect(verifier.verify(es)).resolves.toEqual({ expiresAt: expect.any(Number), userId: 'es-user' });
    expect(requests - before).toBe(1);
  });

  it('refuses an HS256 token', async () => {
    const token = await hs({ userId: 'user-1', iss: 'https://auth.example' });
    await expectAuthError(verifier.verify(token), 'algorithm_not_allowed');
  });

  it('refuses alg none', async () => {
    const token = `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ userId: 'u', exp: now() + 300 })}.`;
    await expectAuthError(verifier.verify(token), 'algorithm_not_allowed');
  });

  it('refuses a token signed by a key outside the set', async () => {
    const withKnownKid = await sign({ userId: 'u', iss: 'https://auth.example' }, 'RS256', unknownRsKey, 'rs');
    const withUnknownKid = await sign({ userId: 'u', iss: 'https://auth.example' }, 'RS256', unknownRsKey, 'nope');
    await expectAuthError(verifier.verify(withKnownKid), 'invalid_signature');
    await expectAuthError(verifier.verify(withUnknownKid), 'invalid_signature');
  });

  it('still checks the claims', async () => {
    const token = await sign({ userId: 'u', iss: 'https://other' }, 'RS256', rsKey, 'rs');
    await expectAuthError(verifier.verify(token), 'invalid_claims');
  });

  it('tries every matching key when the token has no kid', async () => {
    const rotating = createTokenVerifier({ jwksUrl: `${baseUrl}/rotating` });
    await expect(rotating.verify(await sign({ userId: 'a' }, 'RS256', rotatedA))).resolves.toEqual({
      expiresAt: expect.any(Number),
      userId: 'a',
    });
    await expect(rotating.verify(await sign({ userId: 'b' }, 'RS256', rotatedB))).resolves.toEqual({
      expiresAt: expect.any(Number),
      userId: 'b',
    });
    await expectAuthError(rotating.verify(await sign({ userId: 'c' }, 'RS256', unknownRsKey)), 'invalid_signature');
  });

  it('reports keys_unavailable when the JWKS cannot be fetched', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));

    const unreachable = createTokenVerifier({ jwksUrl: `http://127.0.0.1:${port}/jwks` });
    const token = await sign({ userId: 'u' }, 'RS256', rsKey, 'rs');
    await expectAuthError(unreachable.verify(token), 'keys_unavailable');
  });

  it('reports keys_unavailable when the JWKS endpoint answers with an error', async () => {
    const missing = createTokenVerifier({ jwksUrl: `${baseUrl}/missing` });
    const token = await sign({ userId: 'u' }, 'RS256', rsKey, 'rs');
    await expectAuthError(missing.verify(token), 'keys_unavailable');
  });
});

import { createHmac, createSecretKey, timingSafeEqual } from 'node:crypto';
import { createRemoteJWKSet, errors, jwtVerify, UnsecuredJWT } from 'jose';
import type { JWTPayload, JWTVerifyGetKey, JWTVerifyOptions, JWTVerifyResult } from 'jose';
import { ChatError, UserIdSchema } from '@chat/contracts';
import type { AuthFailureReason, UserId } from '@chat/contracts';

export interface AuthConfig {
  /** Shared secret for HS256 tokens. Exactly one of `secret` and `jwksUrl`. */
  secret?: string;
  /** URL of a JSON Web Key Set for RS256/ES256 tokens. Exactly one of `secret` and `jwksUrl`. */
  jwksUrl?: string;
  /** When set, the token's `iss` must equal it. */
  issuer?: string;
  /** When set, the token's `aud` must contain it. */
  audience?: string;
  /** Allowed clock skew for `exp`/`nbf`, in seconds (default 0). */
  clockToleranceSeconds?: number;
}

export interface AuthUser {
  userId: UserId;
  email?: string;
  role?: string;
  name?: string;
  avatar?: string;
  /** When the token expires (its `exp`), in ms since the epoch: the socket it authenticated ends then. */
  expiresAt?: number;
}

export interface TokenVerifier {
  /** The user a token authenticates; throws a `ChatError('AUTH_ERROR')` with `details.reason` otherwise. */
  verify(token: string): Promise<AuthUser>;
}

const SECRET_ALGORITHMS = ['HS256'];
const JWKS_ALGORITHMS = ['RS256', 'ES256'];
// Far above any real JWT; refuses oversized input before any decoding work.
const MAX_TOKEN_LENGTH = 16 * 1024;
const PROFILE_CLAIMS = ['email', 'role', 'name', 'avatar'] as const;

/** Marks failures of fetching or importing the JWKS, so they are not mistaken for a bad token. */
class KeysUnavailable extends Error {
  constructor(cause: unknown) {
    super('JWKS unavailable', { cause });
    this.name = 'KeysUnavailable';
  }
}

export function createTokenVerifier(config: AuthConfig): TokenVerifier {
  const { secret, jwksUrl, issuer, audience, clockToleranceSeconds } = config;
  const hasSecret = typeof secret === 'string' && secret !== '';
  const hasJwksUrl = typeof jwksUrl === 'string' && jwksUrl !== '';
  if (hasSecret === hasJwksUrl) {
    throw new TypeError('AuthConfig needs exactly one of `secret` (HS256) or `jwksUrl` (RS256/ES256)');
  }
  if (clockToleranceSeconds !== undefined && (!Number.isFinite(clockToleranceSeconds) || clockToleranceSeconds < 0)) {
    throw new TypeError('AuthConfig.clockToleranceSeconds must be a non-negative number');
  }

  const options: JWTVerifyOptions = {
    algorithms: hasSecret ? SECRET_ALGORITHMS : JWKS_ALGORITHMS,
    requiredClaims: ['exp'],
    ...(issuer === undefined ? {} : { issuer }),
    ...(audience === undefined ? {} : { audience }),
    ...(clockToleranceSeconds === undefined ? {} : { clockTolerance: clockToleranceSeconds }),
  };

  const verifyJwt = hasSecret
    ? secretVerifier(new TextEncoder().encode(secret), options)
    : jwksVerifier(jwksUrlOf(jwksUrl as string), options);

  return {
    async verify(token: string): Promise<AuthUser> {
      if (token === undefined || token === null || token === '') {
        throw authError('missing_token', 'No token was given');
      }
      if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH) {
        throw authError('malformed_token', 'The token is not a well-formed JWT');
      }
      let payload: JWTPayload;
      try {
        ({ payload } = await verifyJwt(token));
      } catch (error) {
        throw toAuthError(error);
      }
      return userOf(payload);
    },
  };
}

type VerifyJwt = (token: string) => Promise<JWTVerifyResult>;

/** The protected header of an unsigned JWT (`{"alg":"none"}`), for jose's claims checks of a token checked here. */
const UNSIGNED_HEADER = Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url');
const CHECKED_CLAIMS = ({ algorithms: _algorithms, ...claims }: JWTVerifyOptions) => claims;
/** As jose decodes a header: invalid UTF-8 is an error, not a replacement character. */
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * HS256: the signature checked here with a synchronous HMAC (jose's goes through WebCrypto: a key import and a
 * thread-pool job per token, the largest part of a connect's CPU at the gateway), the claims by jose as before.
 * Only a plain header (`alg` HS256, no `crit`/`b64`) with a signature that matches takes this path; every other
 * token, and every refusal, goes through jose's own verification, so what is accepted and how a token is
 * refused (the error) are jose's.
 */
function secretVerifier(key: Uint8Array, options: JWTVerifyOptions): VerifyJwt {
  const claimOptions = CHECKED_CLAIMS(options);
  // A KeyObject made once: `createHmac` with raw bytes checks and wraps them on every call.
  const hmacKey = createSecretKey(key);
  const slow: VerifyJwt = (token) => jwtVerify(token, key, options);
  return async (token) => {
    const [header, payload, signature, extra] = token.split('.');
    if (header === undefined || payload === undefined || signature === undefined || extra !== undefined || !plainHs256Header(header))
      return slow(token);
    const expected = createHmac('sha256', hmacKey).update(`${header}.${payload}`).digest('base64url');
    if (expected.length !== signature.length || !timingSafeEqual(Buffer.from(expected), Buffer.from(signature))) return slow(token);
    const { payload: claims } = UnsecuredJWT.decode(`${UNSIGNED_HEADER}.${payload}.`, claimOptions);
    return { payload: claims, protectedHeader: { alg: 'HS256' } };
  };
}

function plainHs256Header(encoded: string): boolean {
  if (!/^[A-Za-z0-9_-]+$/.test(encoded)) return false;
  let header: unknown;
  try {
    header = JSON.parse(strictUtf8.decode(Buffer.from(encoded, 'base64url')));
  } catch {
    return false;
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) return false;
  const fields = header as Record<string, unknown>;
  return fields['alg'] === 'HS256' && !('crit' in fields) && !('b64' in fields);
}

function jwksVerifier(url: URL, options: JWTVerifyOptions): VerifyJwt {
  const jwks = createRemoteJWKSet(url);
  const getKey: JWTVerifyGetKey = async (header, token) => {
    try {
      return await jwks(header, token);
    } catch (error) {
      // These two are about the token's kid/alg, not about the key set being unreachable.
      if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) {
        throw error;
      }
      throw new KeysUnavailable(error);
    }
  };
  return async (token) => {
    try {
      return await jwtVerify(token, getKey, options);
    } catch (error) {
      if (!(error instanceof errors.JWKSMultipleMatchingKeys)) throw error;
      // A token without `kid` matches several keys of its type (e.g. during rotation): jose leaves trying them to us.
      for await (const candidate of error) {
        try {
          return await jwtVerify(token, candidate, options);
        } catch (inner) {
          if (!(inner instanceof errors.JWSSignatureVerificationFailed)) throw inner;
        }
      }
      throw new errors.JWSSignatureVerificationFailed();
    }
  };
}

function jwksUrlOf(value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new TypeError(`AuthConfig.jwksUrl is not a valid URL: ${value}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new TypeError('AuthConfig.jwksUrl must be an http(s) URL');
  }
  return url;
}

function userOf(payload: JWTPayload): AuthUser {
  const parsed = UserIdSchema.safeParse(payload.userId ?? payload.sub);
  if (!parsed.success) {
    throw authError('invalid_user_id', 'The token has no valid user id (the "userId" or "sub" claim must be 1-64 letters, digits or "-")');
  }
  const user: AuthUser = { userId: parsed.data, ...(typeof payload.exp === 'number' ? { expiresAt: payload.exp * 1000 } : {}) };
  for (const claim of PROFILE_CLAIMS) {
    const value = payload[claim];
    if (typeof value === 'string') user[claim] = value;
  }
  return user;
}

function authError(reason: AuthFailureReason, message: string): ChatError {
  return new ChatError('AUTH_ERROR', message, { reason });
}

/** Maps a jose (or key fetching) failure to an AUTH_ERROR with a message of our own. */
function toAuthError(error: unknown): ChatError {
  if (error instanceof ChatError) return error;
  if (error instanceof KeysUnavailable || error instanceof errors.JWKSTimeout) {
    return authError('keys_unavailable', 'The signing keys could not be fetched; try again later');
  }
  if (error instanceof errors.JWTExpired) {
    return authError('token_expired', 'The token has expired');
  }
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'exp' && error.reason === 'missing') {
      return authError('missing_exp', 'The token has no expiry ("exp" claim)');
    }
    return authError('invalid_claims', `The token's "${error.claim}" claim is missing or not acceptable`);
  }
  if (error instanceof errors.JOSEAlgNotAllowed) {
    return authError('algorithm_not_allowed', "The token's signing algorithm is not allowed");
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return authError('invalid_signature', "The token's signature is invalid");
  }
  if (error instanceof errors.JWKSNoMatchingKey) {
    return authError('invalid_signature', 'The token is not signed by a known key');
  }
  if (error instanceof errors.JWKSInvalid || error instanceof errors.JWKInvalid) {
    return authError('keys_unavailable', 'The signing keys could not be used; try again later');
  }
  return authError('malformed_token', 'The token is not a well-formed JWT');
}

/** The JWT settings as every service's configuration names them (`jwtEnv` in @chat/config). */
export interface JwtEnv {
  JWT_SECRET?: string | undefined;
  JWT_JWKS_URL?: string | undefined;
  JWT_ISSUER?: string | undefined;
  JWT_AUDIENCE?: string | undefined;
}

/** A verifier from a service's parsed JWT settings. */
export function verifierFromEnv(config: JwtEnv): TokenVerifier {
  return createTokenVerifier({
    ...(config.JWT_SECRET ? { secret: config.JWT_SECRET } : {}),
    ...(config.JWT_JWKS_URL ? { jwksUrl: config.JWT_JWKS_URL } : {}),
    ...(config.JWT_ISSUER ? { issuer: config.JWT_ISSUER } : {}),
    ...(config.JWT_AUDIENCE ? { audience: config.JWT_AUDIENCE } : {}),
  });
}

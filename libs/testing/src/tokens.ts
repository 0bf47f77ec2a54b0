import { SignJWT } from 'jose';

export const TEST_JWT_SECRET = 'test-secret-that-is-long-enough-for-hs256-0123456789';

export interface TokenOptions {
  userId: string;
  secret?: string;
  /** Seconds from now; negative for an expired token; `null` for a token without `exp`. */
  expiresIn?: number | null;
  claims?: Record<string, unknown>;
}

/** A real HS256 JWT as the surrounding app would issue it (the spec's `userId` claim). */
export async function signToken({ userId, secret = TEST_JWT_SECRET, expiresIn = 3600, claims = {} }: TokenOptions): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({ userId, email: `${userId}@example.test`, role: 'customer', ...claims })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuedAt(now);
  if (expiresIn !== null) jwt.setExpirationTime(now + expiresIn);
  return jwt.sign(new TextEncoder().encode(secret));
}

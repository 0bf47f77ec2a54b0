import type { FastifyRequest } from 'fastify';
import { ChatError } from '@chat/contracts';
import { bearerToken, type AuthUser, type TokenVerifier } from '@chat/auth';

/** The user of a request's `Authorization: Bearer <token>`, or `AUTH_ERROR` (401) naming what is missing or wrong. */
export async function authenticateRequest(request: FastifyRequest, verifier: TokenVerifier): Promise<AuthUser> {
  const token = bearerToken(request.headers.authorization);
  if (!token) throw new ChatError('AUTH_ERROR', 'Send a token as Authorization: Bearer <token>', { reason: 'missing_token' });
  return verifier.verify(token);
}

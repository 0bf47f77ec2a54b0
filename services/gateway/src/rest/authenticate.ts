import type { FastifyRequest } from 'fastify';
import { ChatError } from '@chat/contracts';
import type { AuthUser, TokenVerifier } from '@chat/auth';

/** The bearer token's user, or `AUTH_ERROR` (401). */
export async function authenticateRequest(request: FastifyRequest, verifier: TokenVerifier): Promise<AuthUser> {
  const header = request.headers.authorization;
  const match = typeof header === 'string' ? /^Bearer\s+(\S+)$/i.exec(header) : null;
  if (!match?.[1]) throw new ChatError('AUTH_ERROR', 'Send a token as Authorization: Bearer <token>', { reason: 'missing_token' });
  return verifier.verify(match[1]);
}

import type { FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { ChatError } from '@chat/contracts';
import type { AuthUser, TokenVerifier } from '@chat/auth';
import { authenticateRequest } from '@chat/http-edge';

const users = new WeakMap<FastifyRequest, AuthUser>();

/**
 * An `onRequest` hook: the token is checked as soon as the headers are in, before any body is read, so that an
 * anonymous client cannot hold a connection open by sending a body slowly (or make us parse one). Handlers get
 * the user with `requestUser`.
 */
export function authenticateFirst(verifier: TokenVerifier): onRequestAsyncHookHandler {
  return async (request) => {
    users.set(request, await authenticateRequest(request, verifier));
  };
}

/** The user `authenticateFirst` found for this request. */
export function requestUser(request: FastifyRequest): AuthUser {
  const user = users.get(request);
  if (!user) throw new ChatError('UNAUTHENTICATED');
  return user;
}

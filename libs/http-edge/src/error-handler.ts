import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { ChatError, errorEnvelope, toChatError } from '@chat/contracts';
import type { Logger } from '@chat/logger';

export interface ErrorAnswersOptions {
  logger: Logger;
  /** What this edge knows of its own errors (e.g. a multipart parser's): a ChatError, or undefined for the rules below. */
  classify?: (error: FastifyError, request: FastifyRequest) => ChatError | undefined;
  /** Called with every error answer before it is sent (e.g. to close a connection whose body is left unread). */
  beforeSend?: (request: FastifyRequest, reply: FastifyReply) => void;
}

/**
 * Every error of an HTTP edge as the spec's envelope with a stable code: a schema's refusal and Fastify's own
 * client errors (bad JSON, wrong content type, body too large) are `VALIDATION_ERROR`; a `ChatError` is itself;
 * anything else is logged and answered `INTERNAL_ERROR`, its message not leaked. An unknown route is `NOT_FOUND`.
 */
export function answerErrors(app: FastifyInstance, { logger, classify, beforeSend }: ErrorAnswersOptions): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const chatError = classify?.(error, request) ?? classifyError(error, request, logger);
    beforeSend?.(request, reply);
    const retryAfterMs = (chatError.details as { retryAfterMs?: unknown } | undefined)?.retryAfterMs;
    // A refusal that says when to come back says it the HTTP way too.
    if (chatError.code === 'RATE_LIMITED' && typeof retryAfterMs === 'number')
      reply.header('retry-after', String(Math.max(1, Math.ceil(retryAfterMs / 1000))));
    return reply.code(chatError.status).send(errorEnvelope(chatError));
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send(errorEnvelope(new ChatError('NOT_FOUND', `No route ${request.method} ${request.url.split('?')[0]}`))),
  );
}

function classifyError(error: FastifyError, request: FastifyRequest, logger: Logger): ChatError {
  if (hasZodFastifySchemaValidationErrors(error)) {
    const issues = error.validation.map((v) => ({
      path: `${error.validationContext ?? ''}${v.instancePath}`,
      message: v.message ?? 'invalid',
    }));
    return new ChatError('VALIDATION_ERROR', `Invalid request: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, { issues });
  }
  if (error instanceof ChatError) return error;
  if (typeof error.statusCode === 'number' && error.statusCode < 500) return new ChatError('VALIDATION_ERROR', error.message);
  logger.error({ err: error, url: request.url }, 'request failed');
  return toChatError(error);
}

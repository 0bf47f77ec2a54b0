import type { FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import {
  hasZodFastifySchemaValidationErrors,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import { asyncApiDocument, ChatError, errorEnvelope, toChatError } from '@chat/contracts';
import type { Logger } from '@chat/logger';
import { conversationRoutes, type ConversationRoutesDeps } from './conversation-routes.ts';
import { openapiTransform, openapiTransformObject } from './openapi.ts';

/**
 * The REST API: zod schemas from the contracts validate requests and answers and generate the OpenAPI
 * document (`/openapi.json`, UI at `/docs`); `/asyncapi.json` documents the Socket.IO events and NATS subjects.
 * Every error answers the spec's envelope with a stable code.
 */
export async function registerRestApi(
  app: FastifyInstance,
  deps: ConversationRoutesDeps & { logger: Logger; version: string; /** Serve `/docs`, `/openapi.json` and `/asyncapi.json`. */ docs: boolean },
): Promise<void> {
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  // Answers under /api carry a user's data (errors too may name their conversations): never kept by a cache
  // (a shared proxy, the browser's back button), never sniffed into another type. A relayed download's own
  // Cache-Control (`private, no-store`) replaces this one.
  app.addHook('onRequest', async (request, reply) => {
    if (request.url.startsWith('/api/')) reply.header('cache-control', 'no-store').header('x-content-type-options', 'nosniff');
  });

  if (deps.docs) {
    await app.register(swagger, {
      openapi: {
        info: { title: 'Real-time chat REST API', version: deps.version },
        components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
      },
      transform: openapiTransform,
      transformObject: openapiTransformObject,
    });
    await app.register(swaggerUi, { routePrefix: '/docs' });
    app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
    // The Socket.IO events and NATS subjects, from the same contracts.
    const asyncApi = asyncApiDocument({ version: deps.version });
    app.get('/asyncapi.json', { schema: { hide: true } }, async () => asyncApi);
  }

  app.setErrorHandler((error, request, reply) => {
    let chatError: ChatError;
    if (hasZodFastifySchemaValidationErrors(error)) {
      const issues = error.validation.map((v) => ({ path: `${error.validationContext ?? ''}${v.instancePath}`, message: v.message ?? 'invalid' }));
      chatError = new ChatError('VALIDATION_ERROR', `Invalid request: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, { issues });
    } else if (error instanceof ChatError) {
      chatError = error;
    } else if (typeof (error as { statusCode?: number }).statusCode === 'number' && (error as { statusCode: number }).statusCode < 500) {
      // Fastify's own client errors (bad JSON, wrong content type, body too large).
      chatError = new ChatError('VALIDATION_ERROR', (error as Error).message);
    } else {
      deps.logger.error({ err: error, url: request.url }, 'request failed');
      chatError = toChatError(error);
    }
    return reply.code(chatError.status).send(errorEnvelope(chatError));
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send(errorEnvelope(new ChatError('NOT_FOUND', `No route ${request.method} ${request.url.split('?')[0]}`))),
  );

  await app.withTypeProvider<ZodTypeProvider>().register(conversationRoutes(deps));
}

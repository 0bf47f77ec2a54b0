import type { FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { asyncApiDocument } from '@chat/contracts';
import { answerErrors } from '@chat/http-edge';
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
  deps: ConversationRoutesDeps & {
    logger: Logger;
    version: string /** Serve `/docs`, `/openapi.json` and `/asyncapi.json`. */;
    docs: boolean;
  },
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

  answerErrors(app, { logger: deps.logger });

  await app.withTypeProvider<ZodTypeProvider>().register(conversationRoutes(deps));
}

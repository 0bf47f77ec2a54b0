import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import {
  CONVERSATION_MESSAGES_ROUTE,
  CONVERSATIONS_ROUTE,
  ChatError,
  ConversationParamsSchema,
  CreateConversationBodySchema,
  ConversationListEnvelopeSchema,
  CreatedConversationEnvelopeSchema,
  ErrorEnvelopeSchema,
  ListConversationsQuerySchema,
  MessagesPageEnvelopeSchema,
  MessagesQuerySchema,
  otherParticipant,
  type BusNames,
  type UserId,
} from '@chat/contracts';
import type { TokenVerifier } from '@chat/auth';
import { rateLimited, type Limits } from '../limits/limits.ts';
import type { LimitName } from '../limits/policy.ts';
import type { Bus } from '@chat/bus';
import { authenticateFirst, requestUser } from './authenticate.ts';
import { requestDeadline } from './request-deadline.ts';
import { ok } from './reply.ts';

export interface ConversationRoutesDeps {
  bus: Bus;
  names: BusNames;
  verifier: TokenVerifier;
  /** Which of these users are online (the presence service); nobody, when it cannot tell. */
  onlineUsers: (userIds: UserId[]) => Promise<Set<UserId>>;
  /** How long a request (headers and body) may take to arrive (HTTP_REQUEST_TIMEOUT_MS). */
  requestTimeoutMs: number;
  /** Reads (list, history) and conversations created per user: `rest_read`, `conversation_create`. */
  limits?: Limits;
}

const errors = {
  400: ErrorEnvelopeSchema,
  401: ErrorEnvelopeSchema,
  403: ErrorEnvelopeSchema,
  404: ErrorEnvelopeSchema,
  408: ErrorEnvelopeSchema,
  429: ErrorEnvelopeSchema,
  500: ErrorEnvelopeSchema,
  503: ErrorEnvelopeSchema,
};

/** The spec's REST endpoints, answered by the messages service over NATS request/reply. */
export function conversationRoutes({
  bus,
  names,
  verifier,
  onlineUsers,
  requestTimeoutMs,
  limits,
}: ConversationRoutesDeps): FastifyPluginAsyncZod {
  const rpc = names.messagesService;
  const within = async (limit: LimitName, userId: UserId) => {
    const answer = await limits?.take(limit, userId);
    if (answer && !answer.allowed) throw rateLimited(limit, answer.retryAfterMs, 'Too many requests of this kind: slow down and retry');
  };
  return async (app) => {
    // Before the body is read: the deadline for all of it to arrive, and the token.
    app.addHook('onRequest', requestDeadline(requestTimeoutMs));
    app.addHook('onRequest', authenticateFirst(verifier));
    // An answer given before the whole body was read (401) closes the connection instead of reading the rest.
    app.addHook('onSend', async (request, reply) => {
      if (!request.raw.complete) reply.header('connection', 'close');
    });
    app.get(
      CONVERSATIONS_ROUTE,
      {
        schema: {
          operationId: 'listConversations',
          summary: "The caller's conversations, most recently active first",
          tags: ['chat'],
          security: [{ bearer: [] }],
          querystring: ListConversationsQuerySchema,
          response: { 200: ConversationListEnvelopeSchema, ...errors },
        },
      },
      async (request) => {
        const user = requestUser(request);
        await within('rest_read', user.userId);
        const { conversations } = await bus.request(rpc.listConversations, {
          userId: user.userId,
          limit: request.query.limit,
          ...(request.query.before ? { before: request.query.before } : {}),
        });
        // Online status only of partners (a message is stored): a conversation one merely opened tells nothing.
        const partnered = (c: (typeof conversations)[number]) => c.hasMessages ?? c.lastSeq > 0;
        const partners = conversations.filter(partnered).map((c) => c.otherUser._id);
        const online = partners.length === 0 ? new Set<UserId>() : await onlineUsers(partners).catch(() => new Set<UserId>());
        const data = conversations.map(({ hasMessages: _, ...c }) => ({
          ...c,
          otherUser: { ...c.otherUser, isOnline: online.has(c.otherUser._id) },
        }));
        return ok(200, 'Conversations retrieved successfully', data);
      },
    );

    app.get(
      CONVERSATION_MESSAGES_ROUTE,
      {
        schema: {
          operationId: 'getConversationMessages',
          summary: "A conversation's messages, oldest first within a page",
          description: 'page/limit as in the spec (page 1 is the newest), or a sequence cursor: before or after.',
          tags: ['chat'],
          security: [{ bearer: [] }],
          params: ConversationParamsSchema,
          querystring: MessagesQuerySchema,
          response: { 200: MessagesPageEnvelopeSchema, ...errors },
        },
      },
      async (request) => {
        const user = requestUser(request);
        await within('rest_read', user.userId);
        const { id } = request.params;
        if (!otherParticipant(id, user.userId)) throw new ChatError('NOT_PARTICIPANT');
        const { page, limit, before, after } = request.query;
        const data = await bus.request(rpc.history, {
          userId: user.userId,
          conversationId: id,
          limit,
          ...(page === undefined ? {} : { page }),
          ...(before === undefined ? {} : { beforeSeq: before }),
          ...(after === undefined ? {} : { afterSeq: after }),
        });
        return ok(200, 'Messages retrieved successfully', data);
      },
    );

    app.post(
      CONVERSATIONS_ROUTE,
      {
        schema: {
          operationId: 'createConversation',
          summary: 'Open the conversation with another user (idempotent)',
          tags: ['chat'],
          security: [{ bearer: [] }],
          body: CreateConversationBodySchema,
          response: { 201: CreatedConversationEnvelopeSchema, ...errors },
        },
      },
      async (request, reply) => {
        const user = requestUser(request);
        await within('conversation_create', user.userId);
        const { participantId, jobId } = request.body;
        if (participantId === user.userId) throw new ChatError('VALIDATION_ERROR', 'You cannot open a conversation with yourself');
        const { conversationId } = await bus.request(rpc.createConversation, {
          userId: user.userId,
          participantId,
          ...(jobId === undefined ? {} : { jobId }),
        });
        return reply.code(201).send(ok(201, 'Conversation created successfully', { conversationId }));
      },
    );
  };
}

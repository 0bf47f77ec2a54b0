import { z } from 'zod';
import { ErrorCodeSchema, type ChatError } from './errors.ts';
import { ConversationIdSchema, IsoDateSchema, MessageIdSchema, tokenIdSchema, UserIdSchema } from './ids.ts';
import { MessageSchema } from './message.ts';
import { UploadedFileSchema } from './uploads.ts';

/** The REST paths of the chat (the uploads' are in uploads.ts): Fastify's `:param` syntax. */
export const CONVERSATIONS_ROUTE = '/api/chat/conversations';
export const CONVERSATION_MESSAGES_ROUTE = '/api/chat/conversations/:id/messages';

/** The spec's envelope for every REST answer, success or error. */
export const envelope = <T extends z.ZodType>(data: T) => z.object({ status: z.number().int(), message: z.string(), data });

/** Errors use the same envelope with `data: null`, plus the stable `code` (additive). */
export const ErrorEnvelopeSchema = z.object({
  status: z.number().int(),
  message: z.string(),
  code: ErrorCodeSchema,
  data: z.null(),
  details: z.unknown().optional(),
});
export type ErrorEnvelope = z.infer<typeof ErrorEnvelopeSchema>;

/** A `ChatError` in the error envelope, as every HTTP edge answers it. */
export function errorEnvelope(error: ChatError): ErrorEnvelope {
  return {
    status: error.status,
    message: error.message,
    code: error.code,
    data: null,
    ...(error.details === undefined ? {} : { details: error.details }),
  };
}

export const JobIdSchema = tokenIdSchema('jobId');

/** A user as the chat knows them: kept from JWT claims at connect and from the users-updated subject. */
export const ProfileSchema = z.object({
  _id: UserIdSchema,
  name: z.string().max(200).nullable(),
  avatar: z.string().max(2048).nullable(),
});
export type Profile = z.infer<typeof ProfileSchema>;

export const LastMessageSchema = z.object({
  messageId: MessageIdSchema,
  text: z.string(),
  senderId: UserIdSchema,
  timestamp: IsoDateSchema,
  seq: z.number().int().positive(),
});

/** One row of `GET /api/chat/conversations`, for the caller. */
export const ConversationSummarySchema = z.object({
  _id: ConversationIdSchema,
  participants: z.array(UserIdSchema).length(2),
  lastMessage: LastMessageSchema.nullable(),
  /** The caller's unread messages in this conversation. */
  unreadCount: z.number().int().min(0),
  /** The newest sequence number, for `sync_messages` / `after` cursors. */
  lastSeq: z.number().int().min(0),
  otherUser: ProfileSchema.extend({ isOnline: z.boolean() }),
  jobId: JobIdSchema.nullable(),
  createdAt: IsoDateSchema,
  updatedAt: IsoDateSchema,
});
export type ConversationSummary = z.infer<typeof ConversationSummarySchema>;

const positiveIntParam = z.coerce.number().int().positive();

export const ListConversationsQuerySchema = z.strictObject({
  limit: positiveIntParam.max(100).default(50),
  /** Cursor: conversations last active before this time (the `updatedAt` of the last row seen). */
  before: IsoDateSchema.optional(),
});

export const ConversationParamsSchema = z.strictObject({ id: ConversationIdSchema });

/**
 * `page`/`limit` as in the spec (page 1 is the newest `limit` messages), or a cursor: `before` (older than that
 * sequence number) or `after` (newer than it). Messages are always returned oldest first.
 */
export const MessagesQuerySchema = z
  .strictObject({
    page: positiveIntParam.optional(),
    limit: positiveIntParam.max(100).default(50),
    before: positiveIntParam.optional(),
    after: z.coerce.number().int().min(0).optional(),
  })
  .refine((q) => [q.page, q.before, q.after].filter((v) => v !== undefined).length <= 1, {
    message: 'use at most one of page, before and after',
    path: ['page'],
  });
export type MessagesQuery = z.infer<typeof MessagesQuerySchema>;

export const MessagesPageSchema = z.object({
  messages: z.array(MessageSchema),
  hasMore: z.boolean(),
  totalPages: z.number().int().min(0),
});
export type MessagesPage = z.infer<typeof MessagesPageSchema>;

export const CreateConversationBodySchema = z.strictObject({
  participantId: UserIdSchema,
  jobId: JobIdSchema.optional(),
});
export const CreatedConversationSchema = z.object({ conversationId: ConversationIdSchema });

// ---- named schemas ------------------------------------------------------------------------------------

/** The envelopes the REST routes answer: one name each, so that generated clients get one type each. */
export const ConversationListEnvelopeSchema = envelope(z.array(ConversationSummarySchema));
export const MessagesPageEnvelopeSchema = envelope(MessagesPageSchema);
export const CreatedConversationEnvelopeSchema = envelope(CreatedConversationSchema);
export const UploadedFileEnvelopeSchema = envelope(UploadedFileSchema);

/**
 * The schemas the OpenAPI document names (`components.schemas`, referenced with `$ref`). A registry of its own,
 * not zod's global one, so that naming them changes no other `z.toJSONSchema` output.
 */
export const restSchemaRegistry = z.registry<{ id: string }>();
const named: [z.ZodType, string][] = [
  [MessageSchema, 'Message'],
  [ConversationSummarySchema, 'ConversationSummary'],
  [ProfileSchema, 'Profile'],
  [LastMessageSchema, 'LastMessage'],
  [MessagesPageSchema, 'MessagesPage'],
  [UploadedFileSchema, 'UploadedFile'],
  [ErrorEnvelopeSchema, 'ErrorEnvelope'],
  [ConversationListEnvelopeSchema, 'ConversationListEnvelope'],
  [MessagesPageEnvelopeSchema, 'MessagesPageEnvelope'],
  [CreatedConversationEnvelopeSchema, 'CreatedConversationEnvelope'],
  [UploadedFileEnvelopeSchema, 'UploadedFileEnvelope'],
];
for (const [schema, id] of named) restSchemaRegistry.add(schema, { id });

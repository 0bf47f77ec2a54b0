import { z } from 'zod';
import { endpointsOf, type Namespace } from './channel.ts';
import { ClientMessageIdSchema, ConversationIdSchema, IsoDateSchema, MessageIdSchema, UserIdSchema, type ConversationId } from './ids.ts';
import { MessageBodySchema, MessageSchema } from './message.ts';
import { ConversationSummarySchema, JobIdSchema, MessagesPageSchema, ProfileSchema } from './rest.ts';
import { FileIdSchema } from './uploads.ts';
import { ErrorPayloadSchema } from './errors.ts';
import { cleanName, safeAvatarUrl } from './text.ts';
import {
  MessageDeliveredPayloadSchema,
  MessageReadPayloadSchema,
  readScope,
  UserOnlineStatusPayloadSchema,
  UserTypingPayloadSchema,
} from './socket-events.ts';

/**
 * The messages service's contract: the conversation commands it consumes, the events and deliveries it
 * publishes, and its request/reply endpoints (requests and replies together). Subjects: `busNames` (bus.ts).
 */

/**
 * gateway → messages: the commands that change a conversation. They travel on one subject per partition of
 * conversations; one owner per partition works them in stream order (in batches, many in flight), so a
 * conversation's sends, receipts and reads are applied in order and can be made idempotent without transactions.
 */
export const SendMessageCommandSchema = z.object({
  type: z.literal('send'),
  conversationId: ConversationIdSchema,
  senderId: UserIdSchema,
  receiverId: UserIdSchema,
  clientMessageId: ClientMessageIdSchema,
  /** When the gateway accepted it: the message's `timestamp`. */
  sentAt: IsoDateSchema,
  body: MessageBodySchema,
});
export type SendMessageCommand = z.infer<typeof SendMessageCommandSchema>;

/** A receiver's device got these messages (reported by the gateway that emitted them). */
export const MarkDeliveredCommandSchema = z.object({
  type: z.literal('delivered'),
  conversationId: ConversationIdSchema,
  receiverId: UserIdSchema,
  messageIds: z.array(MessageIdSchema).min(1).max(1000),
  /**
   * The highest `seq` among `messageIds`: the receiver's delivered watermark moves up to it. Older gateways
   * leave it out; the messages service then looks the ids up.
   */
  upToSeq: z.number().int().positive().optional(),
  at: IsoDateSchema,
});
export type MarkDeliveredCommand = z.infer<typeof MarkDeliveredCommandSchema>;

/** The reader read these messages, or everything up to `upToSeq`. */
export const MarkReadCommandSchema = z.object({
  type: z.literal('read'),
  conversationId: ConversationIdSchema,
  readerId: UserIdSchema,
  ...readScope,
  at: IsoDateSchema,
});
export type MarkReadCommand = z.infer<typeof MarkReadCommandSchema>;

export const ConversationCommandSchema = z.discriminatedUnion('type', [
  SendMessageCommandSchema,
  MarkDeliveredCommandSchema,
  MarkReadCommandSchema,
]);
export type ConversationCommand = z.infer<typeof ConversationCommandSchema>;
export type ConversationCommandType = ConversationCommand['type'];

/** messages → anyone: a message was stored. Durable (JetStream), one per message. */
export const MessageCreatedEventSchema = z.object({ message: MessageSchema });
export type MessageCreatedEvent = z.infer<typeof MessageCreatedEventSchema>;

/**
 * Anything for the sockets of one user, on whichever gateways hold them (core NATS: a gateway that is not
 * subscribed has no socket of that user to deliver to).
 * - `new_message`: emit to the user's sockets (and resolve the sender's pending ack).
 * - `send_result`: the stored message for a send that was already stored once (a retry); it resolves the
 *   sender's pending ack and is not emitted as a new message.
 * - `send_failed`: a send the messages service refused for good (or set aside after repeated store errors);
 *   it answers the sender's pending ack with `error`.
 * - `message_delivered`, `message_read`, `user_typing`, `user_online_status`: emitted as the socket event of
 *   the same name with `payload`.
 */
export const UserDeliverySchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('new_message'), message: MessageSchema }),
  z.object({ type: z.literal('send_result'), message: MessageSchema }),
  z.object({ type: z.literal('send_failed'), senderId: UserIdSchema, clientMessageId: ClientMessageIdSchema, error: ErrorPayloadSchema }),
  z.object({ type: z.literal('message_delivered'), payload: MessageDeliveredPayloadSchema }),
  z.object({ type: z.literal('message_read'), payload: MessageReadPayloadSchema }),
  z.object({ type: z.literal('user_typing'), payload: UserTypingPayloadSchema }),
  z.object({ type: z.literal('user_online_status'), payload: UserOnlineStatusPayloadSchema }),
]);
export type UserDelivery = z.infer<typeof UserDeliverySchema>;

/** gateway → messages (request/reply): a sender's message by its clientMessageId, if stored. */
export const FindByClientMessageIdRequestSchema = z.object({
  senderId: UserIdSchema,
  clientMessageId: ClientMessageIdSchema,
});
export type FindByClientMessageIdRequest = z.infer<typeof FindByClientMessageIdRequestSchema>;
export const FindByClientMessageIdResponseSchema = z.object({ message: MessageSchema.nullable() });
export type FindByClientMessageIdResponse = z.infer<typeof FindByClientMessageIdResponseSchema>;

/** The caller's conversations, most recently active first; `otherUser.isOnline` is added by the gateway. */
export const ListConversationsRequestSchema = z.object({
  userId: UserIdSchema,
  limit: z.number().int().min(1).max(100),
  before: IsoDateSchema.optional(),
});
export type ListConversationsRequest = z.infer<typeof ListConversationsRequestSchema>;
export const ConversationRecordSchema = ConversationSummarySchema.extend({
  otherUser: ProfileSchema,
  /**
   * A message is stored in it, so its participants are partners and may see each other's online status (the
   * list's `isOnline`). Not in REST answers. Absent from earlier versions: tell by `lastSeq` then.
   */
  hasMessages: z.boolean().optional(),
});
export type ConversationRecord = z.infer<typeof ConversationRecordSchema>;
export const ListConversationsResponseSchema = z.object({ conversations: z.array(ConversationRecordSchema) });
export type ListConversationsResponse = z.infer<typeof ListConversationsResponseSchema>;

export const CreateConversationRequestSchema = z.object({
  userId: UserIdSchema,
  participantId: UserIdSchema,
  jobId: JobIdSchema.optional(),
});
export type CreateConversationRequest = z.infer<typeof CreateConversationRequestSchema>;
export const CreateConversationResponseSchema = z.object({ conversationId: ConversationIdSchema, created: z.boolean() });
export type CreateConversationResponse = z.infer<typeof CreateConversationResponseSchema>;

/** A page of a conversation's history for a participant (see `MessagesQuerySchema`). */
export const HistoryRequestSchema = z.object({
  userId: UserIdSchema,
  conversationId: ConversationIdSchema,
  limit: z.number().int().min(1).max(500),
  page: z.number().int().positive().optional(),
  beforeSeq: z.number().int().positive().optional(),
  afterSeq: z.number().int().min(0).optional(),
});
export type HistoryRequest = z.infer<typeof HistoryRequestSchema>;
export const HistoryResponseSchema = MessagesPageSchema;
export type HistoryResponse = z.infer<typeof HistoryResponseSchema>;

/**
 * Messages to a user that no device of theirs has received yet, by conversation and in sequence order, after
 * an optional cursor (the last message of the previous page).
 */
export const UndeliveredRequestSchema = z.object({
  userId: UserIdSchema,
  limit: z.number().int().min(1).max(1000),
  after: z.object({ conversationId: ConversationIdSchema, seq: z.number().int().positive() }).optional(),
});
export type UndeliveredRequest = z.infer<typeof UndeliveredRequestSchema>;
/** How far the other participant of a conversation has received and read: for a sender's device that was away. */
export const ReceiptStateSchema = z.object({
  conversationId: ConversationIdSchema,
  /** The other participant (who received and read). */
  receiverId: UserIdSchema,
  delivered: z.object({ seq: z.number().int().positive(), messageId: MessageIdSchema }).optional(),
  read: z.object({ seq: z.number().int().positive(), messageId: MessageIdSchema }).optional(),
});
export type ReceiptState = z.infer<typeof ReceiptStateSchema>;
export const UndeliveredResponseSchema = z.object({
  messages: z.array(MessageSchema),
  hasMore: z.boolean(),
  /** On the first page: the receipts of the user's most recently active conversations. */
  receipts: z.array(ReceiptStateSchema).optional(),
});
export type UndeliveredResponse = z.infer<typeof UndeliveredResponseSchema>;

/**
 * gateway → messages (request/reply): whether the conversation is stored (opened over REST, or by a message) and
 * whether a message is stored in it, which makes its participants partners (who may see each other's status).
 * `hasMessages` is absent from the answers of earlier versions: read as false, so status stays private.
 */
export const ConversationExistsRequestSchema = z.object({ conversationId: ConversationIdSchema });
export type ConversationExistsRequest = z.infer<typeof ConversationExistsRequestSchema>;
export const ConversationExistsResponseSchema = z.object({ exists: z.boolean(), hasMessages: z.boolean().default(false) });
export type ConversationExistsResponse = z.infer<typeof ConversationExistsResponseSchema>;

/**
 * uploads → messages (request/reply): whether `userId` takes part in a conversation in which `ownerId` sent a
 * message referencing `fileId` (then `userId` may download it).
 */
export const FileSharedRequestSchema = z.object({ fileId: FileIdSchema, ownerId: UserIdSchema, userId: UserIdSchema });
export type FileSharedRequest = z.infer<typeof FileSharedRequestSchema>;
export const FileSharedResponseSchema = z.object({ shared: z.boolean() });
export type FileSharedResponse = z.infer<typeof FileSharedResponseSchema>;

/**
 * A user's name or avatar changed. The surrounding app may publish it (JetStream or core NATS); gateways
 * publish it from JWT claims at connect. `null` clears a field, an absent field is left as it is. Both reach
 * other users, so they are kept only as something safe to show: the name cleaned as text (`cleanName`; one
 * with nothing visible is `null`), the avatar only as an http(s) URL (`javascript:`, `data:` … are `null`).
 */
export const UserUpdatedEventSchema = z.object({
  userId: UserIdSchema,
  name: z.string().max(200).transform(cleanName).nullable().optional(),
  avatar: z
    .string()
    .max(2048)
    .transform((avatar) => {
      const safe = safeAvatarUrl(avatar);
      return safe !== null && safe.length <= 2048 ? safe : null;
    })
    .nullable()
    .optional(),
});
export type UserUpdatedEvent = z.infer<typeof UserUpdatedEventSchema>;

// ---- partitions ---------------------------------------------------------------------------------------

/**
 * Conversation commands are partitioned by conversation; one owner per partition works them in stream order, in
 * batches with many in flight: per-conversation order and exact unread counts without transactions.
 * Gateways and the messages service must agree on the count.
 */
export const DEFAULT_MESSAGE_PARTITIONS = 16;

/**
 * FNV-1a 32-bit with a final avalanche (MurmurHash3's fmix32): stable across processes and versions, and the
 * low bits (which `%` keeps) depend on every character, which plain FNV-1a's do not.
 */
export function partitionOf(conversationId: ConversationId, partitions: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < conversationId.length; i++) {
    hash ^= conversationId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return (hash >>> 0) % partitions;
}

// ---- endpoints ----------------------------------------------------------------------------------------

/** The messages service's request/reply endpoints (a NATS micro service), reached through `busNames(ns)`. */
export function messagesEndpoints(ns: Namespace) {
  const endpoint = endpointsOf(ns, 'messages');
  return {
    name: 'messages',
    findByClientMessageId: endpoint('find-by-client-id', FindByClientMessageIdRequestSchema, FindByClientMessageIdResponseSchema, {
      summary: "A sender's message by its clientMessageId, if stored",
      callers: ['gateway'],
    }),
    listConversations: endpoint('list-conversations', ListConversationsRequestSchema, ListConversationsResponseSchema, {
      summary: "A user's conversations, most recently active first",
      callers: ['gateway'],
    }),
    createConversation: endpoint('create-conversation', CreateConversationRequestSchema, CreateConversationResponseSchema, {
      summary: 'Open a conversation (idempotent)',
      callers: ['gateway'],
    }),
    history: endpoint('history', HistoryRequestSchema, HistoryResponseSchema, {
      summary: "A page of a conversation's history",
      callers: ['gateway'],
    }),
    undelivered: endpoint('undelivered', UndeliveredRequestSchema, UndeliveredResponseSchema, {
      summary: 'Messages to a user no device of theirs has received, and the receipts of their conversations',
      callers: ['gateway'],
    }),
    conversationExists: endpoint('conversation-exists', ConversationExistsRequestSchema, ConversationExistsResponseSchema, {
      summary: 'Whether a conversation is stored and has messages (its participants are partners)',
      callers: ['gateway'],
    }),
    fileShared: endpoint('file-shared', FileSharedRequestSchema, FileSharedResponseSchema, {
      summary: 'Whether a file was sent in a conversation of the user (who may then download it)',
      callers: ['uploads'],
    }),
  } as const;
}
export type MessagesEndpoints = ReturnType<typeof messagesEndpoints>;

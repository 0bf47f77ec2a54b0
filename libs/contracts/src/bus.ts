import { z } from 'zod';
import { ClientMessageIdSchema, ConversationIdSchema, MessageIdSchema, UserIdSchema, type ConversationId, type UserId } from './ids.ts';
import { MessageBodySchema, MessageSchema } from './message.ts';
import { ConversationSummarySchema, JobIdSchema, MessagesPageSchema, ProfileSchema } from './rest.ts';
import { ConversationExistsRequestSchema, presenceNames } from './presence.ts';
import { uploadNames } from './uploads.ts';
import { ErrorPayloadSchema } from './errors.ts';
import { cleanName, safeAvatarUrl } from './text.ts';
import {
  MessageDeliveredPayloadSchema,
  MessageReadPayloadSchema,
  UserOnlineStatusPayloadSchema,
  UserTypingPayloadSchema,
} from './socket-events.ts';

/**
 * Every NATS subject, stream and payload of the system. Subjects are built only by these functions, from
 * validated tokens, under a namespace so that several deployments (or test runs) can share one NATS.
 */
export const NamespaceSchema = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,31}$/, 'a namespace is 1-32 lower-case letters, digits or "-", starting with a letter');
export type Namespace = z.infer<typeof NamespaceSchema>;

/** A subject together with the schema of what travels on it. */
export interface Channel<T> {
  readonly subject: string;
  readonly schema: z.ZodType<T>;
  /** The subject with its ids left out, for span names and metric labels (low cardinality). */
  readonly name?: string;
}

const channel = <T>(subject: string, schema: z.ZodType<T>, name?: string): Channel<T> =>
  name === undefined ? { subject, schema } : { subject, schema, name };

// ---- payloads -----------------------------------------------------------------------------------------

/**
 * gateway → messages: the commands that change a conversation. They travel on one subject per partition of
 * conversations and are applied one at a time per partition, so a conversation's sends, receipts and reads
 * are applied in order and can be made idempotent with single-document writes.
 */
export const SendMessageCommandSchema = z.object({
  type: z.literal('send'),
  conversationId: ConversationIdSchema,
  senderId: UserIdSchema,
  receiverId: UserIdSchema,
  clientMessageId: ClientMessageIdSchema,
  /** When the gateway accepted it: the message's `timestamp`. */
  sentAt: z.iso.datetime({ offset: true }),
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
  at: z.iso.datetime({ offset: true }),
});
export type MarkDeliveredCommand = z.infer<typeof MarkDeliveredCommandSchema>;

/** The reader read these messages, or everything up to `upToSeq`. */
export const MarkReadCommandSchema = z.object({
  type: z.literal('read'),
  conversationId: ConversationIdSchema,
  readerId: UserIdSchema,
  messageIds: z.array(MessageIdSchema).min(1).max(500).optional(),
  upToSeq: z.number().int().positive().optional(),
  at: z.iso.datetime({ offset: true }),
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
  before: z.iso.datetime({ offset: true }).optional(),
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
 * A user's name or avatar changed. The surrounding app may publish it (JetStream or core NATS); gateways
 * publish it from JWT claims at connect. `null` clears a field, an absent field is left as it is. Both reach
 * other users, so they are kept only as something safe to show: the name cleaned as text (`cleanName`; one
 * with nothing visible is `null`), the avatar only as an http(s) URL (`javascript:`, `data:` … are `null`).
 */
export const UserUpdatedEventSchema = z.object({
  userId: UserIdSchema,
  name: z
    .string()
    .max(200)
    .transform(cleanName)
    .nullable()
    .optional(),
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
 * Send commands are partitioned by conversation so that each partition is consumed in order (one message in
 * flight per partition): per-conversation order and exact unread counts without transactions.
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

// ---- subjects and streams -----------------------------------------------------------------------------

/** Stream and subject names of one namespace. */
export function busNames(ns: Namespace) {
  const NS = ns.toUpperCase();
  const rpc = (name: string) => `${ns}.rpc.messages.${name}`;
  const endpoint = <T>(name: string, schema: z.ZodType<T>) => channel(rpc(name), schema, `rpc.messages.${name}`);
  return {
    streams: {
      /** Commands for services, work-queue retention: a command leaves once its consumer acks it. */
      commands: { name: `${NS}_COMMANDS`, subjects: [`${ns}.cmd.>`] },
      /** Domain events, kept for replay by new consumers. */
      events: { name: `${NS}_EVENTS`, subjects: [`${ns}.evt.>`] },
      /** Commands set aside after repeated failures, for an operator to inspect and replay. */
      deadLetter: { name: `${NS}_DEADLETTER`, subjects: [`${ns}.dlq.>`] },
    },
    consumers: {
      /** One durable consumer per partition of the conversation commands. */
      conversation: (partition: number) => `messages-conversation-${partition}`,
      /** The pinned-client priority group of the partition consumers: one replica owns a partition at a time. */
      conversationOwners: 'owners',
      /** The messages service's copy of users' names and avatars. */
      profiles: 'messages-profiles',
    },
    conversationFilter: (partition: number) => `${ns}.cmd.conv.${partition}.>`,
    /** Where a command that failed too often is parked: its own subject under the dead-letter prefix. */
    deadLetter: (subject: string) => `${ns}.dlq.${subject.startsWith(`${ns}.`) ? subject.slice(ns.length + 1) : subject}`,
    conversationCommand: (partition: number, conversationId: ConversationId, type: ConversationCommandType) =>
      channel(`${ns}.cmd.conv.${partition}.${conversationId}.${type}`, ConversationCommandSchema, `cmd.conv.${type}`),
    messageCreated: (conversationId: ConversationId) =>
      channel(`${ns}.evt.message.created.${conversationId}`, MessageCreatedEventSchema, 'evt.message.created'),
    userUpdated: (userId: UserId) => channel(`${ns}.evt.user.updated.${userId}`, UserUpdatedEventSchema, 'evt.user.updated'),
    userUpdatedFilter: `${ns}.evt.user.updated.*`,
    userDelivery: (userId: UserId) => channel(`${ns}.deliver.user.${userId}`, UserDeliverySchema, 'deliver.user'),
    /** The messages service's request/reply endpoints (a NATS micro service). */
    messagesService: {
      name: 'messages',
      findByClientMessageId: endpoint('find-by-client-id', FindByClientMessageIdRequestSchema),
      listConversations: endpoint('list-conversations', ListConversationsRequestSchema),
      createConversation: endpoint('create-conversation', CreateConversationRequestSchema),
      history: endpoint('history', HistoryRequestSchema),
      undelivered: endpoint('undelivered', UndeliveredRequestSchema),
      conversationExists: channel(rpc('conversation-exists'), ConversationExistsRequestSchema),
    },
    /** The presence service's endpoints and the per-user status changes (see presence.ts). */
    presence: presenceNames(ns),
    /** The uploads service's endpoints and events (see uploads.ts). */
    uploads: uploadNames(ns),
  } as const;
}
export type BusNames = ReturnType<typeof busNames>;

/** The JetStream dedupe id of a send: the same sender and clientMessageId are one message. */
export function sendMessageMsgId(senderId: UserId, clientMessageId: string): string {
  return `send:${senderId}:${clientMessageId}`;
}

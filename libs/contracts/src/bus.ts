import { z } from 'zod';
import { ClientMessageIdSchema, ConversationIdSchema, UserIdSchema, type ConversationId, type UserId } from './ids.ts';
import { MessageBodySchema, MessageSchema } from './message.ts';
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
}

const channel = <T>(subject: string, schema: z.ZodType<T>): Channel<T> => ({ subject, schema });

// ---- payloads -----------------------------------------------------------------------------------------

/** gateway → messages: store this message. Durable (JetStream), deduplicated by `sendMessageMsgId`. */
export const SendMessageCommandSchema = z
  .object({
    conversationId: ConversationIdSchema,
    senderId: UserIdSchema,
    receiverId: UserIdSchema,
    clientMessageId: ClientMessageIdSchema,
    /** When the gateway accepted it: the message's `timestamp`. */
    sentAt: z.iso.datetime({ offset: true }),
  })
  .and(MessageBodySchema);
export type SendMessageCommand = z.infer<typeof SendMessageCommandSchema>;

/** messages → anyone: a message was stored. Durable (JetStream), one per message. */
export const MessageCreatedEventSchema = z.object({ message: MessageSchema });
export type MessageCreatedEvent = z.infer<typeof MessageCreatedEventSchema>;

/**
 * Anything for the sockets of one user, on whichever gateways hold them (core NATS: a gateway that is not
 * subscribed has no socket of that user to deliver to).
 * - `new_message`: emit to the user's sockets (and resolve the sender's pending ack).
 * - `send_result`: the stored message for a send that was already stored once (a retry); it resolves the
 *   sender's pending ack and is not emitted as a new message.
 * - `message_delivered`, `message_read`, `user_typing`, `user_online_status`: emitted as the socket event of
 *   the same name with `payload`.
 */
export const UserDeliverySchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('new_message'), message: MessageSchema }),
  z.object({ type: z.literal('send_result'), message: MessageSchema }),
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
  return {
    streams: {
      /** Commands for services, work-queue retention: a command leaves once its consumer acks it. */
      commands: { name: `${NS}_COMMANDS`, subjects: [`${ns}.cmd.>`] },
      /** Domain events, kept for replay by new consumers. */
      events: { name: `${NS}_EVENTS`, subjects: [`${ns}.evt.>`] },
    },
    consumers: {
      /** One durable consumer per partition of the send commands. */
      sendMessage: (partition: number) => `messages-send-${partition}`,
    },
    sendMessageFilter: (partition: number) => `${ns}.cmd.message.send.${partition}.*`,
    sendMessage: (partition: number, conversationId: ConversationId) =>
      channel(`${ns}.cmd.message.send.${partition}.${conversationId}`, SendMessageCommandSchema),
    messageCreated: (conversationId: ConversationId) =>
      channel(`${ns}.evt.message.created.${conversationId}`, MessageCreatedEventSchema),
    userDelivery: (userId: UserId) => channel(`${ns}.deliver.user.${userId}`, UserDeliverySchema),
    /** The messages service's request/reply endpoints (a NATS micro service). */
    messagesService: {
      name: 'messages',
      findByClientMessageId: channel(`${ns}.rpc.messages.find-by-client-id`, FindByClientMessageIdRequestSchema),
      findByClientMessageIdReply: FindByClientMessageIdResponseSchema,
    },
  } as const;
}
export type BusNames = ReturnType<typeof busNames>;

/** The JetStream dedupe id of a send: the same sender and clientMessageId are one message. */
export function sendMessageMsgId(senderId: UserId, clientMessageId: string): string {
  return `send:${senderId}:${clientMessageId}`;
}

import { z } from 'zod';
import { ErrorPayloadSchema, type ErrorPayload } from './errors.ts';
import { ClientMessageIdSchema, ConversationIdSchema, IsoDateSchema, MessageIdSchema, UserIdSchema } from './ids.ts';
import { MessageSchema, MessageTypeSchema } from './message.ts';

// ---- client → server payloads -------------------------------------------------------------------------

export const AuthenticatePayloadSchema = z.object({ token: z.string().min(1).max(8192) });

export const JoinConversationPayloadSchema = z.object({
  conversationId: ConversationIdSchema,
  /** The spec sends it; when present it must be the authenticated user. */
  userId: UserIdSchema.optional(),
});

/**
 * `send_message`. `content` is checked against `messageType` after this envelope passes, so that an
 * unsupported type and bad content get distinct codes.
 */
export const SendMessagePayloadSchema = z.object({
  conversationId: ConversationIdSchema,
  receiverId: UserIdSchema,
  messageType: MessageTypeSchema,
  content: z.record(z.string(), z.unknown()),
  /** The client's own id for this message; resending with the same id never stores it twice. */
  clientMessageId: ClientMessageIdSchema.optional(),
});

export const TypingPayloadSchema = z.object({ conversationId: ConversationIdSchema });

/**
 * What a read covers: the spec's `messageIds`, or (additive) `upToSeq`, everything received up to that sequence
 * number. The same fields in the event, its ack and the command the gateway queues.
 */
export const readScope = {
  messageIds: z.array(MessageIdSchema).min(1).max(500).optional(),
  upToSeq: z.number().int().positive().optional(),
};

export const MarkAsReadPayloadSchema = z
  .object({ conversationId: ConversationIdSchema, ...readScope })
  .refine((p) => (p.messageIds === undefined) !== (p.upToSeq === undefined), {
    message: 'give exactly one of messageIds and upToSeq',
    path: ['messageIds'],
  });

/** Additive: the messages of a conversation after a sequence number, oldest first (catch-up per device). */
export const SyncMessagesPayloadSchema = z.object({
  conversationId: ConversationIdSchema,
  afterSeq: z.number().int().min(0),
  limit: z.number().int().min(1).max(500).default(100),
});
export const SyncMessagesAckSchema = z.object({ messages: z.array(MessageSchema), hasMore: z.boolean() });

export const GetOnlineStatusPayloadSchema = z.object({ userId: UserIdSchema });

// ---- server → client payloads -------------------------------------------------------------------------

export const AuthenticatedPayloadSchema = z.object({ userId: UserIdSchema, success: z.literal(true) });
export const JoinedPayloadSchema = z.object({ conversationId: ConversationIdSchema });
export const MessageDeliveredPayloadSchema = z.object({
  messageId: MessageIdSchema,
  conversationId: ConversationIdSchema.optional(),
  /** Every message to the receiver up to this sequence number has reached a device of theirs. */
  upToSeq: z.number().int().positive().optional(),
});
export const MessageReadPayloadSchema = z.object({
  messageIds: z.array(MessageIdSchema),
  readBy: UserIdSchema,
  conversationId: ConversationIdSchema.optional(),
  /** Set when the reader marked everything up to this sequence number as read. */
  upToSeq: z.number().int().positive().optional(),
});
export const UserTypingPayloadSchema = z.object({
  conversationId: ConversationIdSchema,
  userId: UserIdSchema,
  isTyping: z.boolean(),
});
export const UserOnlineStatusPayloadSchema = z.object({
  userId: UserIdSchema,
  isOnline: z.boolean(),
  lastSeen: IsoDateSchema.nullable(),
});

// ---- the event maps -----------------------------------------------------------------------------------

/** Events clients emit: each payload schema, and the schema of `data` in a successful ack. */
export const clientEvents = {
  authenticate: { payload: AuthenticatePayloadSchema, ack: AuthenticatedPayloadSchema },
  join_conversation: { payload: JoinConversationPayloadSchema, ack: JoinedPayloadSchema },
  send_message: { payload: SendMessagePayloadSchema, ack: MessageSchema },
  typing_start: { payload: TypingPayloadSchema, ack: z.object({}) },
  typing_stop: { payload: TypingPayloadSchema, ack: z.object({}) },
  mark_as_read: {
    payload: MarkAsReadPayloadSchema,
    ack: z.object({ conversationId: ConversationIdSchema, ...readScope }),
  },
  sync_messages: { payload: SyncMessagesPayloadSchema, ack: SyncMessagesAckSchema },
  get_online_status: { payload: GetOnlineStatusPayloadSchema, ack: UserOnlineStatusPayloadSchema },
} as const;

/** Events the server emits. */
export const serverEvents = {
  authenticated: AuthenticatedPayloadSchema,
  new_message: MessageSchema,
  message_delivered: MessageDeliveredPayloadSchema,
  message_read: MessageReadPayloadSchema,
  user_typing: UserTypingPayloadSchema,
  user_online_status: UserOnlineStatusPayloadSchema,
  error: ErrorPayloadSchema,
} as const;

export type ClientEventName = keyof typeof clientEvents;
export type ServerEventName = keyof typeof serverEvents;
export const CLIENT_EVENT_NAMES = Object.keys(clientEvents) as ClientEventName[];

export type ClientEventPayload<E extends ClientEventName> = z.input<(typeof clientEvents)[E]['payload']>;
export type ParsedClientEventPayload<E extends ClientEventName> = z.output<(typeof clientEvents)[E]['payload']>;
export type ClientEventAckData<E extends ClientEventName> = z.output<(typeof clientEvents)[E]['ack']>;
export type ServerEventPayload<E extends ServerEventName> = z.output<(typeof serverEvents)[E]>;

/** Every acknowledgement: the data on success, the same payload as the `error` event otherwise. */
export type Ack<T> = { ok: true; data: T } | { ok: false; error: ErrorPayload };
export type AckCallback<T> = (response: Ack<T>) => void;

/** Socket.IO's listen map as a client sees it (socket.io-client's emit side). */
export type ClientToServerEvents = {
  [E in ClientEventName]: (payload: ClientEventPayload<E>, ack?: AckCallback<ClientEventAckData<E>>) => void;
};

/**
 * The same map as the server receives it: payloads are untrusted until validated, so they are `unknown`,
 * and the ack is whatever the client passed.
 */
export type ServerListenEvents = {
  [E in ClientEventName]: (payload: unknown, ack?: unknown) => void;
};

/**
 * Handshake option (`auth: { token, deliveryAcks: true }`): the client acknowledges every `new_message` (calls the
 * callback the server passes with it) once its device has the message. Only then is the message reported
 * delivered; one it does not acknowledge in time stays undelivered and is delivered again on the next connect
 * (same `_id`). Clients without it are reported delivered when the server emits, as before.
 */
export const DELIVERY_ACKS_AUTH_FIELD = 'deliveryAcks';

/** How long the server waits for a device's acknowledgement of a `new_message` (with `deliveryAcks`). */
export const DELIVERY_ACK_TIMEOUT_MS = 10_000;

export type ServerToClientEvents = {
  [E in Exclude<ServerEventName, 'new_message'>]: (payload: ServerEventPayload<E>) => void;
} & {
  /** With `deliveryAcks`, the client calls `ack` once its device has the message. */
  new_message: (payload: ServerEventPayload<'new_message'>, ack?: () => void) => void;
};

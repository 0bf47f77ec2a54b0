import { z } from 'zod';
import { ClientMessageIdSchema, ConversationIdSchema, MessageIdSchema, UserIdSchema } from './ids.ts';

/** Every message type of the spec. Only `text` is accepted until uploads and offers land. */
export const MESSAGE_TYPES = ['text', 'image', 'file', 'offer'] as const;
export const MessageTypeSchema = z.enum(MESSAGE_TYPES);
export type MessageType = z.infer<typeof MessageTypeSchema>;

export const SUPPORTED_MESSAGE_TYPES = ['text'] as const satisfies readonly MessageType[];

export const MAX_TEXT_LENGTH = 4000;
/** Control characters other than tab (\u0009) and newline (\u000A). */
// eslint-disable-next-line no-control-regex
const FORBIDDEN_CONTROL = /[\u0000-\u0008\u000B-\u001F\u007F]/;

/** `text` content: 1-4,000 characters with something visible, no control characters but newline and tab. */
export const TextContentSchema = z.object({
  text: z
    .string()
    .max(MAX_TEXT_LENGTH, `text is at most ${MAX_TEXT_LENGTH} characters`)
    .refine((t) => t.trim().length > 0, 'text must not be empty')
    .refine((t) => !FORBIDDEN_CONTROL.test(t), 'text must not contain control characters other than newline and tab'),
});
export type TextContent = z.infer<typeof TextContentSchema>;

/** A message's content, by type: the discriminated union grows as message types land. */
export const MessageBodySchema = z.discriminatedUnion('messageType', [
  z.object({ messageType: z.literal('text'), content: TextContentSchema }),
]);
export type MessageBody = z.infer<typeof MessageBodySchema>;

export const MessageStatusSchema = z.enum(['sent', 'delivered', 'read']);
export type MessageStatus = z.infer<typeof MessageStatusSchema>;

const IsoDateSchema = z.iso.datetime({ offset: true });

/**
 * A stored message as clients see it (`new_message`, acks, history): the spec's Message model with ids as
 * strings and dates as ISO-8601. `seq`, `clientMessageId` and `receiverId` are additive.
 */
export const MessageSchema = z.object({
  _id: MessageIdSchema,
  conversationId: ConversationIdSchema,
  senderId: UserIdSchema,
  receiverId: UserIdSchema,
  messageType: MessageTypeSchema,
  content: TextContentSchema,
  status: MessageStatusSchema,
  /** Position in its conversation: strictly increasing; a gap is possible only after a crash. */
  seq: z.number().int().positive(),
  clientMessageId: ClientMessageIdSchema,
  timestamp: IsoDateSchema,
  createdAt: IsoDateSchema,
});
export type Message = z.infer<typeof MessageSchema>;

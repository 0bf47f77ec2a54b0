import { z } from 'zod';
import { ClientMessageIdSchema, ConversationIdSchema, IsoDateSchema, MessageIdSchema, tokenIdSchema, UserIdSchema } from './ids.ts';
import { cleanFileName, cleanText, hasVisibleText } from './text.ts';

/** Every message type of the spec. */
export const MESSAGE_TYPES = ['text', 'image', 'file', 'offer'] as const;
export const MessageTypeSchema = z.enum(MESSAGE_TYPES);
export type MessageType = z.infer<typeof MessageTypeSchema>;

export const MAX_TEXT_LENGTH = 4000;
/** Control characters other than tab (\u0009) and newline (\u000A). */
// eslint-disable-next-line no-control-regex
const FORBIDDEN_CONTROL = /[\u0000-\u0008\u000B-\u001F\u007F]/;
// eslint-disable-next-line no-control-regex
const ANY_CONTROL = /[\u0000-\u001F\u007F]/;

const TextSchema = z
  .string()
  .max(MAX_TEXT_LENGTH, `text is at most ${MAX_TEXT_LENGTH} characters`)
  .refine(hasVisibleText, 'text must not be empty or only invisible characters')
  .refine((t) => !FORBIDDEN_CONTROL.test(t), 'text must not contain control characters other than newline and tab');

/**
 * Text as a sender writes it: cleaned (`cleanText`: bidi and control characters removed, NFC, lone surrogates
 * as U+FFFD), then held to `TextSchema`. What is stored, acknowledged and shown is the cleaned text.
 */
const WrittenTextSchema = z.string().transform(cleanText).pipe(TextSchema);

/** `text` content: 1-4,000 characters with something visible, no control characters but newline and tab. */
export const TextContentSchema = z.object({ text: TextSchema });
export type TextContent = z.infer<typeof TextContentSchema>;

/** Where an uploaded file is served: a path on this system (`/api/...`, `/uploads/...`) or an https URL. */
const FileUrlSchema = z
  .string()
  .max(2048)
  .refine((url) => /^\/[^/\\]/.test(url) || /^https:\/\/[^\s]+$/.test(url), 'fileUrl must be a path starting with "/" or an https URL')
  .refine((url) => !ANY_CONTROL.test(url) && !url.includes('..'), 'fileUrl must not contain control characters or ".."');

const FileNameSchema = z
  .string()
  .min(1)
  .max(255)
  .refine((name) => !ANY_CONTROL.test(name) && !/[/\\]/.test(name), 'fileName must be a plain name');

/**
 * `image` and `file` content: a reference to an upload. Whether it exists and belongs to the sender is checked
 * by the uploads service once it exists; `text` is an optional caption.
 */
export const FileContentSchema = z.object({
  fileUrl: FileUrlSchema,
  /** The upload's id, as `POST /api/common/upload` answers it. */
  fileId: tokenIdSchema('fileId').optional(),
  fileName: FileNameSchema,
  fileSize: z
    .number()
    .int()
    .positive()
    .max(1024 * 1024 * 1024),
  mimeType: z
    .string()
    .regex(/^[\w.+-]+\/[\w.+-]+$/, 'mimeType must be a type/subtype')
    .optional(),
  text: TextSchema.optional(),
});
export type FileContent = z.infer<typeof FileContentSchema>;

/**
 * A key MongoDB stores as written: not starting with `$` (an operator), without `.` (a path separator) or NUL.
 * Anything else would make the database refuse the message after it was queued.
 */
export function isStorableKey(key: string): boolean {
  return !key.startsWith('$') && !key.includes('.') && !key.includes('\u0000');
}

/** The first key at any depth of `value` that MongoDB would refuse, as a path, or undefined. */
export function unstorableKeyPath(value: unknown, path: string[] = []): string | undefined {
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) {
      const found = unstorableKeyPath(item, [...path, String(i)]);
      if (found !== undefined) return found;
    }
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      if (!isStorableKey(key)) return [...path, JSON.stringify(key)].join('.');
      const found = unstorableKeyPath(item, [...path, key]);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

const MAX_OFFER_DETAILS_BYTES = 4096;
const OfferDetailValueSchema = z.union([
  z.string().max(1000),
  z.number().finite(),
  z.boolean(),
  z.null(),
  z.array(z.union([z.string().max(200), z.number().finite()])).max(50),
]);
type OfferDetailValue = z.infer<typeof OfferDetailValueSchema>;
const WrittenDetailString = (max: number) => z.string().transform(cleanText).pipe(z.string().max(max));
const WrittenOfferDetailValueSchema = z.union([
  WrittenDetailString(1000),
  z.number().finite(),
  z.boolean(),
  z.null(),
  z.array(z.union([WrittenDetailString(200), z.number().finite()])).max(50),
]);

function offerDetailsOf<V extends z.ZodType<OfferDetailValue, unknown>>(values: V) {
  return z
    .record(OfferDetailKeySchema, values)
    .refine((details) => Object.keys(details).length <= 30, 'offerDetails has at most 30 keys')
    .refine(
      (details) => new TextEncoder().encode(JSON.stringify(details)).length <= MAX_OFFER_DETAILS_BYTES,
      `offerDetails is at most ${MAX_OFFER_DETAILS_BYTES} bytes of JSON`,
    )
    .optional();
}

const OfferDetailKeySchema = z
  .string()
  .min(1)
  .max(64)
  .refine(isStorableKey, 'offerDetails keys must not start with "$" or contain "." or NUL');

/** `offer` content: a positive amount, an optional ISO-4217 currency, small flat details, an optional note. */
export const OfferContentSchema = z.object({
  offerAmount: z.number().positive().finite().max(1_000_000_000),
  currency: z
    .string()
    .regex(/^[A-Z]{3}$/, 'currency is an ISO 4217 code such as USD')
    .optional(),
  offerDetails: offerDetailsOf(OfferDetailValueSchema),
  text: TextSchema.optional(),
});
export type OfferContent = z.infer<typeof OfferContentSchema>;

/*
 * The contents as a sender writes them: every text another user is shown is cleaned first (`cleanText`,
 * `cleanFileName`), so the stored message and its ack are what the receiver sees. The shown schemas above check
 * without transforming (they also describe answers, which the OpenAPI document is generated from).
 */
const WrittenTextContentSchema = z.object({ text: WrittenTextSchema });
const WrittenFileContentSchema = FileContentSchema.extend({
  fileName: z.string().transform(cleanFileName).pipe(FileNameSchema),
  text: WrittenTextSchema.optional(),
});
const WrittenOfferContentSchema = OfferContentSchema.extend({
  offerDetails: offerDetailsOf(WrittenOfferDetailValueSchema),
  text: WrittenTextSchema.optional(),
});

/**
 * A message's type and content, each type with its own content rules. Every key at any depth must be one that
 * MongoDB stores (see `isStorableKey`): a send that the database would refuse is refused here, before it is queued.
 */
export const MessageBodySchema = z
  .discriminatedUnion('messageType', [
    z.object({ messageType: z.literal('text'), content: WrittenTextContentSchema }),
    z.object({ messageType: z.literal('image'), content: WrittenFileContentSchema }),
    z.object({ messageType: z.literal('file'), content: WrittenFileContentSchema }),
    z.object({ messageType: z.literal('offer'), content: WrittenOfferContentSchema }),
  ])
  .superRefine((body, ctx) => {
    const path = unstorableKeyPath(body.content);
    if (path !== undefined)
      ctx.addIssue({ code: 'custom', path: ['content'], message: `content key ${path} must not start with "$" or contain "." or NUL` });
  });
export type MessageBody = z.infer<typeof MessageBodySchema>;
export type MessageContent = MessageBody['content'];

export const MessageStatusSchema = z.enum(['sent', 'delivered', 'read']);
export type MessageStatus = z.infer<typeof MessageStatusSchema>;
const STATUS_ORDER: Record<MessageStatus, number> = { sent: 0, delivered: 1, read: 2 };
/** Status only moves forward: sent → delivered → read. */
export const isStatusAfter = (next: MessageStatus, current: MessageStatus): boolean => STATUS_ORDER[next] > STATUS_ORDER[current];

const MessageBaseSchema = z.object({
  _id: MessageIdSchema,
  conversationId: ConversationIdSchema,
  senderId: UserIdSchema,
  receiverId: UserIdSchema,
  status: MessageStatusSchema,
  /** Position in its conversation: strictly increasing; a gap is possible only after a crash. */
  seq: z.number().int().positive(),
  clientMessageId: ClientMessageIdSchema,
  timestamp: IsoDateSchema,
  createdAt: IsoDateSchema,
  deliveredAt: IsoDateSchema.optional(),
  readAt: IsoDateSchema.optional(),
});

/**
 * A stored message as clients see it (`new_message`, acks, history): the spec's Message model with ids as
 * strings and dates as ISO-8601. `seq`, `clientMessageId`, `receiverId`, `deliveredAt`, `readAt` are additive.
 */
export const MessageSchema = z.discriminatedUnion('messageType', [
  MessageBaseSchema.extend({ messageType: z.literal('text'), content: TextContentSchema }),
  MessageBaseSchema.extend({ messageType: z.literal('image'), content: FileContentSchema }),
  MessageBaseSchema.extend({ messageType: z.literal('file'), content: FileContentSchema }),
  MessageBaseSchema.extend({ messageType: z.literal('offer'), content: OfferContentSchema }),
]);
export type Message = z.infer<typeof MessageSchema>;

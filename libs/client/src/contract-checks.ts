/**
 * Compile-time proof that the SDK's plain types and constants match `@chat/contracts`. Type imports only, so
 * neither zod nor the contracts end up in a browser bundle; a change of the contracts fails `npm run typecheck` here.
 */
import type {
  CONVERSATIONS_ROUTE,
  UPLOAD_ROUTE,
  DELIVERY_ACKS_AUTH_FIELD,
  ErrorCode,
  Message as ContractMessage,
  MessageStatus as ContractStatus,
  MessageType as ContractType,
  ConversationSummary as ContractSummary,
  MessagesPage as ContractPage,
  ServerEventPayload,
  UploadedFile as ContractUploaded,
  TYPING_THROTTLE_MS,
} from '@chat/contracts';
import type {
  ChatErrorCode,
  ConversationSummary,
  MessagesPage,
  UploadedFile,
  DeliveredReceipt,
  Message,
  MessageStatus,
  MessageType,
  PresenceStatus,
  ReadReceipt,
  TypingEvent,
} from './types.ts';

type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
/**
 * What a value looks like once it crossed JSON: an optional property is absent, never `undefined` (zod's output
 * types say `?: T | undefined`; the SDK's, with `exactOptionalPropertyTypes`, say `?: T`).
 */
type Wire<T> = T extends string | number | boolean | null | undefined
  ? T
  : T extends ReadonlyArray<infer U>
    ? Array<Wire<U>>
    : { [K in keyof T]: Wire<Exclude<T[K], undefined>> };
type Assignable<From, To> = [Wire<From>] extends [To] ? true : false;

/** The REST paths the SDK calls (the contracts' CONVERSATIONS_ROUTE and UPLOAD_ROUTE). */
export const CONVERSATIONS_PATH = '/api/chat/conversations';
export const UPLOAD_PATH = '/api/common/upload';

/** The handshake field that turns on delivery acknowledgements. */
export const DELIVERY_ACKS_FIELD = 'deliveryAcks';
/** The server forwards at most one `user_typing` per user and conversation per this interval. */
export const TYPING_THROTTLE = 2_000;

// Not exported: the declarations of this package never name the contracts.
const checks = {
  deliveryAcks: true satisfies Equals<typeof DELIVERY_ACKS_FIELD, typeof DELIVERY_ACKS_AUTH_FIELD>,
  conversationsPath: true satisfies Equals<typeof CONVERSATIONS_PATH, typeof CONVERSATIONS_ROUTE>,
  uploadPath: true satisfies Equals<typeof UPLOAD_PATH, typeof UPLOAD_ROUTE>,
  typingThrottle: true satisfies Equals<typeof TYPING_THROTTLE, typeof TYPING_THROTTLE_MS>,
  errorCodes: true satisfies Equals<ChatErrorCode, ErrorCode>,
  statuses: true satisfies Equals<MessageStatus, ContractStatus>,
  types: true satisfies Equals<MessageType, ContractType>,
  // What the server sends fits what the SDK declares.
  message: true satisfies Assignable<ContractMessage, Message>,
  delivered: true satisfies Assignable<ServerEventPayload<'message_delivered'>, DeliveredReceipt>,
  read: true satisfies Assignable<ServerEventPayload<'message_read'>, ReadReceipt>,
  typing: true satisfies Assignable<ServerEventPayload<'user_typing'>, TypingEvent>,
  presence: true satisfies Assignable<ServerEventPayload<'user_online_status'>, PresenceStatus>,
  summary: true satisfies Assignable<ContractSummary, ConversationSummary>,
  page: true satisfies Assignable<ContractPage, MessagesPage>,
  uploaded: true satisfies Assignable<ContractUploaded, UploadedFile>,
} as const;
void checks;

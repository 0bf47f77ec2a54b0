/**
 * The shapes a client sees, as plain TypeScript: ids are strings, dates ISO-8601 strings. They mirror the zod
 * schemas of `@chat/contracts` (checked at compile time in `contract-checks.ts`) without exposing their validation library or its
 * branded ids to users of the SDK.
 */

export type MessageType = 'text' | 'image' | 'file' | 'offer';
export type MessageStatus = 'sent' | 'delivered' | 'read';

export interface TextContent {
  text: string;
}

export interface FileContent {
  fileUrl: string;
  fileId?: string;
  fileName: string;
  fileSize: number;
  mimeType?: string;
  text?: string;
}

export type OfferDetailValue = string | number | boolean | null | (string | number)[];

export interface OfferContent {
  offerAmount: number;
  currency?: string;
  offerDetails?: Record<string, OfferDetailValue>;
  text?: string;
}

/** A message's type with the content that type carries. */
export type MessageBody =
  | { messageType: 'text'; content: TextContent }
  | { messageType: 'image'; content: FileContent }
  | { messageType: 'file'; content: FileContent }
  | { messageType: 'offer'; content: OfferContent };

interface StoredFields {
  _id: string;
  conversationId: string;
  senderId: string;
  receiverId: string;
  status: MessageStatus;
  /** Position in its conversation: strictly increasing. */
  seq: number;
  clientMessageId: string;
  timestamp: string;
  createdAt: string;
  deliveredAt?: string;
  readAt?: string;
}

/** A stored message, as the server sends and acknowledges it. */
export type Message = StoredFields & MessageBody;

/** Every error code of the server (`error` events, failed acknowledgements, refused handshakes). */
export type ChatErrorCode =
  | 'AUTH_ERROR'
  | 'UNAUTHENTICATED'
  | 'VALIDATION_ERROR'
  | 'UNKNOWN_EVENT'
  | 'NOT_PARTICIPANT'
  | 'INVALID_RECEIVER'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'SEND_FAILED'
  | 'STORE_TIMEOUT'
  | 'MESSAGE_REFUSED'
  | 'UNAVAILABLE'
  | 'INTERNAL_ERROR'
  | 'REQUEST_TIMEOUT'
  | 'PRESENCE_UNAVAILABLE'
  | 'RATE_LIMITED'
  | 'FILE_TOO_LARGE'
  | 'UNSUPPORTED_FILE_TYPE'
  | 'INVALID_FILE_NAME'
  | 'UPLOAD_NOT_FOUND';

/**
 * An error as the server reports it. The SDK adds `TIMEOUT` (no answer in time) and `DISCONNECTED` (the
 * connection ended first) for answers that never came.
 */
export interface ChatErrorPayload {
  code: ChatErrorCode | 'TIMEOUT' | 'DISCONNECTED';
  message: string;
  /** The client event that was rejected, when there was one. */
  event?: string;
  clientMessageId?: string;
  details?: unknown;
}

export interface DeliveredReceipt {
  messageId: string;
  conversationId?: string;
  /** Every message to the receiver up to this `seq` reached a device of theirs. */
  upToSeq?: number;
}

export interface ReadReceipt {
  messageIds: string[];
  readBy: string;
  conversationId?: string;
  upToSeq?: number;
}

export interface TypingEvent {
  conversationId: string;
  userId: string;
  isTyping: boolean;
}

export interface PresenceStatus {
  userId: string;
  isOnline: boolean;
  lastSeen: string | null;
}

/** Every code a UI may see: the server's and the SDK's own. */
export type ClientErrorCode = ChatErrorPayload['code'];

/** `{ ok: true, data }` or `{ ok: false, error }`, as every acknowledgement of the server. */
export type Result<T> = { ok: true; data: T } | { ok: false; error: ChatErrorPayload };

export interface LastMessage {
  messageId: string;
  text: string;
  senderId: string;
  timestamp: string;
  seq: number;
}

/** One row of the conversation list, for the caller. */
export interface ConversationSummary {
  _id: string;
  participants: string[];
  lastMessage: LastMessage | null;
  unreadCount: number;
  /** The newest `seq`: open the timeline from what the app holds, sync up to this. */
  lastSeq: number;
  otherUser: { _id: string; name: string | null; avatar: string | null; isOnline: boolean };
  jobId: string | null;
  createdAt: string;
  updatedAt: string;
}

/** A page of history, oldest first. */
export interface MessagesPage {
  messages: Message[];
  hasMore: boolean;
  totalPages: number;
}

/** An upload, to put in an `image` or `file` message's content. */
export interface UploadedFile {
  fileUrl: string;
  fileId: string;
  fileName: string;
  fileSize: number;
  mimeType: string;
}

export { previewText } from './preview.ts';
export { ChatClient } from './client.ts';
export type { ChatClientOptions, ClientEvents, ConnectionState, SendResult } from './client.ts';
export { isRetryable, RETRYABLE_SEND_CODES } from './errors.ts';
export { ChatRest } from './rest.ts';
export type { ChatRestOptions, HistoryQuery } from './rest.ts';
export { Outbox } from './outbox.ts';
export type { BackoffOptions, OutboxEntry } from './outbox.ts';
export { MemoryStorage, WebStorage } from './storage.ts';
export type { ClientStorage, WebStorageLike } from './storage.ts';
export { Timeline } from './timeline.ts';
export type { InsertResult, PendingItem, StoredItem, TimelineItem } from './timeline.ts';
export type {
  ChatErrorCode,
  ClientErrorCode,
  ChatErrorPayload,
  ConversationSummary,
  DeliveredReceipt,
  FileContent,
  LastMessage,
  Message,
  MessageBody,
  MessagesPage,
  MessageStatus,
  MessageType,
  OfferContent,
  OfferDetailValue,
  PresenceStatus,
  ReadReceipt,
  Result,
  TextContent,
  TypingEvent,
  UploadedFile,
} from './types.ts';

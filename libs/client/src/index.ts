export { ChatClient } from './client.ts';
export type { ChatClientOptions, ClientEvents, ConnectionState, SendResult } from './client.ts';
export { isRetryable, RETRYABLE_SEND_CODES } from './errors.ts';
export { Outbox } from './outbox.ts';
export type { BackoffOptions, OutboxEntry } from './outbox.ts';
export { MemoryStorage, WebStorage } from './storage.ts';
export type { ClientStorage, WebStorageLike } from './storage.ts';
export { Timeline } from './timeline.ts';
export type { InsertResult, PendingItem, StoredItem, TimelineItem } from './timeline.ts';
export type {
  ChatErrorCode,
  ChatErrorPayload,
  DeliveredReceipt,
  FileContent,
  Message,
  MessageBody,
  MessageStatus,
  MessageType,
  OfferContent,
  OfferDetailValue,
  PresenceStatus,
  ReadReceipt,
  Result,
  TextContent,
  TypingEvent,
} from './types.ts';

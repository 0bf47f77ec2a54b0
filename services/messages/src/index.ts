export { loadMessagesConfig, MessagesConfigSchema } from './config.ts';
export type { MessagesConfig } from './config.ts';
export { startMessagesService, SERVICE_VERSION } from './service.ts';
export type { MessagesService } from './service.ts';
export { MessageStore } from './store/message-store.ts';
export type { ConversationDoc, MessageDoc } from './store/documents.ts';

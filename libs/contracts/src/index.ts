export {
  USER_ID_PATTERN,
  UserIdSchema,
  ConversationIdSchema,
  ClientMessageIdSchema,
  MessageIdSchema,
  IsoDateSchema,
  tokenIdSchema,
  conversationIdOf,
  parseConversationId,
  participantsOf,
  otherParticipant,
} from './ids.ts';
export type { UserId, ConversationId, ClientMessageId, MessageId } from './ids.ts';

export {
  ERRORS,
  ErrorCodeSchema,
  ErrorPayloadSchema,
  AuthFailureReasonSchema,
  ChatError,
  toChatError,
  validationError,
} from './errors.ts';
export type { ErrorCode, ErrorPayload, AuthFailureReason } from './errors.ts';

export { previewText } from './preview.ts';
export { cleanText, cleanName, cleanFileName, hasVisibleText, safeAvatarUrl } from './text.ts';

export {
  MESSAGE_TYPES,
  MAX_TEXT_LENGTH,
  MessageTypeSchema,
  MessageStatusSchema,
  TextContentSchema,
  FileContentSchema,
  OfferContentSchema,
  MessageBodySchema,
  MessageSchema,
  isStatusAfter,
  isStorableKey,
  unstorableKeyPath,
} from './message.ts';
export type {
  MessageType,
  MessageStatus,
  TextContent,
  FileContent,
  OfferContent,
  MessageBody,
  MessageContent,
  Message,
} from './message.ts';

export {
  CONVERSATIONS_ROUTE,
  CONVERSATION_MESSAGES_ROUTE,
  envelope,
  errorEnvelope,
  ErrorEnvelopeSchema,
  JobIdSchema,
  ProfileSchema,
  LastMessageSchema,
  ConversationSummarySchema,
  ListConversationsQuerySchema,
  ConversationParamsSchema,
  MessagesQuerySchema,
  MessagesPageSchema,
  CreateConversationBodySchema,
  CreatedConversationSchema,
  ConversationListEnvelopeSchema,
  MessagesPageEnvelopeSchema,
  CreatedConversationEnvelopeSchema,
  UploadedFileEnvelopeSchema,
  restSchemaRegistry,
} from './rest.ts';
export type { ErrorEnvelope, Profile, ConversationSummary, MessagesQuery, MessagesPage } from './rest.ts';

export {
  AuthenticatePayloadSchema,
  JoinConversationPayloadSchema,
  SendMessagePayloadSchema,
  TypingPayloadSchema,
  MarkAsReadPayloadSchema,
  SyncMessagesPayloadSchema,
  SyncMessagesAckSchema,
  GetOnlineStatusPayloadSchema,
  AuthenticatedPayloadSchema,
  JoinedPayloadSchema,
  MessageDeliveredPayloadSchema,
  MessageReadPayloadSchema,
  UserTypingPayloadSchema,
  UserOnlineStatusPayloadSchema,
  clientEvents,
  serverEvents,
  CLIENT_EVENT_NAMES,
  DELIVERY_ACKS_AUTH_FIELD,
  DELIVERY_ACK_TIMEOUT_MS,
} from './socket-events.ts';
export type {
  ClientEventName,
  ServerEventName,
  ClientEventPayload,
  ParsedClientEventPayload,
  ClientEventAckData,
  ServerEventPayload,
  Ack,
  AckCallback,
  ClientToServerEvents,
  ServerListenEvents,
  ServerToClientEvents,
} from './socket-events.ts';

export { NamespaceSchema, channel, endpointsOf } from './channel.ts';
export type { Namespace, Channel, Endpoint, RequestOf, ReplyOf } from './channel.ts';

export {
  SendMessageCommandSchema,
  MarkDeliveredCommandSchema,
  MarkReadCommandSchema,
  ConversationCommandSchema,
  MessageCreatedEventSchema,
  UserDeliverySchema,
  UserUpdatedEventSchema,
  FindByClientMessageIdRequestSchema,
  FindByClientMessageIdResponseSchema,
  ListConversationsRequestSchema,
  ListConversationsResponseSchema,
  ConversationRecordSchema,
  CreateConversationRequestSchema,
  CreateConversationResponseSchema,
  HistoryRequestSchema,
  HistoryResponseSchema,
  UndeliveredRequestSchema,
  UndeliveredResponseSchema,
  ReceiptStateSchema,
  ConversationExistsRequestSchema,
  ConversationExistsResponseSchema,
  FileSharedRequestSchema,
  FileSharedResponseSchema,
  DEFAULT_MESSAGE_PARTITIONS,
  partitionOf,
  messagesEndpoints,
} from './messages-service.ts';
export type {
  SendMessageCommand,
  MarkDeliveredCommand,
  MarkReadCommand,
  ConversationCommand,
  ConversationCommandType,
  MessageCreatedEvent,
  UserDelivery,
  UserUpdatedEvent,
  FindByClientMessageIdRequest,
  FindByClientMessageIdResponse,
  ListConversationsRequest,
  ListConversationsResponse,
  ConversationRecord,
  CreateConversationRequest,
  CreateConversationResponse,
  HistoryRequest,
  HistoryResponse,
  UndeliveredRequest,
  UndeliveredResponse,
  ReceiptState,
  ConversationExistsRequest,
  ConversationExistsResponse,
  FileSharedRequest,
  FileSharedResponse,
  MessagesEndpoints,
} from './messages-service.ts';

export { busNames, sendMessageMsgId } from './bus.ts';
export type { BusNames } from './bus.ts';

export {
  DEFAULT_PRESENCE_HEARTBEAT_MS,
  DEFAULT_PRESENCE_GATEWAY_TTL_MS,
  TYPING_THROTTLE_MS,
  TYPING_IDLE_MS,
  MAX_STATUS_USERS,
  GatewayIdSchema,
  ConnectionSchema,
  PresenceReportSchema,
  PresenceReportResponseSchema,
  PresenceHeartbeatSchema,
  PresenceHeartbeatResponseSchema,
  UserPresenceSchema,
  PresenceStatusRequestSchema,
  PresenceStatusResponseSchema,
  presenceNames,
} from './presence.ts';
export type {
  Connection,
  PresenceReport,
  PresenceReportResponse,
  PresenceHeartbeat,
  PresenceHeartbeatResponse,
  UserPresence,
  PresenceStatusRequest,
  PresenceStatusResponse,
  PresenceNames,
} from './presence.ts';

export {
  DEFAULT_MAX_FILE_SIZE,
  DEFAULT_ALLOWED_FILE_TYPES,
  UPLOAD_ROUTE,
  FILE_ROUTE,
  FileIdSchema,
  fileUrlOf,
  MimeTypeSchema,
  UploadContentTypeSchema,
  UploadFileNameSchema,
  UploadedFileSchema,
  FileParamsSchema,
  StorageKindSchema,
  UploadRecordSchema,
  UploadStoredEventSchema,
  GetUploadRequestSchema,
  GetUploadResponseSchema,
  uploadNames,
} from './uploads.ts';
export type {
  FileId,
  UploadedFile,
  StorageKind,
  UploadRecord,
  UploadStoredEvent,
  GetUploadRequest,
  GetUploadResponse,
  UploadNames,
} from './uploads.ts';

export { asyncApiDocument } from './asyncapi.ts';
export type { AsyncApiOptions } from './asyncapi.ts';

export { busTopology, endpointKey, SERVICES } from './topology.ts';
export type { ServiceName, TopologyChannel } from './topology.ts';

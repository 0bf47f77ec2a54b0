export {
  USER_ID_PATTERN,
  UserIdSchema,
  ConversationIdSchema,
  ClientMessageIdSchema,
  MessageIdSchema,
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

export {
  MESSAGE_TYPES,
  SUPPORTED_MESSAGE_TYPES,
  MAX_TEXT_LENGTH,
  MessageTypeSchema,
  MessageStatusSchema,
  TextContentSchema,
  MessageBodySchema,
  MessageSchema,
} from './message.ts';
export type { MessageType, MessageStatus, TextContent, MessageBody, Message } from './message.ts';

export {
  AuthenticatePayloadSchema,
  JoinConversationPayloadSchema,
  SendMessagePayloadSchema,
  TypingPayloadSchema,
  MarkAsReadPayloadSchema,
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

export {
  NamespaceSchema,
  SendMessageCommandSchema,
  MessageCreatedEventSchema,
  UserDeliverySchema,
  FindByClientMessageIdRequestSchema,
  FindByClientMessageIdResponseSchema,
  DEFAULT_MESSAGE_PARTITIONS,
  partitionOf,
  busNames,
  sendMessageMsgId,
} from './bus.ts';
export type {
  Namespace,
  Channel,
  BusNames,
  SendMessageCommand,
  MessageCreatedEvent,
  UserDelivery,
  FindByClientMessageIdRequest,
  FindByClientMessageIdResponse,
} from './bus.ts';

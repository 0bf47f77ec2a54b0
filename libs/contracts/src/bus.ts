import { channel, type Namespace } from './channel.ts';
import type { ConversationId, UserId } from './ids.ts';
import {
  ConversationCommandSchema,
  MessageCreatedEventSchema,
  UserDeliverySchema,
  UserUpdatedEventSchema,
  messagesEndpoints,
  type ConversationCommandType,
} from './messages-service.ts';
import { presenceNames } from './presence.ts';
import { uploadNames } from './uploads.ts';

/**
 * Every NATS subject and stream of the system, by owner. Subjects are built only by these functions, from
 * validated tokens, under a namespace so that several deployments (or test runs) can share one NATS. The
 * payloads are in the owning service's file: messages-service.ts, presence.ts, uploads.ts.
 */

// ---- subjects and streams -----------------------------------------------------------------------------

/** Stream and subject names of one namespace. */
export function busNames(ns: Namespace) {
  const NS = ns.toUpperCase();
  return {
    streams: {
      /** Commands for services, work-queue retention: a command leaves once its consumer acks it. */
      commands: { name: `${NS}_COMMANDS`, subjects: [`${ns}.cmd.>`] },
      /** Domain events, kept for replay by new consumers. */
      events: { name: `${NS}_EVENTS`, subjects: [`${ns}.evt.>`] },
      /** Commands set aside after repeated failures, for an operator to inspect and replay. */
      deadLetter: { name: `${NS}_DEADLETTER`, subjects: [`${ns}.dlq.>`] },
    },
    consumers: {
      /** One durable consumer per partition of the conversation commands. */
      conversation: (partition: number) => `messages-conversation-${partition}`,
      /** The pinned-client priority group of the partition consumers: one replica owns a partition at a time. */
      conversationOwners: 'owners',
      /** The messages service's copy of users' names and avatars. */
      profiles: 'messages-profiles',
    },
    conversationFilter: (partition: number) => `${ns}.cmd.conv.${partition}.>`,
    /** Where a command that failed too often is parked: its own subject under the dead-letter prefix. */
    deadLetter: (subject: string) => `${ns}.dlq.${subject.startsWith(`${ns}.`) ? subject.slice(ns.length + 1) : subject}`,
    conversationCommand: (partition: number, conversationId: ConversationId, type: ConversationCommandType) =>
      channel(`${ns}.cmd.conv.${partition}.${conversationId}.${type}`, ConversationCommandSchema, `cmd.conv.${type}`),
    messageCreated: (conversationId: ConversationId) =>
      channel(`${ns}.evt.message.created.${conversationId}`, MessageCreatedEventSchema, 'evt.message.created'),
    userUpdated: (userId: UserId) => channel(`${ns}.evt.user.updated.${userId}`, UserUpdatedEventSchema, 'evt.user.updated'),
    userUpdatedFilter: `${ns}.evt.user.updated.*`,
    userDelivery: (userId: UserId) => channel(`${ns}.deliver.user.${userId}`, UserDeliverySchema, 'deliver.user'),
    /** The messages service's request/reply endpoints (a NATS micro service; see messages-service.ts). */
    messagesService: messagesEndpoints(ns),
    /** The presence service's endpoints and the per-user status changes (see presence.ts). */
    presence: presenceNames(ns),
    /** The uploads service's endpoints and events (see uploads.ts). */
    uploads: uploadNames(ns),
  } as const;
}
export type BusNames = ReturnType<typeof busNames>;

/** The JetStream dedupe id of a send: the same sender and clientMessageId are one message. */
export function sendMessageMsgId(senderId: UserId, clientMessageId: string): string {
  return `send:${senderId}:${clientMessageId}`;
}

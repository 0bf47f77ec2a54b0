import {
  ChatError,
  ConversationRecordSchema,
  conversationIdOf,
  type ConversationRecord,
  type CreateConversationRequest,
  type CreateConversationResponse,
  type ListConversationsRequest,
  type ListConversationsResponse,
} from '@chat/contracts';
import type { Logger } from '@chat/logger';
import type { ConversationDoc } from '../store/documents.ts';
import type { MessageStore } from '../store/message-store.ts';
import { listVisibleConversations, openConversationFor } from '../store/conversation-visibility.ts';
import type { ProfileStore } from '../store/profile-store.ts';

/**
 * The caller's conversations (those with a message, and those the caller opened), most recently active first, with their unread count and the other user. A row
 * that does not make a valid summary (a document no version should have written) is left out with a warning,
 * so that it never fails the caller's whole list.
 */
export function listConversationsHandler({ store, profiles, logger }: { store: MessageStore; profiles: ProfileStore; logger: Logger }) {
  return async ({ userId, limit, before }: ListConversationsRequest): Promise<ListConversationsResponse> => {
    const visible = await listVisibleConversations(store, userId, limit, before ? new Date(before) : undefined);
    const others = visible.map(({ doc }) => (doc.participants[0] === userId ? doc.participants[1] : doc.participants[0]));
    const profileOf = await profiles.findMany([...new Set(others)]);
    const conversations: ConversationRecord[] = [];
    visible.forEach(({ doc, hasMessages }, i) => {
      const row = readSummary(doc, userId, profileOf.get(others[i]!)!, hasMessages);
      if ('problems' in row)
        logger.warn({ conversationId: doc._id, userId, problems: row.problems }, 'left an unreadable conversation out of a list');
      else conversations.push(row.summary);
    });
    return { conversations };
  };
}

/** The row of the list, checked against the contract; or what is wrong with the document. */
function readSummary(
  doc: ConversationDoc,
  userId: ListConversationsRequest['userId'],
  otherUser: ConversationRecord['otherUser'],
  hasMessages: boolean,
): { summary: ConversationRecord } | { problems: string[] } {
  let row: unknown;
  try {
    row = { ...summaryOf(doc, userId, otherUser), hasMessages };
  } catch (error) {
    return { problems: [(error as Error).message] };
  }
  const parsed = ConversationRecordSchema.safeParse(row);
  if (parsed.success) return { summary: parsed.data };
  return { problems: parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`) };
}

function summaryOf(
  doc: ConversationDoc,
  userId: ListConversationsRequest['userId'],
  otherUser: ConversationRecord['otherUser'],
): ConversationRecord {
  return {
    _id: doc._id,
    participants: [...doc.participants],
    lastMessage: doc.lastMessage
      ? {
          messageId: doc.lastMessage.messageId.toHexString(),
          text: doc.lastMessage.text,
          senderId: doc.lastMessage.senderId,
          timestamp: doc.lastMessage.timestamp.toISOString(),
          seq: doc.lastMessage.seq,
        }
      : null,
    unreadCount: doc.unreadCount[userId] ?? 0,
    lastSeq: doc.appliedSeq,
    otherUser,
    jobId: doc.jobId ?? null,
    createdAt: doc.createdAt.toISOString(),
    updatedAt: doc.updatedAt.toISOString(),
  };
}

/**
 * Opens (or finds) the conversation with another user: idempotent, never with oneself. The other user is not
 * shown it, nor made a partner, until a message is stored in it (conversation-visibility.ts).
 */
export function createConversationHandler({ store }: { store: MessageStore }) {
  return async ({ userId, participantId, jobId }: CreateConversationRequest): Promise<CreateConversationResponse> => {
    if (participantId === userId) throw new ChatError('VALIDATION_ERROR', 'A conversation needs another participant');
    const conversationId = conversationIdOf(userId, participantId);
    const created = await openConversationFor(store, conversationId, userId, jobId, new Date());
    return { conversationId, created };
  };
}

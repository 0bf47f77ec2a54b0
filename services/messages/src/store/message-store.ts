import { MongoBulkWriteError, MongoServerError, type Collection, type Db, type Filter, type ObjectId } from 'mongodb';
import { ChatError, participantsOf, type ConversationId, type UserId } from '@chat/contracts';
import type { ConversationDoc, MessageDoc } from './documents.ts';

const DUPLICATE_KEY = 11000;

/** Conversations of one user a catch-up looks into at once (the rest: history / sync_messages). */
const MAX_CATCH_UP_CONVERSATIONS = 1000;
/**
 * Conversations one batched lookup of catch-ups reads at most; a batch with more (users with many conversations)
 * is looked up user by user instead, as before batching.
 */
const MAX_BATCHED_CONVERSATIONS = 5000;

function freshConversation(id: ConversationId, now: Date): ConversationDoc {
  return {
    _id: id,
    participants: [...participantsOf(id)] as [UserId, UserId],
    unreadCount: {},
    lastSeq: 0,
    appliedSeq: 0,
    members: {},
    rev: 0,
    createdAt: now,
    updatedAt: now,
  };
}

/** True when every write error is a duplicate key (the documents exist already). */
function isDuplicateKeyOnly(error: unknown): boolean {
  if (!(error instanceof MongoBulkWriteError || error instanceof MongoServerError)) return false;
  const writeErrors = ([] as Array<{ code?: number }>).concat(((error as MongoBulkWriteError).writeErrors as never) ?? []);
  return writeErrors.length > 0 ? writeErrors.every((e) => e.code === DUPLICATE_KEY) : error.code === DUPLICATE_KEY;
}

/** A page of history: always oldest first. */
export interface HistoryPage {
  messages: MessageDoc[];
  hasMore: boolean;
  totalPages: number;
}

/**
 * Conversations and messages in MongoDB, written so that every step can be repeated after a crash without
 * storing or counting anything twice, with single-document atomic updates only (no transactions).
 */
export class MessageStore {
  readonly messages: Collection<MessageDoc>;
  readonly conversations: Collection<ConversationDoc>;
  /** Users whose first catch-up page waits for the next batched lookup of their conversations. */
  #waiting = new Map<UserId, Array<{ resolve: (docs: ConversationDoc[]) => void; reject: (error: unknown) => void }>>();
  #lookingUp = false;

  constructor(db: Db) {
    this.messages = db.collection<MessageDoc>('messages');
    this.conversations = db.collection<ConversationDoc>('conversations');
  }

  async ensureIndexes(): Promise<void> {
    await this.messages.createIndex({ senderId: 1, clientMessageId: 1 }, { unique: true, name: 'sender_client_id' });
    await this.messages.createIndex({ conversationId: 1, seq: 1 }, { unique: true, name: 'conversation_seq' });
    // Catch-up, receipts and counts: per conversation and receiver, by seq (also serves the catch-up of
    // conversations written before watermarks, by status). Each index costs every insert; keep them few.
    await this.messages.createIndex({ conversationId: 1, receiverId: 1, seq: 1 }, { name: 'conversation_receiver_seq' });
    // Downloads by others than the owner (file-shared): whether the owner sent the file in a message.
    await this.messages.createIndex({ 'content.fileId': 1, senderId: 1 }, { name: 'content_file' });
    await this.conversations.createIndex({ participants: 1, updatedAt: -1 }, { name: 'participant_activity' });
  }

  findByClientMessageId(senderId: UserId, clientMessageId: string): Promise<MessageDoc | null> {
    return this.messages.findOne({ senderId, clientMessageId });
  }

  /**
   * The stored messages of these sends: one query per sender, in parallel, each on the sender's unique index.
   * Not one `$or` over all of them: MongoDB serves that with the same index lookups, but a MongoDB-wire server
   * without index selection for `$or` (FerretDB v1) reads the whole collection for it — 1.2 s against 15 ms per
   * query at 15,000 messages, measured; see docs/architecture.md.
   */
  async findByClientMessageIds(sends: Array<{ senderId: UserId; clientMessageId: string }>): Promise<MessageDoc[]> {
    const bySender = Map.groupBy(sends, (send) => send.senderId);
    const found = await Promise.all(
      [...bySender].map(([senderId, ofSender]) =>
        this.messages.find({ senderId, clientMessageId: { $in: [...new Set(ofSender.map((send) => send.clientMessageId))] } }).toArray(),
      ),
    );
    return found.flat();
  }

  /** The conversation documents that exist among these ids. */
  async loadConversations(ids: ConversationId[]): Promise<Map<ConversationId, ConversationDoc>> {
    const docs = ids.length === 0 ? [] : await this.conversations.find({ _id: { $in: ids } }).toArray();
    return new Map(docs.map((doc) => [doc._id, doc]));
  }

  /**
   * Creates the documents of conversations that have none, before their first message is stored: a catch-up
   * then finds every stored message through its receiver's conversations. Losing a race to another writer is fine.
   */
  async createConversations(ids: ConversationId[], now: Date): Promise<ConversationDoc[]> {
    if (ids.length === 0) return [];
    const docs = ids.map((id) => freshConversation(id, now));
    try {
      await this.conversations.insertMany(docs, { ordered: false });
      return docs;
    } catch (error) {
      if (!isDuplicateKeyOnly(error)) throw error;
      return [...(await this.loadConversations(ids)).values()];
    }
  }

  /**
   * Stored messages above each conversation's applied watermark, by conversation in sequence order: work that an
   * owner which died (or lost its partition) left unfinished.
   */
  async messagesAbove(watermarks: Array<{ conversationId: ConversationId; seq: number }>): Promise<MessageDoc[]> {
    // One query per conversation, in parallel, for the reason given at findByClientMessageIds.
    const sorted = watermarks.toSorted((a, b) => (a.conversationId < b.conversationId ? -1 : a.conversationId > b.conversationId ? 1 : 0));
    const found = await Promise.all(
      sorted.map(({ conversationId, seq }) =>
        this.messages
          .find({ conversationId, seq: { $gt: seq } })
          .sort({ seq: 1 })
          .toArray(),
      ),
    );
    return found.flat();
  }

  /**
   * Inserts messages in order, stopping at the first refusal: everything before it is stored, nothing after it
   * is. Ordered, so that a conversation's messages are stored in sequence order even when one is refused.
   */
  async insertOrdered(docs: MessageDoc[]): Promise<{ stored: number; refusal?: { code: number | undefined; message: string } }> {
    if (docs.length === 0) return { stored: 0 };
    try {
      await this.messages.insertMany(docs, { ordered: true });
      return { stored: docs.length };
    } catch (error) {
      if (!(error instanceof MongoBulkWriteError)) throw error;
      const writeErrors = ([] as Array<{ index: number; code?: number; errmsg?: string }>).concat((error.writeErrors as never) ?? []);
      const first = writeErrors.sort((a, b) => a.index - b.index)[0];
      if (!first) throw error;
      return { stored: first.index, refusal: { code: first.code, message: first.errmsg ?? error.message } };
    }
  }

  /**
   * Writes each owner's state of its conversation, conditional on the revision it was built on. Returns the ids
   * whose write did not land (another writer got there first): reload and replay those.
   */
  async writeConversations(states: Array<{ id: ConversationId; rev: number; set: Partial<ConversationDoc> }>): Promise<ConversationId[]> {
    if (states.length === 0) return [];
    const result = await this.conversations.bulkWrite(
      states.map(({ id, rev, set }) => ({
        updateOne: { filter: { _id: id, rev: rev === 0 ? { $in: [0, null] } : rev } as Filter<ConversationDoc>, update: { $set: set } },
      })),
      { ordered: false },
    );
    if (result.matchedCount === states.length) return [];
    // Which ones lost: those whose stored revision is not the one this write set.
    const stored = await this.loadConversations(states.map((s) => s.id));
    return states.filter(({ id, set }) => stored.get(id)?.rev !== set.rev || stored.get(id)?.revBy !== set.revBy).map((s) => s.id);
  }

  /** The highest sequence number stored in a conversation (0 when it has none). */
  async maxSeq(conversationId: ConversationId): Promise<number> {
    const [last] = await this.messages
      .find({ conversationId }, { projection: { seq: 1 } })
      .sort({ seq: -1 })
      .limit(1)
      .toArray();
    return last?.seq ?? 0;
  }

  /** How many messages to `receiverId` come after `afterSeq`: an unread count the owner could not tell itself. */
  countAfter(conversationId: ConversationId, receiverId: UserId, afterSeq: number): Promise<number> {
    return this.messages.countDocuments({ conversationId, receiverId, seq: { $gt: afterSeq } });
  }

  /** Ids of the messages to `receiverId` with seq in (from, to], for receipts older than the owner remembers. */
  async idsBetween(conversationId: ConversationId, receiverId: UserId, from: number, to: number): Promise<string[]> {
    const docs = await this.messages
      .find({ conversationId, receiverId, seq: { $gt: from, $lte: to } }, { projection: { _id: 1 } })
      .sort({ seq: 1 })
      .toArray();
    return docs.map((doc) => doc._id.toHexString());
  }

  /** The sequence numbers of these messages to `receiverId` (ids of others are left out). */
  async seqsOf(conversationId: ConversationId, receiverId: UserId, ids: ObjectId[]): Promise<number[]> {
    const docs = await this.messages.find({ conversationId, receiverId, _id: { $in: ids } }, { projection: { seq: 1 } }).toArray();
    return docs.map((doc) => doc.seq);
  }

  /**
   * Read state of a conversation written before watermarks existed, from its messages' own statuses: the
   * highest delivered and read message of each participant.
   */
  async legacyMembers(conversationId: ConversationId): Promise<NonNullable<ConversationDoc['members']>> {
    const members: NonNullable<ConversationDoc['members']> = {};
    for (const userId of participantsOf(conversationId)) {
      const highest = async (statuses: MessageDoc['status'][]) => {
        const [doc] = await this.messages
          .find({ conversationId, receiverId: userId, status: { $in: statuses } }, { projection: { seq: 1 } })
          .sort({ seq: -1 })
          .limit(1)
          .toArray();
        return doc?.seq ?? 0;
      };
      const readSeq = await highest(['read']);
      const deliveredSeq = Math.max(readSeq, await highest(['delivered', 'read']));
      members[userId] = { deliveredSeq, readSeq, delivered: [], read: [] };
    }
    return members;
  }

  /** Creates the conversation if it does not exist; true when this call created it. */
  async createConversation(conversationId: ConversationId, jobId: string | undefined, now: Date): Promise<boolean> {
    const { _id, ...fields } = freshConversation(conversationId, now);
    const result = await this.conversations.updateOne(
      { _id },
      { $setOnInsert: { ...fields, ...(jobId === undefined ? {} : { jobId }) } },
      { upsert: true },
    );
    return result.upsertedCount === 1;
  }

  findConversation(conversationId: ConversationId): Promise<ConversationDoc | null> {
    return this.conversations.findOne({ _id: conversationId });
  }

  /** A user's conversations, most recently active first. */
  listConversations(userId: UserId, limit: number, before?: Date): Promise<ConversationDoc[]> {
    return this.conversations
      .find({ participants: userId, ...(before ? { updatedAt: { $lt: before } } : {}) })
      .sort({ updatedAt: -1, _id: 1 })
      .limit(limit)
      .toArray();
  }

  /** A page of history, by page number (page 1 is the newest) or by a sequence cursor. */
  async history(
    conversationId: ConversationId,
    {
      limit,
      page,
      beforeSeq,
      afterSeq,
    }: { limit: number; page?: number | undefined; beforeSeq?: number | undefined; afterSeq?: number | undefined },
  ): Promise<HistoryPage> {
    const all = { conversationId };
    const total = await this.messages.countDocuments(all);
    const totalPages = Math.ceil(total / limit);
    if (afterSeq !== undefined) {
      const docs = await this.messages
        .find({ ...all, seq: { $gt: afterSeq } })
        .sort({ seq: 1 })
        .limit(limit + 1)
        .toArray();
      return { messages: docs.slice(0, limit), hasMore: docs.length > limit, totalPages };
    }
    const filter = beforeSeq === undefined ? all : { ...all, seq: { $lt: beforeSeq } };
    const skip = beforeSeq === undefined ? ((page ?? 1) - 1) * limit : 0;
    const newestFirst = await this.messages
      .find(filter)
      .sort({ seq: -1 })
      .skip(skip)
      .limit(limit + 1)
      .toArray();
    const hasMore = newestFirst.length > limit;
    return { messages: newestFirst.slice(0, limit).reverse(), hasMore, totalPages };
  }

  /**
   * Messages to the user that no device of theirs received yet, by conversation in sequence order: above the
   * user's delivered watermark in each of their conversations (every stored message has its conversation
   * document, written before it), or still `sent` in conversations of earlier versions. Messages whose
   * deliveries may still be in flight are included: the gateway drops what it already showed.
   */
  async undelivered(
    receiverId: UserId,
    limit: number,
    after?: { conversationId: ConversationId; seq: number },
  ): Promise<{ messages: MessageDoc[]; conversations: Map<ConversationId, ConversationDoc>; hasMore: boolean }> {
    const conversations = after
      ? await this.conversations
          .find({ participants: receiverId, _id: { $gte: after.conversationId } })
          .sort({ _id: 1 })
          .limit(MAX_CATCH_UP_CONVERSATIONS)
          .toArray()
      : await this.#conversationsOf(receiverId);
    const byId = new Map(conversations.map((doc) => [doc._id, doc]));
    const branches: Filter<MessageDoc>[] = [];
    const legacy: ConversationId[] = [];
    for (const doc of conversations) {
      const member = doc.members?.[receiverId];
      const floor = Math.max(
        member ? Math.max(member.deliveredSeq, member.readSeq) : 0,
        after && doc._id === after.conversationId ? after.seq : 0,
      );
      if (member) branches.push({ conversationId: doc._id, seq: { $gt: floor } });
      else if (after && doc._id === after.conversationId) branches.push({ conversationId: doc._id, seq: { $gt: floor }, status: 'sent' });
      else legacy.push(doc._id);
    }
    if (legacy.length > 0) branches.push({ conversationId: { $in: legacy }, status: 'sent' });
    if (branches.length === 0) return { messages: [], conversations: byId, hasMore: false };
    const docs = await this.messages
      .find({ receiverId, $or: branches })
      .sort({ conversationId: 1, seq: 1 })
      .limit(limit + 1)
      .toArray();
    return { messages: docs.slice(0, limit), conversations: byId, hasMore: docs.length > limit };
  }

  /**
   * The user's conversations (the first `MAX_CATCH_UP_CONVERSATIONS` by id), looked up together with those of the
   * other users whose catch-up arrived meanwhile: one query for many users that connect within the same few
   * milliseconds (a reconnect storm, a gateway's start) instead of one each. A lookup never answers a request
   * that arrived after it was sent, so each user's conversations are read after their request came, as before.
   */
  #conversationsOf(userId: UserId): Promise<ConversationDoc[]> {
    return new Promise((resolve, reject) => {
      const waiters = this.#waiting.get(userId);
      if (waiters) waiters.push({ resolve, reject });
      else this.#waiting.set(userId, [{ resolve, reject }]);
      // Gathers what arrives in this turn of the event loop, or while a lookup is in flight.
      if (!this.#lookingUp) {
        this.#lookingUp = true;
        setImmediate(() => void this.#lookUp());
      }
    });
  }

  async #lookUp(): Promise<void> {
    while (this.#waiting.size > 0) {
      const batch = this.#waiting;
      this.#waiting = new Map();
      const users = [...batch.keys()];
      try {
        const byUser = new Map<UserId, ConversationDoc[]>(users.map((user) => [user, []]));
        let perUser = users.length === 1;
        if (!perUser) {
          const docs = await this.conversations
            .find({ participants: { $in: users } })
            .sort({ _id: 1 })
            .limit(MAX_BATCHED_CONVERSATIONS + 1)
            .toArray();
          perUser = docs.length > MAX_BATCHED_CONVERSATIONS;
          if (!perUser) {
            for (const doc of docs) {
              for (const participant of new Set(doc.participants)) {
                const ofUser = byUser.get(participant);
                if (ofUser && ofUser.length < MAX_CATCH_UP_CONVERSATIONS) ofUser.push(doc);
              }
            }
          }
        }
        if (perUser) {
          await Promise.all(
            users.map(async (user) => {
              byUser.set(
                user,
                await this.conversations.find({ participants: user }).sort({ _id: 1 }).limit(MAX_CATCH_UP_CONVERSATIONS).toArray(),
              );
            }),
          );
        }
        for (const [user, waiters] of batch) for (const waiter of waiters) waiter.resolve(byUser.get(user) ?? []);
      } catch (error) {
        for (const waiters of batch.values()) for (const waiter of waiters) waiter.reject(error);
      }
    }
    this.#lookingUp = false;
  }

  /** The conversation, or NOT_FOUND / NOT_PARTICIPANT for this user. */
  async conversationFor(userId: UserId, conversationId: ConversationId): Promise<ConversationDoc> {
    const conversation = await this.findConversation(conversationId);
    if (!conversation) throw new ChatError('NOT_FOUND', 'No such conversation');
    if (!conversation.participants.includes(userId)) throw new ChatError('NOT_PARTICIPANT');
    return conversation;
  }
}

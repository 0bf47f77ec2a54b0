import type { ConversationId, UserId } from '@chat/contracts';
import type { ConversationDoc } from './documents.ts';
import type { MessageStore } from './message-store.ts';

/*
 * Who a conversation is shown to, and who counts as a partner. Anyone can open a conversation with anyone over
 * REST, with no consent and no message; so an opened conversation alone makes nobody a partner. Until a message
 * is stored in it, a conversation is listed only to those who opened it (`openedBy`), and neither side may watch
 * the other's online status. Once a message is stored, both see it and both are partners: the receiver chose
 * nothing, but a message is what a job marketplace's first contact is, and sends are rate-limited and
 * attributable, where opening conversations was free and silent.
 */

/** Opens (or finds) a conversation for `userId`: it is listed to them from now on, even before any message. */
export async function openConversationFor(
  store: MessageStore,
  conversationId: ConversationId,
  userId: UserId,
  jobId: string | undefined,
  now: Date,
): Promise<boolean> {
  const created = await store.createConversation(conversationId, jobId, now);
  // A second write, not a field of the upsert: repeating the call (after a crash between the two) adds the
  // opener then.
  await store.conversations.updateOne({ _id: conversationId }, { $addToSet: { openedBy: userId } });
  return created;
}

/** A conversation listed to a user, and whether a message is stored in it. */
export interface VisibleConversation {
  doc: ConversationDoc;
  hasMessages: boolean;
}

/**
 * The conversations listed to a user, most recently active first: those with a stored message, and those the
 * user opened. Separate queries merged rather than one `$or`, which a MongoDB-wire server without index
 * selection for `$or` (FerretDB v1) answers by reading the whole collection (see
 * `MessageStore.findByClientMessageIds`). A conversation whose first message is stored but not yet counted in
 * its document (`lastSeq` 0 for a moment) is told by its messages.
 */
export async function listVisibleConversations(
  store: MessageStore,
  userId: UserId,
  limit: number,
  before?: Date,
): Promise<VisibleConversation[]> {
  const page = (filter: Record<string, unknown>) =>
    store.conversations
      .find({ participants: userId, ...filter, ...(before ? { updatedAt: { $lt: before } } : {}) })
      .sort({ updatedAt: -1, _id: 1 })
      .limit(limit)
      .toArray();
  const [withMessages, opened, others] = await Promise.all([
    page({ lastSeq: { $gt: 0 } }),
    page({ openedBy: userId }),
    page({ lastSeq: { $lte: 0 }, openedBy: { $ne: userId } }),
  ]);
  const withoutCount = [...opened, ...others].filter((doc) => !(doc.lastSeq > 0));
  const counted = new Set(
    (await Promise.all(withoutCount.map(async (doc) => ((await store.maxSeq(doc._id)) > 0 ? doc._id : undefined)))).filter(
      (id) => id !== undefined,
    ),
  );
  const byId = new Map<ConversationId, VisibleConversation>();
  for (const doc of opened) byId.set(doc._id, { doc, hasMessages: doc.lastSeq > 0 || counted.has(doc._id) });
  for (const doc of [...withMessages, ...others.filter((doc) => counted.has(doc._id))]) byId.set(doc._id, { doc, hasMessages: true });
  return [...byId.values()]
    .sort((a, b) => b.doc.updatedAt.getTime() - a.doc.updatedAt.getTime() || (a.doc._id < b.doc._id ? -1 : a.doc._id > b.doc._id ? 1 : 0))
    .slice(0, limit);
}

/**
 * Whether a message is stored in the conversation: its document says so, or (for a first message whose
 * conversation write has not landed yet) the messages do.
 */
export async function hasMessages(store: MessageStore, conversationId: ConversationId): Promise<boolean> {
  const doc = await store.findConversation(conversationId);
  if (!doc) return false;
  if ((doc.lastSeq ?? 0) > 0 || (doc.appliedSeq ?? 0) > 0 || doc.lastMessage) return true;
  return (await store.maxSeq(conversationId)) > 0;
}

import { participantsOf, previewText, type ConversationId, type UserId } from '@chat/contracts';
import type { ConversationDoc, MemberReadState, MessageDoc } from '../store/documents.ts';
import { addStep, emptyMemberState } from '../store/read-state.ts';

/** A message the owner applied lately: enough to answer receipts without reading the messages back. */
export interface RecentMessage {
  id: string;
  seq: number;
  receiverId: UserId;
}

/** Recent messages kept per conversation (for receipts' ids and unread counts without a query). */
export const RECENT_MESSAGES_KEPT = 64;

/** A change to a conversation, in the order its commands came; replayed as a whole after a lost write race. */
export type ConversationOp =
  | { kind: 'message'; doc: MessageDoc }
  | { kind: 'delivered'; receiverId: UserId; upToSeq: number; at: Date; messageIds: string[]; repeat?: boolean }
  | { kind: 'read'; readerId: UserId; upToSeq: number; at: Date; requestedUpToSeq?: number; messageIds?: string[]; repeat?: boolean };
// `repeat`: the command may have been applied before (a redelivery). If it moves nothing, its events are repeated
// anyway: a crash between the write and the events must not lose them.

/** What a receipt changed, for the events that tell the participants. */
export type ReceiptEffect =
  | { kind: 'delivered'; receiverId: UserId; from: number; to: number; messageIds: string[]; complete: boolean }
  | { kind: 'read'; readerId: UserId; from: number; to: number; messageIds: string[]; complete: boolean; requestedUpToSeq?: number };

/**
 * The partition owner's copy of one conversation: sequence numbers are handed out from here, and commands are
 * applied here before one write stores the result. Loaded from the stored document on first use; the write is
 * conditional on the revision it was loaded at, so two owners racing (during a failover) cannot overwrite each
 * other's work: the loser reloads and replays.
 */
export class ConversationState {
  readonly id: ConversationId;
  readonly participants: readonly [UserId, UserId];
  /** The stored document's revision this state was built on. */
  rev: number;
  /** The highest sequence number stored or handed out. */
  lastSeq: number;
  appliedSeq: number;
  lastMessage: ConversationDoc['lastMessage'];
  unread: Partial<Record<UserId, number>>;
  members: Partial<Record<UserId, MemberReadState>>;
  updatedAt: Date;
  /** Readers whose unread count the recent messages cannot tell: the store counts them before the write. */
  readonly unreadUnknown = new Set<UserId>();
  recent: RecentMessage[] = [];
  /** The recent messages hold every applied message from this seq on. */
  coveredFrom: number;

  constructor(doc: ConversationDoc) {
    this.id = doc._id;
    this.participants = participantsOf(doc._id);
    this.rev = doc.rev ?? 0;
    this.lastSeq = Math.max(doc.lastSeq ?? 0, doc.appliedSeq ?? 0);
    this.appliedSeq = doc.appliedSeq ?? 0;
    this.lastMessage = doc.lastMessage;
    this.unread = { ...doc.unreadCount };
    this.members = structuredClone(doc.members ?? {});
    this.updatedAt = doc.updatedAt;
    this.coveredFrom = this.appliedSeq + 1;
  }

  nextSeq(): number {
    return ++this.lastSeq;
  }

  /** Sees a stored message (ours or another owner's); sequence numbers handed out from now on come after it. */
  noteStored(seq: number): void {
    this.lastSeq = Math.max(this.lastSeq, seq);
  }

  isApplied(seq: number): boolean {
    return seq <= this.appliedSeq;
  }

  member(userId: UserId): MemberReadState {
    let member = this.members[userId];
    if (!member) this.members[userId] = member = emptyMemberState();
    return member;
  }

  recentMessage(messageId: string): RecentMessage | undefined {
    return this.recent.find((message) => message.id === messageId);
  }

  apply(op: ConversationOp): ReceiptEffect | undefined {
    switch (op.kind) {
      case 'message':
        this.#applyMessage(op.doc);
        return undefined;
      case 'delivered':
        return this.#applyDelivered(op);
      case 'read':
        return this.#applyRead(op);
    }
  }

  /** Counts a message once: last message, the receiver's unread count, the applied watermark. */
  #applyMessage(doc: MessageDoc): void {
    if (doc.seq <= this.appliedSeq) return;
    this.appliedSeq = doc.seq;
    this.noteStored(doc.seq);
    this.lastMessage = { messageId: doc._id, text: previewText(doc), senderId: doc.senderId, timestamp: doc.timestamp, seq: doc.seq };
    // A read can come before the message is applied here (a rival owner stored it): then it is read already.
    if (doc.seq > (this.members[doc.receiverId]?.readSeq ?? 0)) this.unread[doc.receiverId] = (this.unread[doc.receiverId] ?? 0) + 1;
    if (doc.timestamp > this.updatedAt) this.updatedAt = doc.timestamp;
    this.recent.push({ id: doc._id.toHexString(), seq: doc.seq, receiverId: doc.receiverId });
    if (this.recent.length > RECENT_MESSAGES_KEPT) this.coveredFrom = this.recent.shift()!.seq + 1;
  }

  #applyDelivered(op: Extract<ConversationOp, { kind: 'delivered' }>): ReceiptEffect | undefined {
    const member = this.member(op.receiverId);
    const from = Math.max(member.deliveredSeq, member.readSeq);
    // Never past what is stored (the batch checked `upToSeq` against the store when it is beyond what is known).
    const to = Math.min(op.upToSeq, this.lastSeq);
    if (to <= from) {
      if (!op.repeat) return undefined;
      return { kind: 'delivered', receiverId: op.receiverId, from: to, to, messageIds: op.messageIds, complete: true };
    }
    member.deliveredSeq = to;
    member.delivered = addStep(member.delivered, to, op.at);
    const { ids, complete } = this.#idsTo(op.receiverId, from, to);
    const deliveredId = ids.at(-1) ?? op.messageIds.at(-1);
    if (deliveredId) member.deliveredId = deliveredId;
    const known = new Set(ids);
    // Ids the gateway named that are older than the recent messages still get their receipt.
    const older = op.messageIds.filter((id) => !known.has(id) && !this.recentMessage(id));
    return { kind: 'delivered', receiverId: op.receiverId, from, to, messageIds: [...ids, ...older], complete };
  }

  #applyRead(op: Extract<ConversationOp, { kind: 'read' }>): ReceiptEffect | undefined {
    const member = this.member(op.readerId);
    const from = member.readSeq;
    const to = Math.min(op.upToSeq, this.lastSeq);
    if (to <= from) {
      if (!op.repeat) return undefined;
      const named = op.messageIds ?? this.recent.filter((m) => m.receiverId === op.readerId && m.seq <= to).map((m) => m.id);
      return {
        kind: 'read',
        readerId: op.readerId,
        from: to,
        to,
        messageIds: named,
        complete: true,
        ...(op.requestedUpToSeq === undefined ? {} : { requestedUpToSeq: op.requestedUpToSeq }),
      };
    }
    member.readSeq = to;
    member.read = addStep(member.read, to, op.at);
    const readId = this.#idsTo(op.readerId, 0, to).ids.at(-1) ?? op.messageIds?.at(-1);
    if (readId) member.readId = readId;
    if (to > member.deliveredSeq) {
      member.deliveredSeq = to;
      member.delivered = addStep(member.delivered, to, op.at);
      if (readId) member.deliveredId = readId;
    }
    if (to >= this.lastSeq) {
      this.unread[op.readerId] = 0;
      this.unreadUnknown.delete(op.readerId);
    } else if (to + 1 >= this.coveredFrom && this.lastSeq === this.appliedSeq) {
      this.unread[op.readerId] = this.recent.filter((m) => m.receiverId === op.readerId && m.seq > to).length;
      this.unreadUnknown.delete(op.readerId);
    } else {
      this.unreadUnknown.add(op.readerId);
    }
    const { ids, complete } = this.#idsTo(op.readerId, from, to);
    return {
      kind: 'read',
      readerId: op.readerId,
      from,
      to,
      messageIds: ids,
      complete,
      ...(op.requestedUpToSeq === undefined ? {} : { requestedUpToSeq: op.requestedUpToSeq }),
    };
  }

  /**
   * The recent messages to `userId` with seq in (from, to]; complete when the recent ones reach back that far and
   * everything up to `to` is applied here (a rival owner may have stored messages this state has not seen).
   */
  #idsTo(userId: UserId, from: number, to: number): { ids: string[]; complete: boolean } {
    const ids = this.recent.filter((m) => m.receiverId === userId && m.seq > from && m.seq <= to).map((m) => m.id);
    return { ids, complete: from + 1 >= this.coveredFrom && to <= this.appliedSeq };
  }

  /** The conversation document as this state has it, for a conditional replace of the owner's fields. */
  toSet(): Pick<ConversationDoc, 'lastSeq' | 'appliedSeq' | 'unreadCount' | 'members' | 'updatedAt' | 'rev'> &
    Partial<Pick<ConversationDoc, 'lastMessage'>> {
    return {
      lastSeq: this.lastSeq,
      appliedSeq: this.appliedSeq,
      unreadCount: this.unread,
      members: this.members,
      updatedAt: this.updatedAt,
      rev: this.rev + 1,
      ...(this.lastMessage ? { lastMessage: this.lastMessage } : {}),
    };
  }
}

import type { OutboxEntry } from './outbox.ts';
import type { Message, MessageStatus } from './types.ts';

/** A message not stored yet: the optimistic bubble of an outbox entry. */
export interface PendingItem {
  kind: 'pending';
  clientMessageId: string;
  entry: OutboxEntry;
}

export interface StoredItem {
  kind: 'message';
  message: Message;
}

/** What a conversation shows: stored messages by `seq`, then the user's unsent ones in the order written. */
export type TimelineItem = StoredItem | PendingItem;

export interface InsertResult {
  /** New to this timeline (false: a repeat, by `_id`). */
  added: boolean;
  /** The `clientMessageId` of the pending item it replaced, if any. */
  resolved?: string;
  /** A `seq` is missing below the highest held: the timeline needs a sync from `syncedUpTo`. */
  gap: boolean;
}

const RANK: Record<MessageStatus, number> = { sent: 0, delivered: 1, read: 2 };

/**
 * One conversation's messages: ordered by `seq`, deduplicated by `_id`, with the user's pending sends after them.
 * `syncedUpTo` is the `seq` up to which it holds everything (or knows it missing for good); above it, a hole is a gap.
 */
export class Timeline {
  readonly conversationId: string;
  readonly #messages: Message[] = [];
  readonly #ids = new Map<string, Message>();
  readonly #pending = new Map<string, PendingItem>();
  #syncedUpTo: number;

  /** `syncedUpTo`: what the app already holds elsewhere (0: from the start). */
  constructor(conversationId: string, syncedUpTo = 0) {
    this.conversationId = conversationId;
    this.#syncedUpTo = syncedUpTo;
  }

  get syncedUpTo(): number {
    return this.#syncedUpTo;
  }

  get lastSeq(): number {
    return this.#messages.at(-1)?.seq ?? this.#syncedUpTo;
  }

  get hasGap(): boolean {
    return this.lastSeq > this.#syncedUpTo;
  }

  get messages(): readonly Message[] {
    return this.#messages;
  }

  items(): TimelineItem[] {
    const pending = [...this.#pending.values()].sort((a, b) => a.entry.createdAt.localeCompare(b.entry.createdAt));
    return [...this.#messages.map((message): StoredItem => ({ kind: 'message', message })), ...pending];
  }

  has(messageId: string): boolean {
    return this.#ids.has(messageId);
  }

  get(messageId: string): Message | undefined {
    return this.#ids.get(messageId);
  }

  insert(message: Message): InsertResult {
    const known = this.#ids.get(message._id);
    if (known) {
      this.#advanceStatus(known, message.status, message.deliveredAt, message.readAt);
      return { added: false, gap: this.hasGap };
    }
    // Below what is held complete and not held: older history (e.g. a page the app loads); keep it in order.
    let at = this.#messages.length;
    while (at > 0 && this.#messages[at - 1]!.seq > message.seq) at -= 1;
    this.#messages.splice(at, 0, { ...message });
    this.#ids.set(message._id, this.#messages[at]!);
    let resolved: string | undefined;
    if (this.#pending.delete(message.clientMessageId)) resolved = message.clientMessageId;
    this.#advance();
    return { added: true, gap: this.hasGap, ...(resolved === undefined ? {} : { resolved }) };
  }

  /**
   * A sync from `syncedUpTo` returned everything the server has (`hasMore: false`), the highest at `seq`: what is
   * still missing below it is missing for good (the server leaves gaps only after a crash of an earlier version).
   */
  synced(upToSeq: number): void {
    this.#syncedUpTo = Math.max(this.#syncedUpTo, upToSeq);
    this.#advance();
  }

  addPending(entry: OutboxEntry): void {
    if (this.#messages.some((m) => m.clientMessageId === entry.clientMessageId)) return;
    this.#pending.set(entry.clientMessageId, { kind: 'pending', clientMessageId: entry.clientMessageId, entry });
  }

  updatePending(entry: OutboxEntry): void {
    if (this.#pending.has(entry.clientMessageId))
      this.#pending.set(entry.clientMessageId, { kind: 'pending', clientMessageId: entry.clientMessageId, entry });
  }

  removePending(clientMessageId: string): boolean {
    return this.#pending.delete(clientMessageId);
  }

  get pending(): readonly PendingItem[] {
    return [...this.#pending.values()];
  }

  /**
   * A receipt: every message to `receiverId` up to `upToSeq` is delivered (or read, which implies delivered).
   * Status only moves forward. Returns whether anything changed.
   */
  applyReceipt(kind: 'delivered' | 'read', receiverId: string, upToSeq: number, at?: string): boolean {
    let changed = false;
    for (const message of this.#messages) {
      if (message.seq > upToSeq) break;
      if (message.receiverId !== receiverId) continue;
      changed = this.#advanceStatus(message, kind, kind === 'delivered' ? at : undefined, kind === 'read' ? at : undefined) || changed;
    }
    return changed;
  }

  #advanceStatus(message: Message, status: MessageStatus, deliveredAt?: string, readAt?: string): boolean {
    if (RANK[status] <= RANK[message.status]) return false;
    message.status = status;
    if (deliveredAt && !message.deliveredAt) message.deliveredAt = deliveredAt;
    if (readAt && !message.readAt) message.readAt = readAt;
    return true;
  }

  #advance(): void {
    for (const message of this.#messages) {
      if (message.seq <= this.#syncedUpTo) continue;
      if (message.seq !== this.#syncedUpTo + 1) break;
      this.#syncedUpTo = message.seq;
    }
  }
}

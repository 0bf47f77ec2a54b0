import type { ConversationId, Message, UserId } from '@chat/contracts';
import type { Logger } from '@chat/logger';
import type { ConversationCommands } from './conversation-commands.ts';

/** How long receipts are gathered before one command per conversation goes out. */
const FLUSH_AFTER_MS = 20;
const MAX_IDS_PER_COMMAND = 1000;
/** Receipts remembered for `close`: far more than a gateway sends in the seconds a command waits to be applied. */
const RECENT_RECEIPTS = 2_000;

/** Retries of a receipt that could not be sent (NATS away): from a quarter second, doubling, up to 5 s. */
const RETRY_FIRST_MS = 250;
const RETRY_MAX_MS = 5000;

/**
 * Reports that messages reached a device of their receiver, batched per conversation. One that cannot be sent
 * (NATS away) is kept and tried again until it is, so a receiver who stays connected is not left `sent`. A
 * receipt lost with a crashed gateway is not lost for good either: the message stays `sent` and is replayed (and
 * receipted) when the receiver next connects.
 */
export class DeliveryReceipts {
  readonly #pending = new Map<string, { conversationId: ConversationId; receiverId: UserId; ids: Set<string>; upToSeq: number }>();
  readonly #commands: ConversationCommands;
  readonly #logger: Logger;
  #timer: NodeJS.Timeout | undefined;
  #inFlight = new Set<Promise<void>>();
  /**
   * Stream sequence numbers of the receipts sent since the last `settle`, newest last: at shutdown, the ones
   * still queued are waited for. Applied ones are gone from the work-queue stream, so checking them is cheap.
   */
  readonly #recent: number[] = [];

  constructor(commands: ConversationCommands, logger: Logger) {
    this.#commands = commands;
    this.#logger = logger;
  }

  /** Failed sends in a row, for the retry's backoff. */
  #failures = 0;
  #closed = false;

  report(message: Message): void {
    if (message.status !== 'sent') return;
    this.#gather(message.conversationId, message.receiverId, [message._id], message.seq);
    this.#timer ??= setTimeout(() => void this.flush(), FLUSH_AFTER_MS);
  }

  #gather(conversationId: ConversationId, receiverId: UserId, messageIds: string[], upToSeq: number): void {
    const key = `${conversationId}\u0000${receiverId}`;
    let entry = this.#pending.get(key);
    if (!entry) {
      entry = { conversationId, receiverId, ids: new Set(), upToSeq: 0 };
      this.#pending.set(key, entry);
    }
    for (const id of messageIds) entry.ids.add(id);
    entry.upToSeq = Math.max(entry.upToSeq, upToSeq);
  }

  /** A receipt that could not be sent goes back with what is gathered, and is tried again after a backoff. */
  #retry(conversationId: ConversationId, receiverId: UserId, messageIds: string[], upToSeq: number): void {
    this.#gather(conversationId, receiverId, messageIds, upToSeq);
    this.#failures++;
    if (this.#timer || this.#closed) return;
    this.#timer = setTimeout(() => void this.flush(), Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** (this.#failures - 1)));
    this.#timer.unref();
  }

  /** Sends what is gathered; resolves when it is stored in JetStream. */
  async flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const batch = [...this.#pending.values()];
    this.#pending.clear();
    const at = new Date().toISOString();
    const sends = batch.flatMap(({ conversationId, receiverId, ids, upToSeq }) => {
      const all = [...ids];
      const chunks: string[][] = [];
      for (let i = 0; i < all.length; i += MAX_IDS_PER_COMMAND) chunks.push(all.slice(i, i + MAX_IDS_PER_COMMAND));
      return chunks.map((messageIds) =>
        this.#commands.publish({ type: 'delivered', conversationId, receiverId, messageIds, upToSeq, at }).then(
          (ack) => {
            this.#failures = 0;
            this.#recent.push(ack.seq);
            if (this.#recent.length > RECENT_RECEIPTS) this.#recent.shift();
          },
          (error: unknown) => {
            this.#logger.warn(
              { err: error, conversationId, attempt: this.#failures + 1 },
              'could not send a delivered receipt; trying again',
            );
            this.#retry(conversationId, receiverId, messageIds, upToSeq);
          },
        ),
      );
    });
    const all = Promise.all(sends).then(() => undefined);
    this.#inFlight.add(all);
    await all.finally(() => this.#inFlight.delete(all));
  }

  /**
   * Sends what is gathered and waits until the messages service has applied what was sent since the last call
   * (as far as `applied` waits), so that a client reconnecting to another gateway is not replayed what it was
   * just shown here.
   */
  async settle(applied: (streamSeqs: number[]) => Promise<void>): Promise<void> {
    await this.flush();
    await Promise.all(this.#inFlight);
    await applied(this.#recent.splice(0));
  }

  /** At shutdown, after the last emit: `settle`, and no retries from now on (what fails is replayed later). */
  async close(applied: (streamSeqs: number[]) => Promise<void>): Promise<void> {
    await this.settle(applied);
    this.#closed = true;
    clearTimeout(this.#timer);
  }
}

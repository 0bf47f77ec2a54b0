import type { ConversationId, Message, UserId } from '@chat/contracts';
import type { Logger } from '@chat/logger';
import type { ConversationCommands } from './conversation-commands.ts';

/** How long receipts are gathered before one command per conversation goes out. */
const FLUSH_AFTER_MS = 20;
const MAX_IDS_PER_COMMAND = 1000;
/** Receipts remembered for `close`: far more than a gateway sends in the seconds a command waits to be applied. */
const RECENT_RECEIPTS = 2_000;

/**
 * Reports that messages reached a device of their receiver, batched per conversation. A receipt lost with a
 * crashed gateway is not lost for good: the message stays `sent` and is replayed (and receipted) when the
 * receiver next connects.
 */
export class DeliveryReceipts {
  readonly #pending = new Map<string, { conversationId: ConversationId; receiverId: UserId; ids: Set<string>; upToSeq: number }>();
  readonly #commands: ConversationCommands;
  readonly #logger: Logger;
  #timer: NodeJS.Timeout | undefined;
  #inFlight = new Set<Promise<void>>();
  /**
   * Stream sequence numbers of the receipts sent lately, newest last: at shutdown, the ones still queued are
   * waited for (see `close`). Applied ones are gone from the work-queue stream, so checking them is cheap.
   */
  readonly #recent: number[] = [];

  constructor(commands: ConversationCommands, logger: Logger) {
    this.#commands = commands;
    this.#logger = logger;
  }

  report(message: Message): void {
    if (message.status !== 'sent') return;
    const key = `${message.conversationId}\u0000${message.receiverId}`;
    let entry = this.#pending.get(key);
    if (!entry) {
      entry = { conversationId: message.conversationId, receiverId: message.receiverId, ids: new Set(), upToSeq: 0 };
      this.#pending.set(key, entry);
    }
    entry.ids.add(message._id);
    entry.upToSeq = Math.max(entry.upToSeq, message.seq);
    this.#timer ??= setTimeout(() => void this.flush(), FLUSH_AFTER_MS);
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
            this.#recent.push(ack.seq);
            if (this.#recent.length > RECENT_RECEIPTS) this.#recent.shift();
          },
          (error: unknown) => this.#logger.warn({ err: error, conversationId }, 'could not report a delivery; it will be replayed'),
        ),
      );
    });
    const all = Promise.all(sends).then(() => undefined);
    this.#inFlight.add(all);
    await all.finally(() => this.#inFlight.delete(all));
  }

  /**
   * At shutdown: sends what is gathered and waits until the messages service has applied it (or `timeoutMs`),
   * so that a client reconnecting to another gateway is not replayed what it was just shown here.
   */
  async close(applied: (streamSeqs: number[]) => Promise<void>): Promise<void> {
    await this.flush();
    await Promise.all(this.#inFlight);
    await applied([...this.#recent]);
  }
}

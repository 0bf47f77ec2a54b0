import pLimit from 'p-limit';
import { ChatError, type Message, type UserId } from '@chat/contracts';

/** Lookups at once when the waiting sends are checked against the store. */
const LOOKUPS_AT_ONCE = 8;

interface Waiter {
  senderId: UserId;
  clientMessageId: string;
  /** Publishes the send's command again (same message id: JetStream keeps one). */
  republish: (() => Promise<void>) | undefined;
  resolve: (message: Message) => void;
  reject: (error: ChatError) => void;
  timer: NodeJS.Timeout;
}

/** Sends waiting for their stored message, keyed by sender and clientMessageId. */
export class PendingSends {
  readonly #waiters = new Map<string, Set<Waiter>>();

  static key(senderId: UserId, clientMessageId: string): string {
    return `${senderId}\u0000${clientMessageId}`;
  }

  /**
   * Registers a waiter, before the command is published so that a fast answer cannot be missed. Call
   * `cancel` when the answer came another way.
   */
  wait(
    senderId: UserId,
    clientMessageId: string,
    timeoutMs: number,
    republish?: () => Promise<void>,
  ): { promise: Promise<Message>; cancel: () => void } {
    const key = PendingSends.key(senderId, clientMessageId);
    let waiter!: Waiter;
    const promise = new Promise<Message>((resolve, reject) => {
      waiter = {
        senderId,
        clientMessageId,
        republish,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.#remove(key, waiter);
          reject(new ChatError('STORE_TIMEOUT'));
        }, timeoutMs),
      };
    });
    let waiters = this.#waiters.get(key);
    if (!waiters) this.#waiters.set(key, (waiters = new Set()));
    waiters.add(waiter);
    return {
      promise,
      cancel: () => {
        clearTimeout(waiter.timer);
        this.#remove(key, waiter);
      },
    };
  }

  /** The stored message of a send arrived: answer everyone waiting for it. */
  resolve(message: Message): void {
    this.#settle(message.senderId, message.clientMessageId, (waiter) => waiter.resolve(message));
  }

  /** The send was refused for good: answer everyone waiting for it with the error. */
  reject(senderId: UserId, clientMessageId: string, error: ChatError): void {
    this.#settle(senderId, clientMessageId, (waiter) => waiter.reject(error));
  }

  #settle(senderId: UserId, clientMessageId: string, answer: (waiter: Waiter) => void): void {
    const key = PendingSends.key(senderId, clientMessageId);
    const waiters = this.#waiters.get(key);
    if (!waiters) return;
    this.#waiters.delete(key);
    for (const waiter of waiters) {
      clearTimeout(waiter.timer);
      answer(waiter);
    }
  }

  /**
   * Asks the store for the message of every waiting send and answers those that are stored. For after an
   * interruption of the bus: the answers come as core NATS messages, and one published while this gateway was
   * away is gone. A send not stored yet has its command published again — a server that went down may have lost
   * it with writes it had not yet flushed; when it has it, JetStream drops the copy — and goes on waiting (its
   * answer comes live).
   */
  async recheck(find: (senderId: UserId, clientMessageId: string) => Promise<Message | null>): Promise<void> {
    const limit = pLimit(LOOKUPS_AT_ONCE);
    const waiting = [...this.#waiters.values()].map((waiters) => [...waiters][0]!);
    await Promise.all(
      waiting.map(({ senderId, clientMessageId, republish }) =>
        limit(async () => {
          const message = await find(senderId, clientMessageId);
          if (message) this.resolve(message);
          else await republish?.();
        }),
      ),
    );
  }

  get size(): number {
    return this.#waiters.size;
  }

  /** Resolves once no send is waiting, or after `timeoutMs` (at shutdown: let answers reach their clients). */
  async idle(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.#waiters.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 25));
  }

  #remove(key: string, waiter: Waiter): void {
    const waiters = this.#waiters.get(key);
    if (!waiters) return;
    waiters.delete(waiter);
    if (waiters.size === 0) this.#waiters.delete(key);
  }
}

import { isRetryable } from './errors.ts';
import type { ClientStorage } from './storage.ts';
import type { ChatErrorPayload, MessageBody } from './types.ts';

/** A message the server has not acknowledged yet (or refused for good, until the user discards it). */
export interface OutboxEntry {
  clientMessageId: string;
  conversationId: string;
  receiverId: string;
  body: MessageBody;
  /** When the user sent it (ISO-8601): the optimistic bubble's time. */
  createdAt: string;
  /** Sends so far. */
  attempts: number;
  /** `queued`: waiting to be sent; `sending`: sent, answer awaited; `failed`: refused for good. */
  state: 'queued' | 'sending' | 'failed';
  /** Not sent again before this time (ms since the epoch): the backoff after a retryable error. */
  notBefore: number;
  /** The last error. */
  error?: ChatErrorPayload;
}

export interface BackoffOptions {
  /** The first retry's delay (default 500 ms), doubled per attempt... */
  initialMs?: number;
  /** ...up to this (default 30 s). */
  maxMs?: number;
  /** Jitter source in [0, 1): the delay is scaled by 0.5–1. */
  random?: () => number;
}

/**
 * The queue of sends. Pure bookkeeping, no network and no timers: the client asks it what is due and reports
 * each answer. One send in flight per conversation, the oldest first, so that messages are stored in the order
 * they were written; a message refused for good no longer holds the ones after it.
 */
export class Outbox {
  readonly #storage: ClientStorage;
  readonly #key: string;
  readonly #initialMs: number;
  readonly #maxMs: number;
  readonly #random: () => number;
  #entries: OutboxEntry[] = [];
  #writes: Promise<void> = Promise.resolve();

  constructor(storage: ClientStorage, key: string, { initialMs = 500, maxMs = 30_000, random = Math.random }: BackoffOptions = {}) {
    this.#storage = storage;
    this.#key = key;
    this.#initialMs = initialMs;
    this.#maxMs = maxMs;
    this.#random = random;
  }

  /** Restores what a previous session left; sends that were in flight are sent again. */
  async load(): Promise<void> {
    const raw = await this.#storage.get(this.#key);
    const stored = raw ? (JSON.parse(raw) as OutboxEntry[]) : [];
    const known = new Set(this.#entries.map((e) => e.clientMessageId));
    const restored = stored
      .filter((e) => !known.has(e.clientMessageId))
      .map((e): OutboxEntry => (e.state === 'sending' ? { ...e, state: 'queued', notBefore: 0 } : e));
    this.#entries = [...restored, ...this.#entries];
  }

  get entries(): readonly OutboxEntry[] {
    return this.#entries;
  }

  get(clientMessageId: string): OutboxEntry | undefined {
    return this.#entries.find((e) => e.clientMessageId === clientMessageId);
  }

  add(draft: { clientMessageId: string; conversationId: string; receiverId: string; body: MessageBody }, now: number): OutboxEntry {
    const entry: OutboxEntry = { ...draft, createdAt: new Date(now).toISOString(), attempts: 0, state: 'queued', notBefore: 0 };
    this.#entries.push(entry);
    this.#persist();
    return entry;
  }

  /** What may be sent now: per conversation, its oldest unsettled entry, when it is queued and its backoff is over. */
  due(now: number): OutboxEntry[] {
    return this.#heads().filter((e) => e.state === 'queued' && e.notBefore <= now);
  }

  /** When the earliest head still in backoff is due, for a timer; undefined when none waits. */
  nextWake(now: number): number | undefined {
    const waiting = this.#heads()
      .filter((e) => e.state === 'queued' && e.notBefore > now)
      .map((e) => e.notBefore);
    return waiting.length === 0 ? undefined : Math.min(...waiting);
  }

  started(clientMessageId: string): void {
    const entry = this.get(clientMessageId);
    if (!entry) return;
    entry.state = 'sending';
    entry.attempts += 1;
    this.#persist();
  }

  /** Acknowledged: the entry leaves the outbox. */
  succeeded(clientMessageId: string): OutboxEntry | undefined {
    const entry = this.get(clientMessageId);
    if (!entry) return undefined;
    this.#entries = this.#entries.filter((e) => e !== entry);
    this.#persist();
    return entry;
  }

  /** Refused or unanswered: queued again after a backoff, or failed for good. */
  failed(clientMessageId: string, error: ChatErrorPayload, now: number): 'retry' | 'final' | undefined {
    const entry = this.get(clientMessageId);
    if (!entry || entry.state === 'failed') return undefined;
    entry.error = error;
    if (isRetryable(error)) {
      const delay = Math.min(this.#maxMs, this.#initialMs * 2 ** Math.max(0, entry.attempts - 1));
      entry.state = 'queued';
      // A rate limit says when the next send would be taken: no sooner than that.
      entry.notBefore = Math.max(now + Math.round(delay * (0.5 + this.#random() / 2)), now + retryAfterOf(error));
    } else {
      entry.state = 'failed';
    }
    this.#persist();
    return entry.state === 'failed' ? 'final' : 'retry';
  }

  /** A new connection: everything unsettled is sent again at once (answers to the old one will not come). */
  reconnected(): void {
    for (const entry of this.#entries) {
      if (entry.state === 'failed') continue;
      entry.state = 'queued';
      entry.notBefore = 0;
    }
    this.#persist();
  }

  /** A failed entry queued again (after the user changed nothing but wants to try). */
  retry(clientMessageId: string): boolean {
    const entry = this.get(clientMessageId);
    if (entry?.state !== 'failed') return false;
    entry.state = 'queued';
    entry.notBefore = 0;
    this.#persist();
    return true;
  }

  discard(clientMessageId: string): boolean {
    const before = this.#entries.length;
    this.#entries = this.#entries.filter((e) => e.clientMessageId !== clientMessageId);
    if (this.#entries.length !== before) this.#persist();
    return this.#entries.length !== before;
  }

  /** Resolves once every change so far is written to the storage. */
  flushed(): Promise<void> {
    return this.#writes;
  }

  #heads(): OutboxEntry[] {
    const heads = new Map<string, OutboxEntry>();
    for (const entry of this.#entries) {
      if (entry.state === 'failed' || heads.has(entry.conversationId)) continue;
      heads.set(entry.conversationId, entry);
    }
    return [...heads.values()];
  }

  #persist(): void {
    const snapshot = this.#entries.length === 0 ? undefined : JSON.stringify(this.#entries);
    this.#writes = this.#writes
      .then(() => (snapshot === undefined ? this.#storage.remove(this.#key) : this.#storage.set(this.#key, snapshot)))
      .catch(() => undefined);
  }
}

/** `details.retryAfterMs` of a `RATE_LIMITED` refusal (0 for anything else). */
function retryAfterOf(error: ChatErrorPayload): number {
  if (error.code !== 'RATE_LIMITED') return 0;
  const ms = (error.details as { retryAfterMs?: unknown } | undefined)?.retryAfterMs;
  return typeof ms === 'number' && Number.isFinite(ms) && ms > 0 ? ms : 0;
}

import { io, type Socket } from 'socket.io-client';
import { DELIVERY_ACKS_FIELD, TYPING_THROTTLE } from './contract-checks.ts';
import { isRetryable } from './errors.ts';
import { Outbox, type BackoffOptions, type OutboxEntry } from './outbox.ts';
import { MemoryStorage, type ClientStorage } from './storage.ts';
import { Timeline } from './timeline.ts';
import type {
  ChatErrorPayload,
  DeliveredReceipt,
  Message,
  MessageBody,
  PresenceStatus,
  ReadReceipt,
  Result,
  TypingEvent,
} from './types.ts';

export type ConnectionState = 'idle' | 'connecting' | 'online' | 'offline' | 'closed';

export interface ChatClientOptions {
  /** Gateway URLs, tried in turn (the next one after a failure), or a function giving the URL to connect to. */
  urls: readonly string[] | ((attempt: number) => string | Promise<string>);
  /** The JWT to connect with. */
  token: string;
  /** A fresh token of the same user: called before `exp`, and when the server says the token expired. */
  refreshToken?: () => Promise<string>;
  /** Where unsent messages survive reloads (default: memory). */
  storage?: ClientStorage;
  /** How long to wait for an acknowledgement (default 15 s). */
  ackTimeoutMs?: number;
  /** Refresh this long before the token's `exp` (default 60 s). */
  refreshBeforeExpMs?: number;
  /** Reconnect backoff: from this (default 250 ms), doubling... */
  reconnectInitialMs?: number;
  /** ...up to this (default 5 s). */
  reconnectMaxMs?: number;
  /** Backoff of resends after retryable errors. */
  sendBackoff?: BackoffOptions;
  /** socket.io-client transports (default websocket only: no sticky sessions needed behind a balancer). */
  transports?: ('websocket' | 'polling' | 'webtransport')[];
}

export type SendResult = { ok: true; message: Message } | { ok: false; error: ChatErrorPayload };

export interface ClientEvents {
  state: (state: ConnectionState) => void;
  /** A stored message new to its timeline (live, replayed, synced or the echo of one's own send). */
  message: (message: Message) => void;
  /** A conversation's timeline changed (message, pending send, status). */
  timeline: (conversationId: string) => void;
  /** One's own send was stored: `message.clientMessageId` names the optimistic bubble it replaces. */
  sent: (message: Message) => void;
  /** One's own send was refused for good. */
  send_failed: (entry: OutboxEntry, error: ChatErrorPayload) => void;
  delivered: (receipt: DeliveredReceipt) => void;
  read: (receipt: ReadReceipt) => void;
  typing: (event: TypingEvent) => void;
  presence: (status: PresenceStatus) => void;
  /** Every `error` the server reports, and the client's own failures (sync, refresh). */
  error: (error: ChatErrorPayload) => void;
}

type Listener = (...args: never[]) => void;

/** The claims this reads from a JWT, unverified: the user and the expiry. */
function claimsOf(token: string): { userId: string; exp?: number } {
  const part = token.split('.')[1];
  if (!part) throw new TypeError('not a JWT');
  const json = JSON.parse(atob(part.replace(/-/g, '+').replace(/_/g, '/'))) as { userId?: unknown; sub?: unknown; exp?: unknown };
  const userId = typeof json.userId === 'string' ? json.userId : typeof json.sub === 'string' ? json.sub : undefined;
  if (!userId) throw new TypeError('the token names no user (userId or sub)');
  return { userId, ...(typeof json.exp === 'number' ? { exp: json.exp } : {}) };
}

function otherOf(conversationId: string, userId: string): string {
  const [a, b] = conversationId.split('_');
  if (!a || !b) throw new TypeError(`not a conversation id: ${conversationId}`);
  return a === userId ? b : a;
}

/** `crypto.randomUUID` where there is one (browsers have it only in secure contexts), else the same from random bytes. */
function newClientMessageId(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const disconnected: ChatErrorPayload = { code: 'DISCONNECTED', message: 'The connection ended before the answer' };

/**
 * A chat connection of one user. Keeps itself connected (to the next URL after a failure), sends through a
 * persistent outbox, keeps a timeline per conversation and acknowledges each `new_message` once it holds it.
 */
export class ChatClient {
  readonly userId: string;
  readonly #options: ChatClientOptions;
  readonly #outbox: Outbox;
  readonly #timelines = new Map<string, Timeline>();
  readonly #listeners = new Map<keyof ClientEvents, Set<Listener>>();
  readonly #waiters = new Map<string, Set<(result: SendResult) => void>>();
  readonly #syncs = new Map<string, Promise<void>>();
  readonly #watched = new Set<string>();
  readonly #typedAt = new Map<string, number>();
  readonly #pendingReads = new Map<string, number>();
  #token: string;
  #socket: Socket | undefined;
  #state: ConnectionState = 'idle';
  #attempt = 0;
  #generation = 0;
  #reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  #refreshTimer: ReturnType<typeof setTimeout> | undefined;
  #sendTimer: ReturnType<typeof setTimeout> | undefined;
  #loaded: Promise<void> | undefined;

  constructor(options: ChatClientOptions) {
    this.#options = options;
    this.#token = options.token;
    this.userId = claimsOf(options.token).userId;
    this.#outbox = new Outbox(options.storage ?? new MemoryStorage(), `outbox:${this.userId}`, options.sendBackoff);
  }

  /** The current JWT (refreshed in place), e.g. for `ChatRest`. */
  get token(): string {
    return this.#token;
  }

  get state(): ConnectionState {
    return this.#state;
  }

  /** Unsent (and refused) messages. */
  get outbox(): readonly OutboxEntry[] {
    return this.#outbox.entries;
  }

  on<E extends keyof ClientEvents>(event: E, listener: ClientEvents[E]): () => void {
    let set = this.#listeners.get(event);
    if (!set) this.#listeners.set(event, (set = new Set()));
    set.add(listener as Listener);
    return () => set.delete(listener as Listener);
  }

  /** Loads the outbox and connects; resolves once authenticated the first time, rejects if closed before. */
  async connect(): Promise<void> {
    this.#loaded ??= this.#outbox.load().then(() => {
      for (const entry of this.#outbox.entries) this.timeline(entry.conversationId).addPending(entry);
    });
    await this.#loaded;
    if (this.#state === 'idle' || this.#state === 'offline') void this.#open();
    if (this.#state === 'online') return;
    await new Promise<void>((resolve, reject) => {
      const off = this.on('state', (state) => {
        if (state === 'online') {
          off();
          resolve();
        }
        if (state === 'closed') {
          off();
          reject(new Error('the client was closed before it connected'));
        }
      });
    });
  }

  /** Disconnects for good; the outbox stays in the storage for the next session. */
  async close(): Promise<void> {
    this.#setState('closed');
    clearTimeout(this.#reconnectTimer);
    clearTimeout(this.#refreshTimer);
    clearTimeout(this.#sendTimer);
    this.#socket?.disconnect();
    this.#socket = undefined;
    await this.#outbox.flushed();
  }

  /**
   * A conversation's timeline, caught up with `sync_messages` on every connect. New, it holds everything after
   * `afterSeq` (default 0: the whole conversation; pass e.g. the conversation list's `lastSeq` minus a page).
   */
  timeline(conversationId: string, afterSeq = 0): Timeline {
    let timeline = this.#timelines.get(conversationId);
    if (!timeline) {
      this.#timelines.set(conversationId, (timeline = new Timeline(conversationId, afterSeq)));
      if (this.#state === 'online') void this.sync(conversationId);
    }
    return timeline;
  }

  /**
   * Sends a message: shown at once as pending, stored in the outbox, sent (again after every reconnect) until the
   * server stores it or refuses it for good. `result` never rejects.
   */
  send(
    conversationId: string,
    body: MessageBody,
    receiverId = otherOf(conversationId, this.userId),
  ): { clientMessageId: string; result: Promise<SendResult> } {
    const clientMessageId = newClientMessageId();
    const result = new Promise<SendResult>((resolve) => this.#waiter(clientMessageId, resolve));
    const entry = this.#outbox.add({ clientMessageId, conversationId, receiverId, body }, Date.now());
    this.timeline(conversationId).addPending(entry);
    this.#emit('timeline', conversationId);
    this.#pump();
    return { clientMessageId, result };
  }

  sendText(conversationId: string, text: string): { clientMessageId: string; result: Promise<SendResult> } {
    return this.send(conversationId, { messageType: 'text', content: { text } });
  }

  /** Resends a message refused for good (e.g. after the cause was fixed server-side). */
  retry(clientMessageId: string): boolean {
    const ok = this.#outbox.retry(clientMessageId);
    if (ok) this.#pump();
    return ok;
  }

  /** Forgets a refused message. */
  discard(clientMessageId: string): boolean {
    const entry = this.#outbox.get(clientMessageId);
    if (entry?.state !== 'failed') return false;
    this.#outbox.discard(clientMessageId);
    this.timeline(entry.conversationId).removePending(clientMessageId);
    this.#emit('timeline', entry.conversationId);
    return true;
  }

  /** Marks everything received up to `upToSeq` as read; sent once online when offline now (the highest wins). */
  async markRead(conversationId: string, upToSeq: number): Promise<Result<{ conversationId: string; upToSeq?: number }>> {
    this.#pendingReads.set(conversationId, Math.max(upToSeq, this.#pendingReads.get(conversationId) ?? 0));
    if (this.#state !== 'online') return { ok: false, error: { code: 'DISCONNECTED', message: 'offline: sent once connected' } };
    return this.#flushRead(conversationId);
  }

  /**
   * Tells the other participant the user is typing. Throttled as the server forwards (one per conversation per
   * 2 s), so calling it on every keystroke is fine; the server stops the indicator by itself 5 s after the last.
   */
  typing(conversationId: string): void {
    const now = Date.now();
    if (this.#state !== 'online' || now - (this.#typedAt.get(conversationId) ?? -Infinity) < TYPING_THROTTLE) return;
    this.#typedAt.set(conversationId, now);
    this.#socket?.emit('typing_start', { conversationId });
  }

  stopTyping(conversationId: string): void {
    this.#typedAt.delete(conversationId);
    if (this.#state === 'online') this.#socket?.emit('typing_stop', { conversationId });
  }

  /** Follows a partner's online status (`presence` events); re-established on every reconnect. */
  watch(userId: string): () => void {
    this.#watched.add(userId);
    if (this.#state === 'online') void this.#watchNow(userId);
    return () => this.#watched.delete(userId);
  }

  /** Fetches what the server has after the timeline's `syncedUpTo` (one run per conversation at a time). */
  sync(conversationId: string): Promise<void> {
    const running = this.#syncs.get(conversationId);
    if (running) return running;
    const run = this.#syncNow(conversationId).finally(() => this.#syncs.delete(conversationId));
    this.#syncs.set(conversationId, run);
    return run;
  }

  // ---- connection -----------------------------------------------------------------------------------------

  async #open(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#setState('connecting');
    const generation = ++this.#generation;
    const { urls } = this.#options;
    let url: string;
    try {
      url = typeof urls === 'function' ? await urls(this.#attempt) : urls[this.#attempt % urls.length]!;
    } catch {
      return this.#scheduleReconnect();
    }
    if (generation !== this.#generation || (this.#state as ConnectionState) === 'closed') return;
    this.#socket?.disconnect();
    const socket = io(url, {
      transports: this.#options.transports ?? ['websocket'],
      reconnection: false,
      forceNew: true,
      auth: { token: this.#token, [DELIVERY_ACKS_FIELD]: true },
    });
    this.#socket = socket;
    const current = () => this.#socket === socket && this.#state !== 'closed';

    socket.on('authenticated', () => {
      if (!current() || this.#state === 'online') return;
      this.#attempt = 0;
      this.#setState('online');
      this.#onOnline();
    });
    socket.on('connect_error', (error: Error & { data?: ChatErrorPayload }) => {
      if (!current()) return;
      if (error.data) this.#emit('error', error.data);
      void this.#lost(error.data);
    });
    socket.on('disconnect', () => {
      if (!current()) return;
      void this.#lost(undefined);
    });
    socket.on('new_message', (message: Message, ack?: () => void) => {
      if (!current()) return;
      this.#receive(message);
      ack?.();
    });
    socket.on('message_delivered', (receipt: DeliveredReceipt) => this.#delivered(receipt));
    socket.on('message_read', (receipt: ReadReceipt) => this.#read(receipt));
    socket.on('user_typing', (event: TypingEvent) => this.#emit('typing', event));
    socket.on('user_online_status', (status: PresenceStatus) => this.#emit('presence', status));
    socket.on('error', (error: ChatErrorPayload) => {
      this.#emit('error', error);
      const reason = (error.details as { reason?: string } | undefined)?.reason;
      // The server disconnects right after; refresh now so that the reconnect carries a good token.
      if (error.code === 'AUTH_ERROR' && reason === 'token_expired') void this.#refresh(false);
    });
  }

  async #lost(error: ChatErrorPayload | undefined): Promise<void> {
    if (this.#state === 'closed') return;
    this.#setState('offline');
    clearTimeout(this.#refreshTimer);
    this.#socket?.removeAllListeners();
    this.#socket?.disconnect();
    this.#socket = undefined;
    this.#outbox.reconnected();
    for (const entry of this.#outbox.entries) this.timeline(entry.conversationId).updatePending(entry);
    const reason = (error?.details as { reason?: string } | undefined)?.reason;
    if (error?.code === 'AUTH_ERROR' && reason !== 'keys_unavailable') {
      // Refused for its token: without a way to get another, trying again cannot help.
      if (!this.#options.refreshToken) return void (await this.close());
      await this.#refresh(false);
    }
    this.#attempt += 1;
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    if (this.#state === 'closed') return;
    clearTimeout(this.#reconnectTimer);
    const initial = this.#options.reconnectInitialMs ?? 250;
    const max = this.#options.reconnectMaxMs ?? 5_000;
    // The first retry goes at once (to the next URL): a gateway that stopped has others beside it.
    const delay = this.#attempt <= 1 ? 0 : Math.min(max, initial * 2 ** (this.#attempt - 2)) * (0.5 + Math.random() / 2);
    this.#reconnectTimer = setTimeout(() => void this.#open(), delay);
  }

  #onOnline(): void {
    this.#scheduleRefresh();
    this.#outbox.reconnected();
    this.#pump();
    for (const userId of this.#watched) void this.#watchNow(userId);
    for (const conversationId of this.#timelines.keys()) void this.sync(conversationId);
    for (const conversationId of this.#pendingReads.keys()) void this.#flushRead(conversationId);
  }

  #scheduleRefresh(): void {
    clearTimeout(this.#refreshTimer);
    if (!this.#options.refreshToken) return;
    let exp: number | undefined;
    try {
      exp = claimsOf(this.#token).exp;
    } catch {
      return this.#emit('error', {
        code: 'AUTH_ERROR',
        message: 'the refreshed token is not a JWT',
        details: { reason: 'malformed_token' },
      });
    }
    if (exp === undefined) return;
    const delay = Math.max(0, exp * 1000 - Date.now() - (this.#options.refreshBeforeExpMs ?? 60_000));
    this.#refreshTimer = setTimeout(() => void this.#refresh(true), Math.min(delay, 2 ** 31 - 1));
  }

  /** Gets a fresh token; `authenticate`s the live socket with it when asked to. */
  async #refresh(onSocket: boolean): Promise<void> {
    if (!this.#options.refreshToken) return;
    try {
      this.#token = await this.#options.refreshToken();
    } catch {
      this.#emit('error', { code: 'AUTH_ERROR', message: 'the token could not be refreshed', details: { reason: 'refresh_failed' } });
      return;
    }
    if (!onSocket || this.#state !== 'online') return;
    const answer = await this.#request<{ userId: string }>('authenticate', { token: this.#token });
    if (answer.ok) this.#scheduleRefresh();
    else this.#emit('error', answer.error);
  }

  // ---- sending --------------------------------------------------------------------------------------------

  #waiter(clientMessageId: string, resolve: (result: SendResult) => void): void {
    let set = this.#waiters.get(clientMessageId);
    if (!set) this.#waiters.set(clientMessageId, (set = new Set()));
    set.add(resolve);
  }

  /** Settles an outbox entry for good: stored, or refused. */
  #settle(clientMessageId: string, result: SendResult): void {
    const waiters = this.#waiters.get(clientMessageId);
    this.#waiters.delete(clientMessageId);
    for (const resolve of waiters ?? []) resolve(result);
  }

  /** Sends what is due (one per conversation), and wakes when the next backoff ends. */
  #pump(): void {
    clearTimeout(this.#sendTimer);
    if (this.#state !== 'online') return;
    const now = Date.now();
    for (const entry of this.#outbox.due(now)) void this.#sendEntry(entry);
    const wake = this.#outbox.nextWake(Date.now());
    if (wake !== undefined) this.#sendTimer = setTimeout(() => this.#pump(), Math.max(0, wake - Date.now()));
  }

  async #sendEntry(entry: OutboxEntry): Promise<void> {
    this.#outbox.started(entry.clientMessageId);
    const generation = this.#generation;
    const answer = await this.#request<Message>('send_message', {
      conversationId: entry.conversationId,
      receiverId: entry.receiverId,
      messageType: entry.body.messageType,
      content: entry.body.content,
      clientMessageId: entry.clientMessageId,
    });
    if (answer.ok) {
      this.#stored(answer.data);
    } else if (generation === this.#generation) {
      const outcome = this.#outbox.failed(entry.clientMessageId, answer.error, Date.now());
      const now = this.#outbox.get(entry.clientMessageId);
      if (now) this.timeline(entry.conversationId).updatePending(now);
      if (outcome === 'final' && now) {
        this.#emit('send_failed', now, answer.error);
        this.#settle(entry.clientMessageId, { ok: false, error: answer.error });
      }
      this.#emit('timeline', entry.conversationId);
    }
    this.#pump();
  }

  /** One's own message is stored (its ack, or its echo): the optimistic item gives way to it. */
  #stored(message: Message): void {
    const wasPending = this.#outbox.succeeded(message.clientMessageId) !== undefined;
    this.#receive(message);
    if (wasPending) {
      this.#emit('sent', message);
      this.#settle(message.clientMessageId, { ok: true, message });
    }
  }

  // ---- receiving ------------------------------------------------------------------------------------------

  #receive(message: Message): void {
    if (message.senderId === this.userId && this.#outbox.get(message.clientMessageId)) return this.#stored(message);
    // A conversation first seen through a live message starts there; its history is the app's to ask for
    // (`timeline(id, afterSeq)` before, or REST pages), not a full sync of everything behind it.
    let timeline = this.#timelines.get(message.conversationId);
    if (!timeline) this.#timelines.set(message.conversationId, (timeline = new Timeline(message.conversationId, message.seq - 1)));
    const { added, gap } = timeline.insert(message);
    if (added) this.#emit('message', message);
    this.#emit('timeline', message.conversationId);
    if (gap && this.#state === 'online') void this.sync(message.conversationId);
  }

  async #syncNow(conversationId: string): Promise<void> {
    const timeline = this.timeline(conversationId);
    let retried = false;
    for (;;) {
      if (this.#state !== 'online') return;
      const answer = await this.#request<{ messages: Message[]; hasMore: boolean }>('sync_messages', {
        conversationId,
        afterSeq: timeline.syncedUpTo,
        limit: 100,
      });
      if (!answer.ok) {
        if (answer.error.code === 'DISCONNECTED') return; // the next connect syncs again
        this.#emit('error', answer.error);
        // E.g. RATE_LIMITED after a reconnect with many timelines: try again a little later, once.
        if (isRetryable(answer.error) && !retried) {
          retried = true;
          await new Promise((resolve) => setTimeout(resolve, 2_000));
          continue;
        }
        return;
      }
      for (const message of answer.data.messages) this.#receive(message);
      const highest = answer.data.messages.at(-1)?.seq;
      if (!answer.data.hasMore) {
        if (highest !== undefined) timeline.synced(highest);
        return;
      }
      // A page that does not move `syncedUpTo` (a permanent hole): step over it.
      if (highest !== undefined && timeline.syncedUpTo < highest) timeline.synced(highest);
    }
  }

  #delivered(receipt: DeliveredReceipt): void {
    const conversationId = receipt.conversationId ?? this.#conversationOf(receipt.messageId);
    if (conversationId) {
      const timeline = this.timeline(conversationId);
      const upTo = receipt.upToSeq ?? timeline.get(receipt.messageId)?.seq;
      if (upTo !== undefined && timeline.applyReceipt('delivered', otherOf(conversationId, this.userId), upTo))
        this.#emit('timeline', conversationId);
    }
    this.#emit('delivered', receipt);
  }

  #read(receipt: ReadReceipt): void {
    const conversationId = receipt.conversationId ?? this.#conversationOf(receipt.messageIds[0] ?? '');
    if (conversationId) {
      const timeline = this.timeline(conversationId);
      const seqs = receipt.messageIds.map((id) => timeline.get(id)?.seq ?? 0);
      const upTo = receipt.upToSeq ?? Math.max(0, ...seqs);
      if (upTo > 0 && timeline.applyReceipt('read', receipt.readBy, upTo)) this.#emit('timeline', conversationId);
    }
    this.#emit('read', receipt);
  }

  #conversationOf(messageId: string): string | undefined {
    for (const timeline of this.#timelines.values()) if (timeline.has(messageId)) return timeline.conversationId;
    return undefined;
  }

  async #watchNow(userId: string): Promise<void> {
    const answer = await this.#request<PresenceStatus>('get_online_status', { userId });
    if (!answer.ok && answer.error.code !== 'DISCONNECTED') this.#emit('error', answer.error);
  }

  async #flushRead(conversationId: string): Promise<Result<{ conversationId: string; upToSeq?: number }>> {
    const upToSeq = this.#pendingReads.get(conversationId);
    if (upToSeq === undefined) return { ok: true, data: { conversationId } };
    const answer = await this.#request<{ conversationId: string; upToSeq?: number }>('mark_as_read', { conversationId, upToSeq });
    if (answer.ok || answer.error.code !== 'DISCONNECTED') {
      if (this.#pendingReads.get(conversationId) === upToSeq) this.#pendingReads.delete(conversationId);
    }
    return answer;
  }

  // ---- plumbing -------------------------------------------------------------------------------------------

  /** Emits with an acknowledgement; never rejects (no answer in time: `TIMEOUT`; connection gone: `DISCONNECTED`). */
  #request<T>(event: string, payload: unknown): Promise<Result<T>> {
    const socket = this.#socket;
    if (!socket || this.#state !== 'online') return Promise.resolve({ ok: false, error: disconnected });
    const timeoutMs = this.#options.ackTimeoutMs ?? 15_000;
    return new Promise((resolve) => {
      socket.timeout(timeoutMs).emit(event, payload, (error: Error | null, answer: Result<T>) => {
        if (!error) return resolve(answer);
        resolve({
          ok: false,
          error: socket.connected ? { code: 'TIMEOUT', message: `no answer to ${event} within ${timeoutMs} ms` } : disconnected,
        });
      });
    });
  }

  #setState(state: ConnectionState): void {
    if (this.#state === state || this.#state === 'closed') return;
    this.#state = state;
    this.#emit('state', state);
  }

  #emit<E extends keyof ClientEvents>(event: E, ...args: Parameters<ClientEvents[E]>): void {
    for (const listener of this.#listeners.get(event) ?? []) {
      try {
        (listener as unknown as (...a: Parameters<ClientEvents[E]>) => void)(...args);
      } catch {
        // A listener's failure is the app's; it must not break the connection.
      }
    }
  }
}

import type { Subscription } from '@chat/bus';
import pLimit from 'p-limit';
import { ChatError, DELIVERY_ACK_TIMEOUT_MS, type BusNames, type Message, type UserDelivery, type UserId } from '@chat/contracts';
import type { Bus } from '@chat/bus';
import type { Logger } from '@chat/logger';
import { inSpan } from '@chat/telemetry';
import type { GatewayMetrics } from '../metrics.ts';
import { userRoom } from '../rooms.ts';
import type { ChatServer, ChatSocket } from '../chat-socket.ts';
import type { DeliveryReceipts } from './delivery-receipts.ts';
import type { PendingSends } from './pending-sends.ts';

/**
 * Message ids remembered per user with a socket here. A crash of the messages service between publishing a
 * message and recording that it did makes it publish again after the redelivery, seconds later: those
 * repeats are dropped here instead of being shown twice.
 */
const RECENT_PER_USER = 512;

/** Replayed per page, and at most this many pages per connect (the rest: history / sync_messages). */
const CATCH_UP_PAGE = 200;
const CATCH_UP_MAX_PAGES = 25;
/**
 * Catch-ups of one gateway at once. A reconnect storm (a gateway died, NATS came back) would otherwise send every
 * socket's query to the store together and starve the send path; queued ones wait, their live messages held
 * (`chat_catch_ups_waiting`). Not fewer: the messages service answers the requests that arrive together with one
 * lookup, so more at once means bigger batches, not more queries. At 8, 44,100 connects left 1,900–3,000 lookups
 * queued for 47–92 s and a storm's 12,900 reconnects 10,450 catch-ups still waiting at its end; at 64, none after
 * the connects, and 0–7,637 at the storm's end in three runs (docs/benchmarks.md, sixth pass).
 */
const CATCH_UPS_AT_ONCE = 64;
/** A failed catch-up is tried again after 0.5 s, doubling, at most this long apart, while its socket is connected. */
const CATCH_UP_RETRY_MAX_MS = 8_000;

interface UserEntry {
  /** Undefined until the batch it was queued in subscribes (`#subscribeSoon`). */
  sub: Subscription | undefined;
  sockets: number;
  /** The last message ids delivered to the user, made with the first one (an idle user has none). */
  recent: Set<string> | undefined;
  /** Settles once the subscription is on the NATS connection. */
  ready: Promise<void>;
}

/**
 * The gateway's interest on the bus: one subscription per user with a socket here, taken with the user's
 * first socket and dropped with the last. Whatever arrives for a user is emitted to that user's room, which
 * holds every socket of theirs on this gateway, and so every socket of every conversation room they joined:
 * each socket gets each delivery once.
 *
 * A socket that just connected first gets what its user missed (messages no device received); live messages
 * arriving meanwhile are held for it and emitted after, without the ones the replay already showed.
 */
export class UserDeliveries {
  readonly #subscriptions = new Map<UserId, UserEntry>();
  /** Sockets replaying missed messages, with the live ones held for them. */
  readonly #catchingUp = new Map<string, { userId: UserId; held: Message[] }>();
  readonly #bus: Bus;
  readonly #names: BusNames;
  readonly #io: ChatServer;
  readonly #pending: PendingSends;
  readonly #receipts: DeliveryReceipts;
  readonly #metrics: GatewayMetrics | undefined;
  readonly #onDelivery: (delivery: UserDelivery, msg: { subject: string }) => void;
  readonly #logger: Logger;
  readonly #catchUpSlots = pLimit(CATCH_UPS_AT_ONCE);
  /** Failed catch-ups per socket, for the backoff of the next try. */
  readonly #catchUpRetries = new Map<string, number>();
  /** Users whose subscription goes out with the next batch, and when that batch subscribes. */
  readonly #toSubscribe: UserId[] = [];
  #nextBatch: Promise<void> | undefined;

  constructor(deps: {
    bus: Bus;
    names: BusNames;
    io: ChatServer;
    pending: PendingSends;
    receipts: DeliveryReceipts;
    metrics?: GatewayMetrics;
    logger: Logger;
  }) {
    this.#metrics = deps.metrics;
    this.#bus = deps.bus;
    this.#names = deps.names;
    this.#io = deps.io;
    this.#pending = deps.pending;
    this.#receipts = deps.receipts;
    this.#logger = deps.logger;
    const prefix = deps.names.userDelivery('' as UserId).subject;
    // One handler for every user's subscription, the user read back from the subject (`<prefix><userId>`):
    // not a closure per user.
    this.#onDelivery = (delivery, msg) => this.#deliver(msg.subject.slice(prefix.length) as UserId, delivery);
  }

  /**
   * Adds a socket of the user; resolves once the user's subscription is on this gateway's NATS connection, ahead
   * of anything the socket does next.
   */
  async acquire(userId: UserId): Promise<void> {
    const entry = this.#subscriptions.get(userId);
    if (entry) {
      entry.sockets++;
      // The user's first socket may still be waiting for its batch to subscribe.
      await entry.ready;
      return;
    }
    const created: UserEntry = { sub: undefined, sockets: 1, recent: undefined, ready: Promise.resolve() };
    this.#subscriptions.set(userId, created);
    created.ready = this.#subscribeSoon(userId);
    await created.ready;
  }

  /**
   * Subscribes for the user, together with every other user whose first socket arrives in this turn of the event
   * loop: their SUBs go out in one write, not one each. Nothing waits for NATS to answer (a PING's PONG): NATS
   * handles a connection's protocol in order, and routes carry a subscription's interest ahead of the messages that
   * follow it, so the catch-up request each socket sends after this is handled after the subscription, and what
   * was published before it is in the catch-up's answer. A PONG would prove no more (it does not wait for other
   * servers of a cluster either) and cost a round trip, a write and a read per batch of connects.
   */
  #subscribeSoon(userId: UserId): Promise<void> {
    this.#toSubscribe.push(userId);
    this.#nextBatch ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      this.#nextBatch = undefined;
      for (const user of this.#toSubscribe.splice(0)) {
        const entry = this.#subscriptions.get(user);
        // Gone already (its sockets went), or subscribed by an earlier turn.
        if (entry && !entry.sub) entry.sub = this.#bus.subscribe(this.#names.userDelivery(user), this.#onDelivery);
      }
    });
    return this.#nextBatch;
  }

  release(userId: UserId): void {
    const entry = this.#subscriptions.get(userId);
    if (!entry) return;
    if (--entry.sockets > 0) return;
    this.#subscriptions.delete(userId);
    entry.sub?.unsubscribe();
  }

  /** Stops receiving for everyone (at shutdown): what arrives from now on waits for the users' next connect. */
  stopReceiving(): void {
    for (const { sub } of this.#subscriptions.values()) sub?.unsubscribe();
    this.#subscriptions.clear();
  }

  /**
   * Holds live messages for a socket that is about to catch up. Call before the socket joins its user's room
   * and before `acquire`, so that nothing reaches it live before the replay.
   */
  holdLive(socket: ChatSocket, userId: UserId): void {
    this.#catchingUp.set(socket.id, { userId, held: [] });
  }

  /**
   * After this gateway's NATS connection came back: what was delivered meanwhile never arrived here, so every
   * socket is brought up to date as on connect (live messages held meanwhile), without what it was shown.
   */
  async catchUpAll(): Promise<void> {
    const sockets = [...this.#io.sockets.sockets.values()].filter(
      (socket) => socket.data.user && this.#subscriptions.has(socket.data.user.userId),
    );
    this.#logger.info({ sockets: sockets.length }, 'NATS connection back: catching every socket up');
    await Promise.all(sockets.map((socket) => this.catchUp(socket, socket.data.user!.userId, { skipShown: true })));
  }

  /**
   * Emits to a socket what its user has not received on any device, in sequence order per conversation, then the
   * live messages held for it meanwhile. Call after `holdLive` and `acquire`. With `skipShown` (a socket that was
   * connected all along), what this gateway already emitted to the user is left out.
   */
  async catchUp(socket: ChatSocket, userId: UserId, options: { skipShown?: boolean } = {}): Promise<void> {
    if (!this.#catchingUp.has(socket.id)) this.holdLive(socket, userId);
    this.#metrics?.catchUpsWaiting.inc();
    // A socket that went while it waited for a slot (a storm's, or the sockets of a gateway shutting down) is skipped.
    await this.#catchUpSlots(() => {
      this.#metrics?.catchUpsWaiting.dec();
      return socket.disconnected ? this.forget(socket) : this.#replay(socket, userId, options);
    });
  }

  async #replay(socket: ChatSocket, userId: UserId, { skipShown = false }: { skipShown?: boolean }): Promise<void> {
    const shown = new Set<string>();
    try {
      let after: { conversationId: Message['conversationId']; seq: number } | undefined;
      for (let page = 0; page < CATCH_UP_MAX_PAGES; page++) {
        const { messages, hasMore, receipts } = await this.#bus.request(this.#names.messagesService.undelivered, {
          userId,
          limit: CATCH_UP_PAGE,
          ...(after ? { after } : {}),
        });
        // What the other participants received and read while this device was away (its own sent messages).
        if (!skipShown) {
          for (const { conversationId, receiverId, delivered, read } of receipts ?? []) {
            if (delivered) socket.emit('message_delivered', { messageId: delivered.messageId, conversationId, upToSeq: delivered.seq });
            if (read) socket.emit('message_read', { messageIds: [read.messageId], readBy: receiverId, conversationId, upToSeq: read.seq });
          }
        }
        for (const message of messages) {
          const fresh = this.#remember(userId, message._id);
          if (skipShown && !fresh) continue;
          shown.add(message._id);
          this.#emitTo(socket, message);
        }
        const last = messages.at(-1);
        if (!hasMore || !last) break;
        after = { conversationId: last.conversationId, seq: last.seq };
        if (page === CATCH_UP_MAX_PAGES - 1) this.#logger.warn({ userId }, 'catch-up stopped at its page limit; the rest is in history');
      }
    } catch (error) {
      // Gone meanwhile: nothing to retry or report.
      if (socket.disconnected) return;
      // The messages service is down or slow: live messages go out now, and the catch-up is tried again later
      // (as after a NATS reconnect), so a socket that stays connected never waits for its next connect.
      const attempt = (this.#catchUpRetries.get(socket.id) ?? 0) + 1;
      this.#catchUpRetries.set(socket.id, attempt);
      const delay = Math.min(CATCH_UP_RETRY_MAX_MS, 500 * 2 ** (attempt - 1));
      this.#logger.warn({ err: error, userId, retryInMs: delay }, 'catch-up failed; trying again');
      setTimeout(() => {
        if (socket.disconnected || !this.#subscriptions.has(userId)) return;
        void this.catchUp(socket, userId, { skipShown: true });
      }, delay).unref();
      return;
    } finally {
      const held = this.#catchingUp.get(socket.id)?.held ?? [];
      this.#catchingUp.delete(socket.id);
      for (const message of held) if (!shown.has(message._id)) this.#emitTo(socket, message);
    }
    this.#catchUpRetries.delete(socket.id);
  }

  /**
   * Emits a message to one socket. With `deliveryAcks` it is reported delivered once the device acknowledges it
   * (not in time, or the socket went: it stays undelivered and comes again on the next connect); otherwise at once.
   */
  #emitTo(socket: ChatSocket, message: Message): void {
    const toReceiver = message.receiverId === socket.data.user?.userId;
    if (!socket.data.deliveryAcks) {
      socket.emit('new_message', message);
      if (toReceiver) this.#receipts.report(message);
      return;
    }
    // Socket.IO's typings do not carry an optional acknowledgement through `timeout()`.
    const withAck = socket.timeout(DELIVERY_ACK_TIMEOUT_MS) as unknown as {
      emit(event: 'new_message', message: Message, ack: (error: Error | null) => void): void;
    };
    withAck.emit('new_message', message, (error) => {
      if (!error && toReceiver) this.#receipts.report(message);
    });
  }

  /** Forgets a socket that disconnected while catching up. */
  forget(socket: ChatSocket): void {
    this.#catchingUp.delete(socket.id);
    this.#catchUpRetries.delete(socket.id);
  }

  #deliver(userId: UserId, delivery: UserDelivery): void {
    const room = this.#io.to(userRoom(userId));
    switch (delivery.type) {
      case 'new_message':
        this.#newMessage(userId, delivery.message);
        return;
      case 'send_result':
        this.#pending.resolve(delivery.message);
        return;
      case 'send_failed':
        this.#pending.reject(
          delivery.senderId,
          delivery.clientMessageId,
          new ChatError(delivery.error.code, delivery.error.message, delivery.error.details),
        );
        return;
      case 'message_delivered':
        room.emit('message_delivered', delivery.payload);
        return;
      case 'message_read':
        room.emit('message_read', delivery.payload);
        return;
      case 'user_typing':
        room.emit('user_typing', delivery.payload);
        return;
      case 'user_online_status':
        room.emit('user_online_status', delivery.payload);
        return;
      default:
        this.#logger.warn({ delivery }, 'unknown delivery type');
    }
  }

  /** True the first time a message id is seen for a user (while they have a socket here). */
  #remember(userId: UserId, messageId: string): boolean {
    const entry = this.#subscriptions.get(userId);
    if (!entry) return true;
    const recent = (entry.recent ??= new Set());
    if (recent.has(messageId)) return false;
    recent.add(messageId);
    if (recent.size > RECENT_PER_USER) recent.delete(recent.values().next().value as string);
    return true;
  }

  #newMessage(userId: UserId, message: Message): void {
    if (message.senderId === userId) this.#pending.resolve(message);
    if (!this.#remember(userId, message._id)) return;
    const holding: string[] = [];
    for (const [socketId, state] of this.#catchingUp) {
      if (state.userId !== userId) continue;
      state.held.push(message);
      holding.push(socketId);
    }
    const room = this.#io.sockets.adapter.rooms.get(userRoom(userId));
    const sockets = room?.size ?? 0;
    // Sockets that acknowledge deliveries get theirs one by one, with a callback; the others in one broadcast.
    const acking: ChatSocket[] = [];
    for (const id of room ?? []) {
      const socket = this.#io.sockets.sockets.get(id);
      if (socket?.data.deliveryAcks && !holding.includes(id)) acking.push(socket);
    }
    const plain = sockets - holding.length - acking.length;
    void inSpan(
      'socket.io emit new_message',
      { attributes: { 'user.id': userId, 'socket.io.sockets': sockets, 'chat.message.id': message._id } },
      () => {
        if (plain > 0)
          this.#io
            .to(userRoom(userId))
            .except([...holding, ...acking.map((s) => s.id)])
            .emit('new_message', message);
        for (const socket of acking) this.#emitTo(socket, message);
      },
    );
    if (message.receiverId === userId && sockets > 0) {
      this.#metrics?.deliverySeconds.observe(Math.max(0, Date.now() - Date.parse(message.timestamp)) / 1000);
      // A socket that does not acknowledge counts as the device having it (clients before delivery acks).
      if (plain > 0) this.#receipts.report(message);
    }
  }
}

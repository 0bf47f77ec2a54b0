import type { Subscription } from '@nats-io/transport-node';
import type { BusNames, ServerToClientEvents, UserDelivery, UserId } from '@chat/contracts';
import type { Bus } from '@chat/bus';
import type { Logger } from '@chat/logger';
import type { Server } from 'socket.io';
import { userRoom } from '../rooms.ts';
import type { PendingSends } from './pending-sends.ts';

/**
 * The gateway's interest on the bus: one subscription per user with a socket here, taken with the user's
 * first socket and dropped with the last. Whatever arrives for a user is emitted to that user's room, which
 * holds every socket of theirs on this gateway, and so every socket of every conversation room they joined:
 * each socket gets each delivery once.
 */
export class UserDeliveries {
  readonly #subscriptions = new Map<UserId, { sub: Subscription; sockets: number }>();
  readonly #bus: Bus;
  readonly #names: BusNames;
  readonly #io: Server<never, ServerToClientEvents>;
  readonly #pending: PendingSends;
  readonly #logger: Logger;

  constructor(deps: { bus: Bus; names: BusNames; io: Server<never, ServerToClientEvents>; pending: PendingSends; logger: Logger }) {
    this.#bus = deps.bus;
    this.#names = deps.names;
    this.#io = deps.io;
    this.#pending = deps.pending;
    this.#logger = deps.logger;
  }

  /** Adds a socket of the user; resolves once NATS has the subscription, so nothing sent after is missed. */
  async acquire(userId: UserId): Promise<void> {
    const entry = this.#subscriptions.get(userId);
    if (entry) {
      entry.sockets++;
      return;
    }
    const sub = this.#bus.subscribe(this.#names.userDelivery(userId), (delivery) => this.#deliver(userId, delivery));
    this.#subscriptions.set(userId, { sub, sockets: 1 });
    await this.#bus.nc.flush();
  }

  release(userId: UserId): void {
    const entry = this.#subscriptions.get(userId);
    if (!entry) return;
    if (--entry.sockets > 0) return;
    this.#subscriptions.delete(userId);
    entry.sub.unsubscribe();
  }

  /** Users with at least one socket here. */
  get users(): number {
    return this.#subscriptions.size;
  }

  #deliver(userId: UserId, delivery: UserDelivery): void {
    const room = this.#io.to(userRoom(userId));
    switch (delivery.type) {
      case 'new_message':
        if (delivery.message.senderId === userId) this.#pending.resolve(delivery.message);
        room.emit('new_message', delivery.message);
        return;
      case 'send_result':
        this.#pending.resolve(delivery.message);
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
}

import type { Subscription } from '@chat/bus';
import type { PresenceNames, UserId, UserPresence } from '@chat/contracts';
import type { Bus } from '@chat/bus';
import type { ChatServer } from '../chat-socket.ts';

/** How many users one socket may watch; past it, status is still answered but changes are not pushed. */
const MAX_WATCHES_PER_SOCKET = 1000;

/**
 * Which sockets here want to hear of which users' online status (they joined a conversation with a partner,
 * or asked with get_online_status). One NATS subscription per watched user, taken with the first watcher and dropped with the last:
 * a status change reaches only the gateways that have a socket interested in it.
 */
export class StatusWatches {
  readonly #byUser = new Map<UserId, { sub: Subscription; sockets: Set<string>; version: number }>();
  readonly #bySocket = new Map<string, Set<UserId>>();
  readonly #bus: Bus;
  readonly #names: PresenceNames;
  readonly #io: ChatServer;

  constructor(deps: { bus: Bus; names: PresenceNames; io: ChatServer }) {
    this.#bus = deps.bus;
    this.#names = deps.names;
    this.#io = deps.io;
  }

  /** Resolves once NATS has the subscription, so that no change after it is missed. */
  async watch(socketId: string, userId: UserId): Promise<void> {
    const mine = this.#bySocket.get(socketId) ?? new Set<UserId>();
    if (mine.has(userId) || mine.size >= MAX_WATCHES_PER_SOCKET) return;
    mine.add(userId);
    this.#bySocket.set(socketId, mine);
    const entry = this.#byUser.get(userId);
    if (entry) {
      entry.sockets.add(socketId);
      return;
    }
    const sub = this.#bus.subscribe(this.#names.statusChanged(userId), (status) => this.#changed(status));
    this.#byUser.set(userId, { sub, sockets: new Set([socketId]), version: 0 });
    await this.#bus.flush();
  }

  /**
   * Whether a status read from presence is still current for this gateway's watchers: not older than a
   * change already pushed (a change can overtake the read that a socket asked for).
   */
  isCurrent(status: UserPresence): boolean {
    const entry = this.#byUser.get(status.userId);
    if (!entry) return true;
    if (status.version < entry.version) return false;
    entry.version = status.version;
    return true;
  }

  unwatchSocket(socketId: string): void {
    for (const userId of this.#bySocket.get(socketId) ?? []) {
      const entry = this.#byUser.get(userId);
      if (!entry) continue;
      entry.sockets.delete(socketId);
      if (entry.sockets.size > 0) continue;
      entry.sub.unsubscribe();
      this.#byUser.delete(userId);
    }
    this.#bySocket.delete(socketId);
  }

  #changed(status: UserPresence): void {
    const entry = this.#byUser.get(status.userId);
    // Changes of one user can arrive out of order when presence replicas race; keep the newest.
    if (!entry || status.version <= entry.version) return;
    entry.version = status.version;
    this.#io
      .to([...entry.sockets])
      .emit('user_online_status', { userId: status.userId, isOnline: status.isOnline, lastSeen: status.lastSeen });
  }
}

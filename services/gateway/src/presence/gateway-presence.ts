import { ChatError, MAX_STATUS_USERS, type BusNames, type UserId, type UserPresence } from '@chat/contracts';
import type { Bus } from '@chat/bus';
import type { Logger } from '@chat/logger';
import { userRoom } from '../rooms.ts';
import type { ChatServer, ChatSocket } from '../chat-socket.ts';
import { PresenceReporter } from './presence-reporter.ts';
import { StatusAccess } from './status-access.ts';
import { StatusWatches } from './status-watches.ts';

export interface GatewayPresenceDeps {
  bus: Bus;
  names: BusNames;
  io: ChatServer;
  logger: Logger;
  heartbeatMs: number;
}

/**
 * Presence on a gateway: reports its sockets to the presence service, pushes status changes to the sockets that
 * watch a user, and decides who may know whose status. Nothing here is needed for chat: when presence is down,
 * status answers `PRESENCE_UNAVAILABLE` and messages flow as before.
 */
export class GatewayPresence {
  readonly #reporter: PresenceReporter;
  readonly #watches: StatusWatches;
  readonly #access: StatusAccess;
  readonly #bus: Bus;
  readonly #names: BusNames;
  readonly #logger: Logger;
  readonly #heartbeatMs: number;
  readonly #io: ChatServer;

  constructor({ bus, names, io, logger, heartbeatMs }: GatewayPresenceDeps) {
    this.#io = io;
    this.#bus = bus;
    this.#names = names;
    this.#logger = logger.child({ component: 'presence' });
    this.#heartbeatMs = heartbeatMs;
    this.#reporter = new PresenceReporter({ bus, names: names.presence, logger: this.#logger });
    this.#watches = new StatusWatches({ bus, names: names.presence, io });
    this.#access = new StatusAccess({ bus, names });
  }

  start(): Promise<void> {
    return this.#reporter.start(this.#heartbeatMs);
  }

  /** A socket authenticated as `userId`. */
  authenticated(socket: ChatSocket, userId: UserId): void {
    this.#reporter.register(socket.id, userId);
  }

  gone(socket: ChatSocket): void {
    this.#reporter.unregister(socket.id);
    this.#watches.unwatchSocket(socket.id);
    this.#access.forget(socket.id);
  }

  /** The status of users, in the order asked; `PRESENCE_UNAVAILABLE` when the presence service cannot tell. */
  async statusOf(userIds: UserId[]): Promise<UserPresence[]> {
    const statuses: UserPresence[] = [];
    for (let i = 0; i < userIds.length; i += MAX_STATUS_USERS) {
      try {
        const reply = await this.#bus.request(
          this.#names.presence.service.status,
          { userIds: userIds.slice(i, i + MAX_STATUS_USERS) },
          { timeoutMs: 3_000 },
        );
        statuses.push(...reply.statuses);
      } catch (error) {
        if (error instanceof ChatError && error.code === 'PRESENCE_UNAVAILABLE') throw error;
        this.#logger.warn({ err: error }, 'presence status request failed');
        throw new ChatError('PRESENCE_UNAVAILABLE');
      }
    }
    return statuses;
  }

  /** Which of these users are online (the REST conversation list's `isOnline`). */
  async onlineUsers(userIds: UserId[]): Promise<Set<UserId>> {
    if (userIds.length === 0) return new Set();
    const statuses = await this.statusOf([...new Set(userIds)]);
    // A user with a socket here is online, even while the report of that socket is still on its way (as in
    // `tellStatus`).
    return new Set(statuses.filter((s) => s.isOnline || this.#hasSocketHere(s.userId)).map((s) => s.userId));
  }

  #hasSocketHere(userId: UserId): boolean {
    return (this.#io.sockets.adapter.rooms.get(userRoom(userId))?.size ?? 0) > 0;
  }

  /**
   * A socket joined a conversation: it watches the other participant's status (when the two share a stored
   * conversation) and is told the current one. Best effort, in the background.
   */
  watchPartner(socket: ChatSocket, userId: UserId, other: UserId): void {
    void this.#watchAndTell(socket, userId, other).catch((error: unknown) =>
      this.#logger.debug({ err: error, userId, other }, 'no status for a joined conversation'),
    );
  }

  /** FORBIDDEN unless `asker` may know `target`'s status: oneself, or a partner. */
  assertMayKnow(socket: ChatSocket, asker: UserId, target: UserId): Promise<void> {
    return this.#access.assertMayKnow(socket.id, asker, target);
  }

  /** Watches `target` for this socket and tells it the current status (unless a newer change overtook it). */
  async tellStatus(socket: ChatSocket, target: UserId): Promise<UserPresence> {
    await this.#watches.watch(socket.id, target);
    const [reported] = await this.statusOf([target]);
    if (!reported) throw new ChatError('PRESENCE_UNAVAILABLE');
    // A user with a socket here is online, even while the report of that socket is still on its way.
    const here = this.#hasSocketHere(target);
    const status = here && !reported.isOnline ? { ...reported, isOnline: true } : reported;
    if (this.#watches.isCurrent(status))
      socket.emit('user_online_status', { userId: status.userId, isOnline: status.isOnline, lastSeen: status.lastSeen });
    return status;
  }

  async close(): Promise<void> {
    await this.#reporter.close();
  }

  async #watchAndTell(socket: ChatSocket, asker: UserId, target: UserId): Promise<void> {
    if (!(await this.#access.mayKnow(socket.id, asker, target)) || socket.disconnected) return;
    await this.tellStatus(socket, target);
  }
}

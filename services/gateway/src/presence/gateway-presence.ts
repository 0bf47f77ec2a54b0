import {
  ChatError,
  MAX_STATUS_USERS,
  otherParticipant,
  type BusNames,
  type ConversationId,
  type UserId,
  type UserPresence,
} from '@chat/contracts';
import type { Bus } from '@chat/bus';
import type { Logger } from '@chat/logger';
import type { EventHandler } from '../socket/register-handler.ts';
import { userRoom } from '../rooms.ts';
import type { ChatServer, ChatSocket } from '../socket/types.ts';
import { PresenceReporter } from './presence-reporter.ts';
import { StatusAccess } from './status-access.ts';
import { StatusWatches } from './status-watches.ts';
import { TypingRelay } from './typing-relay.ts';

export interface GatewayPresenceDeps {
  bus: Bus;
  names: BusNames;
  io: ChatServer;
  logger: Logger;
  heartbeatMs: number;
}

/**
 * Everything presence and typing on a gateway: reports its sockets to the presence service, pushes status
 * changes to the sockets that watch a user, relays typing to the other participant. Nothing here is needed
 * for chat: when presence is down, status answers `PRESENCE_UNAVAILABLE` and messages flow as before.
 */
export class GatewayPresence {
  readonly reporter: PresenceReporter;
  readonly watches: StatusWatches;
  readonly access: StatusAccess;
  readonly typing: TypingRelay;
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
    this.reporter = new PresenceReporter({ bus, names: names.presence, logger: this.#logger });
    this.watches = new StatusWatches({ bus, names: names.presence, io });
    this.access = new StatusAccess({ bus, names });
    // Gateway to gateway over core NATS, on the other participant's delivery subject: never stored.
    this.typing = new TypingRelay({
      forward: (to, payload) => bus.publish(names.userDelivery(to), { type: 'user_typing', payload }),
    });
  }

  start(): Promise<void> {
    return this.reporter.start(this.#heartbeatMs);
  }

  /** A socket authenticated as `userId`. */
  connected(socket: ChatSocket, userId: UserId): void {
    this.reporter.connected(socket.id, userId);
  }

  disconnected(socket: ChatSocket): void {
    this.reporter.disconnected(socket.id);
    this.typing.socketGone(socket.id);
    this.watches.unwatchSocket(socket.id);
    this.access.forget(socket.id);
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
    return new Set(statuses.filter((s) => s.isOnline).map((s) => s.userId));
  }

  /**
   * Wraps `join_conversation`: once joined, the socket watches the other participant's status (when the
   * two share a stored conversation) and is told the current one. Best effort, after the join's ack.
   */
  watchOnJoin(join: EventHandler<'join_conversation'>): EventHandler<'join_conversation'> {
    return async (context, payload) => {
      const joined = await join(context, payload);
      const other = otherParticipant(payload.conversationId, context.user.userId);
      if (other) {
        void this.#watchAndTell(context.socket, context.user.userId, other).catch((error: unknown) =>
          this.#logger.debug({ err: error, conversationId: payload.conversationId }, 'no status for a joined conversation'),
        );
      }
      return joined;
    };
  }

  /** Watches `target` for this socket and tells it the current status (unless a newer change overtook it). */
  async tellStatus(socket: ChatSocket, target: UserId): Promise<UserPresence> {
    await this.watches.watch(socket.id, target);
    const [reported] = await this.statusOf([target]);
    if (!reported) throw new ChatError('PRESENCE_UNAVAILABLE');
    // A user with a socket here is online, even while the report of that socket is still on its way.
    const here = (this.#io.sockets.adapter.rooms.get(userRoom(target))?.size ?? 0) > 0;
    const status = here && !reported.isOnline ? { ...reported, isOnline: true } : reported;
    if (this.watches.isCurrent(status)) socket.emit('user_online_status', { userId: status.userId, isOnline: status.isOnline, lastSeen: status.lastSeen });
    return status;
  }

  /** The typist's other participant, or NOT_PARTICIPANT. */
  typingTarget(conversationId: ConversationId, userId: UserId): UserId {
    const other = otherParticipant(conversationId, userId);
    if (!other) throw new ChatError('NOT_PARTICIPANT');
    return other;
  }

  async close(): Promise<void> {
    this.typing.close();
    await this.reporter.close();
  }

  async #watchAndTell(socket: ChatSocket, asker: UserId, target: UserId): Promise<void> {
    if (!(await this.access.mayKnow(socket.id, asker, target)) || socket.disconnected) return;
    await this.tellStatus(socket, target);
  }
}

import { ChatError, conversationIdOf, type BusNames, type UserId } from '@chat/contracts';
import type { Bus } from '@chat/bus';

/**
 * Who may know whose online status: oneself, and one's partners: the users one shares a conversation with in
 * which a message is stored. A conversation id alone proves nothing (anyone can write one, and joining its room
 * needs no stored conversation), and neither does a conversation opened over REST without a message (anyone
 * can open one with anyone). Positive answers are remembered per socket: partners stay partners.
 */
export class StatusAccess {
  readonly #allowed = new Map<string, Set<UserId>>();
  readonly #bus: Bus;
  readonly #names: BusNames;

  constructor(deps: { bus: Bus; names: BusNames }) {
    this.#bus = deps.bus;
    this.#names = deps.names;
  }

  /** Whether `asker` may know `target`'s status; `UNAVAILABLE` when the messages service cannot tell. */
  async mayKnow(socketId: string, asker: UserId, target: UserId): Promise<boolean> {
    if (asker === target) return true;
    const allowed = this.#allowed.get(socketId);
    if (allowed?.has(target)) return true;
    const { hasMessages } = await this.#bus.request(
      this.#names.messagesService.conversationExists,
      { conversationId: conversationIdOf(asker, target) },
      { timeoutMs: 3_000 },
    );
    if (!hasMessages) return false;
    this.#allowed.set(socketId, (allowed ?? new Set()).add(target));
    return true;
  }

  async assertMayKnow(socketId: string, asker: UserId, target: UserId): Promise<void> {
    if (!(await this.mayKnow(socketId, asker, target))) {
      throw new ChatError('FORBIDDEN', 'You can only see the online status of users you have exchanged a message with');
    }
  }

  forget(socketId: string): void {
    this.#allowed.delete(socketId);
  }
}

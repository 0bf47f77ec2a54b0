import { ChatError, ConversationExistsResponseSchema, conversationIdOf, type BusNames, type UserId } from '@chat/contracts';
import type { Bus } from '@chat/bus';

/**
 * Who may know whose online status: oneself, and the users one shares a stored conversation with (created
 * over REST or by a first message). A conversation id alone proves nothing: anyone can write one, and
 * joining its room needs no stored conversation. Positive answers are remembered per socket.
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
    const { exists } = await this.#bus.request(
      this.#names.messagesService.conversationExists,
      { conversationId: conversationIdOf(asker, target) },
      ConversationExistsResponseSchema,
      { timeoutMs: 3_000 },
    );
    if (!exists) return false;
    this.#allowed.set(socketId, (allowed ?? new Set()).add(target));
    return true;
  }

  async assertMayKnow(socketId: string, asker: UserId, target: UserId): Promise<void> {
    if (!(await this.mayKnow(socketId, asker, target))) {
      throw new ChatError('FORBIDDEN', 'You can only see the online status of users you share a conversation with');
    }
  }

  forget(socketId: string): void {
    this.#allowed.delete(socketId);
  }
}

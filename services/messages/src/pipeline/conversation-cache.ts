import type { ConversationId } from '@chat/contracts';
import type { ConversationState } from './conversation-state.ts';

/**
 * The conversations a partition owner holds in memory, least recently used dropped first. Cleared whenever the
 * partition changes hands: another owner may have written in between.
 */
export class ConversationCache {
  readonly #states = new Map<ConversationId, ConversationState>();
  readonly #capacity: number;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  get(id: ConversationId): ConversationState | undefined {
    const state = this.#states.get(id);
    if (state) {
      // Map keeps insertion order: re-inserting makes it the most recently used.
      this.#states.delete(id);
      this.#states.set(id, state);
    }
    return state;
  }

  has(id: ConversationId): boolean {
    return this.#states.has(id);
  }

  set(state: ConversationState): void {
    this.#states.delete(state.id);
    this.#states.set(state.id, state);
    while (this.#states.size > this.#capacity) this.#states.delete(this.#states.keys().next().value as ConversationId);
  }

  delete(id: ConversationId): void {
    this.#states.delete(id);
  }

  clear(): void {
    this.#states.clear();
  }

  get size(): number {
    return this.#states.size;
  }
}

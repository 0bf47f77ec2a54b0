import { TYPING_IDLE_MS, TYPING_THROTTLE_MS, type ConversationId, type UserId } from '@chat/contracts';

/** Where a forwarded typing state goes: the other participant's sockets, wherever they are. */
export type TypingForward = (to: UserId, event: { conversationId: ConversationId; userId: UserId; isTyping: boolean }) => void;

interface TypingState {
  userId: UserId;
  conversationId: ConversationId;
  to: UserId;
  /** The socket that last started typing: its disconnect stops the typing. */
  socketId: string;
  /** What the typist is doing now, and what the other side was last told. */
  typing: boolean;
  told: boolean;
  toldAt: number;
  idle: NodeJS.Timeout | undefined;
  trailing: NodeJS.Timeout | undefined;
}

export interface TypingRelayOptions {
  forward: TypingForward;
  throttleMs?: number;
  idleMs?: number;
  now?: () => number;
}

/**
 * Typing indicators, in memory only. Per user and conversation: at most one forwarded event per throttle
 * interval (a change inside it is sent at the interval's end, so the last state always arrives), and an
 * automatic stop after `idleMs` without a new start or when the typist's socket goes away.
 */
export class TypingRelay {
  readonly #states = new Map<string, TypingState>();
  readonly #forward: TypingForward;
  readonly #throttleMs: number;
  readonly #idleMs: number;
  readonly #now: () => number;

  constructor({ forward, throttleMs = TYPING_THROTTLE_MS, idleMs = TYPING_IDLE_MS, now = Date.now }: TypingRelayOptions) {
    this.#forward = forward;
    this.#throttleMs = throttleMs;
    this.#idleMs = idleMs;
    this.#now = now;
  }

  start(socketId: string, userId: UserId, conversationId: ConversationId, to: UserId): void {
    const key = keyOf(userId, conversationId);
    let state = this.#states.get(key);
    if (!state) {
      state = { userId, conversationId, to, socketId, typing: false, told: false, toldAt: -Infinity, idle: undefined, trailing: undefined };
      this.#states.set(key, state);
    }
    state.socketId = socketId;
    state.typing = true;
    clearTimeout(state.idle);
    const idleState = state;
    state.idle = setTimeout(() => this.#set(idleState, false), this.#idleMs);
    this.#settle(state);
  }

  stop(userId: UserId, conversationId: ConversationId): void {
    const state = this.#states.get(keyOf(userId, conversationId));
    if (state) this.#set(state, false);
  }

  /** The typist's socket disconnected: whatever it was typing stops. */
  socketGone(socketId: string): void {
    for (const state of [...this.#states.values()]) if (state.socketId === socketId) this.#set(state, false);
  }

  /** Drops every timer (the gateway is stopping). */
  close(): void {
    for (const state of this.#states.values()) {
      clearTimeout(state.idle);
      clearTimeout(state.trailing);
    }
    this.#states.clear();
  }

  #set(state: TypingState, typing: boolean): void {
    state.typing = typing;
    if (!typing) {
      clearTimeout(state.idle);
      state.idle = undefined;
    }
    this.#settle(state);
  }

  /** Tells the other side the current state, now or at the end of the throttle interval. */
  #settle(state: TypingState): void {
    if (state.typing === state.told) {
      clearTimeout(state.trailing);
      state.trailing = undefined;
      this.#forgetIfIdle(state);
      return;
    }
    if (state.trailing) return;
    const wait = state.toldAt + this.#throttleMs - this.#now();
    if (wait > 0) {
      state.trailing = setTimeout(() => {
        state.trailing = undefined;
        this.#settle(state);
      }, wait);
      return;
    }
    state.told = state.typing;
    state.toldAt = this.#now();
    this.#forward(state.to, { conversationId: state.conversationId, userId: state.userId, isTyping: state.typing });
    this.#forgetIfIdle(state);
  }

  /** A stopped typist is forgotten once the throttle interval of its last event has passed. */
  #forgetIfIdle(state: TypingState): void {
    if (state.typing || state.told || state.trailing) return;
    const key = keyOf(state.userId, state.conversationId);
    const left = state.toldAt + this.#throttleMs - this.#now();
    if (left <= 0) {
      this.#states.delete(key);
      return;
    }
    // Kept until then, so a new start right after a stop still respects the interval.
    state.trailing = setTimeout(() => {
      state.trailing = undefined;
      if (!state.typing && !state.told && this.#states.get(key) === state) this.#states.delete(key);
      else this.#settle(state);
    }, left);
  }
}

const keyOf = (userId: UserId, conversationId: ConversationId): string => `${userId} ${conversationId}`;

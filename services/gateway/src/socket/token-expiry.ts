import { ChatError } from '@chat/contracts';
import type { ChatSocket } from '../chat-socket.ts';

/** setTimeout's longest delay; a longer one would fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * When each of many items is due, with one timer for all of them rather than one each: items are kept in a
 * bucket per second (a JWT's `exp` is in whole seconds, so a token's expiry is exactly a bucket's start), and the
 * buckets' seconds in a min-heap; the timer is armed for the earliest bucket. An item is due at the start of the
 * second its time falls in or, when that is not a whole second, of the next one: never early, at most a second
 * late. The caller keeps each item's time (it needs it to take the item off again).
 */
export class DueTimes<T> {
  readonly #buckets = new Map<number, Set<T>>();
  /** The buckets' seconds, a binary min-heap; may hold seconds whose bucket is gone (skipped, and compacted). */
  readonly #heap: number[] = [];
  readonly #onDue: (item: T) => void;
  readonly #onError: (error: unknown) => void;
  #timer: NodeJS.Timeout | undefined;
  /** The second the timer is armed for. */
  #armedFor = Number.POSITIVE_INFINITY;

  constructor(onDue: (item: T) => void, onError: (error: unknown) => void) {
    this.#onDue = onDue;
    this.#onError = onError;
  }

  /** Calls `onDue(item)` at `at` (ms since the epoch); an item may be added at several times, each is one call. */
  add(item: T, at: number): void {
    const second = Math.ceil(at / 1000);
    let bucket = this.#buckets.get(second);
    if (!bucket) {
      bucket = new Set();
      this.#buckets.set(second, bucket);
      this.#push(second);
      if (this.#heap.length > 2 * this.#buckets.size + 64) this.#compact();
    }
    bucket.add(item);
    if (second < this.#armedFor) this.#arm();
  }

  /** Takes back what `add(item, at)` did; nothing if it was not added at that time or is already done. */
  delete(item: T, at: number): void {
    const second = Math.ceil(at / 1000);
    const bucket = this.#buckets.get(second);
    if (!bucket?.delete(item) || bucket.size > 0) return;
    this.#buckets.delete(second);
    if (this.#buckets.size === 0) this.close();
  }

  get size(): number {
    let n = 0;
    for (const bucket of this.#buckets.values()) n += bucket.size;
    return n;
  }

  /** Forgets every item. */
  close(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#armedFor = Number.POSITIVE_INFINITY;
    this.#buckets.clear();
    this.#heap.length = 0;
  }

  #arm(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#armedFor = Number.POSITIVE_INFINITY;
    const next = this.#earliest();
    if (next === undefined) return;
    this.#armedFor = next;
    this.#timer = setTimeout(() => this.#fire(), Math.min(MAX_TIMER_MS, Math.max(0, next * 1000 - Date.now())));
  }

  #fire(): void {
    this.#timer = undefined;
    this.#armedFor = Number.POSITIVE_INFINITY;
    const now = Date.now();
    for (let next = this.#earliest(); next !== undefined && next * 1000 <= now; next = this.#earliest()) {
      this.#pop();
      const bucket = this.#buckets.get(next);
      if (!bucket) continue;
      // Taken off first: what onDue does (a disconnect deletes its item) never touches a bucket being run.
      this.#buckets.delete(next);
      for (const item of bucket) {
        try {
          this.#onDue(item);
        } catch (error) {
          // One item's failure does not keep the others of its second alive.
          this.#onError(error);
        }
      }
    }
    if (this.#timer === undefined) this.#arm();
  }

  /** The earliest second that still has a bucket, the stale ones above it dropped. */
  #earliest(): number | undefined {
    while (this.#heap.length > 0) {
      const top = this.#heap[0] as number;
      if (this.#buckets.has(top)) return top;
      this.#pop();
    }
    return undefined;
  }

  #compact(): void {
    this.#heap.length = 0;
    for (const second of this.#buckets.keys()) this.#push(second);
  }

  #push(second: number): void {
    const heap = this.#heap;
    let i = heap.push(second) - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((heap[parent] as number) <= second) break;
      heap[i] = heap[parent] as number;
      i = parent;
    }
    heap[i] = second;
  }

  #pop(): void {
    const heap = this.#heap;
    const last = heap.pop() as number;
    if (heap.length === 0) return;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child = right < heap.length && (heap[right] as number) < (heap[left] as number) ? right : left;
      if ((heap[child] as number) >= last) break;
      heap[i] = heap[child] as number;
      i = child;
    }
    heap[i] = last;
  }
}

/**
 * A socket lives no longer than its token. At the token's `exp` the socket is told why (an `error` with
 * `AUTH_ERROR`, `details.reason: 'token_expired'`) and disconnected; a client that sends `authenticate` with a
 * fresh token for the same user before then keeps its socket, until the new token's `exp`. One timer for all the
 * sockets of a gateway (`DueTimes`), not one per socket.
 */
export function tokenExpiries(onExpired: () => void, onError: (error: unknown) => void): DueTimes<ChatSocket> {
  return new DueTimes<ChatSocket>((socket) => {
    if (socket.disconnected) return;
    onExpired();
    socket.emit(
      'error',
      new ChatError('AUTH_ERROR', 'The token has expired: send authenticate with a fresh token before it expires, or reconnect with one', {
        reason: 'token_expired',
      }).toPayload(),
    );
    socket.disconnect(true);
  }, onError);
}

/**
 * Where the outbox keeps what is not acknowledged yet, so that it survives reloads. Values are strings (JSON);
 * methods may be synchronous (`localStorage`) or asynchronous (IndexedDB, React Native's AsyncStorage).
 */
export interface ClientStorage {
  get(key: string): string | null | undefined | Promise<string | null | undefined>;
  set(key: string, value: string): void | Promise<void>;
  remove(key: string): void | Promise<void>;
}

/** In memory: survives reconnects, not reloads. Share one instance between clients to simulate a reload. */
export class MemoryStorage implements ClientStorage {
  readonly #values = new Map<string, string>();

  get(key: string): string | undefined {
    return this.#values.get(key);
  }

  set(key: string, value: string): void {
    this.#values.set(key, value);
  }

  remove(key: string): void {
    this.#values.delete(key);
  }
}

/** The part of the Web Storage API this uses (`window.localStorage`, `sessionStorage`). */
export interface WebStorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** A browser's `localStorage` (or any Web Storage), under a key prefix. */
export class WebStorage implements ClientStorage {
  readonly #storage: WebStorageLike;
  readonly #prefix: string;

  constructor(
    storage: WebStorageLike = (globalThis as { localStorage?: WebStorageLike }).localStorage as WebStorageLike,
    prefix = 'chat:',
  ) {
    if (!storage) throw new TypeError('no Web Storage available: pass one, or use MemoryStorage');
    this.#storage = storage;
    this.#prefix = prefix;
  }

  get(key: string): string | null {
    return this.#storage.getItem(this.#prefix + key);
  }

  set(key: string, value: string): void {
    this.#storage.setItem(this.#prefix + key, value);
  }

  remove(key: string): void {
    this.#storage.removeItem(this.#prefix + key);
  }
}

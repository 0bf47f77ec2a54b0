/** Why a login attempt is refused before its password is checked. */
export type LoginRefusal = 'throttled' | 'busy';

export interface AdminLoginGuardOptions {
  /** Wrong logins one address may make per window before its attempts are refused unchecked. */
  failuresPerWindow?: number;
  windowMs?: number;
  /** Password checks (bcrypt) running at once, at most; attempts beyond are refused, not queued. */
  maxConcurrentChecks?: number;
  /** Addresses remembered at most (the oldest windows are forgotten first). */
  maxAddresses?: number;
  now?: () => number;
}

/**
 * Keeps Admin UI logins from costing the chat its CPU: a bcrypt check at cost 12 takes a core for a quarter of a
 * second, so 20 parallel wrong logins made every user's round trip take seconds. Each address gets a small budget
 * of wrong logins per window, after which it is refused without a check; and only a few checks run at once.
 */
export class AdminLoginGuard {
  readonly #failures = new Map<string, { count: number; since: number }>();
  readonly #failuresPerWindow: number;
  readonly #windowMs: number;
  readonly #maxConcurrentChecks: number;
  readonly #maxAddresses: number;
  readonly #now: () => number;
  #checking = 0;

  constructor({
    failuresPerWindow = 5,
    windowMs = 60_000,
    maxConcurrentChecks = 2,
    maxAddresses = 10_000,
    now = Date.now,
  }: AdminLoginGuardOptions = {}) {
    this.#failuresPerWindow = failuresPerWindow;
    this.#windowMs = windowMs;
    this.#maxConcurrentChecks = maxConcurrentChecks;
    this.#maxAddresses = maxAddresses;
    this.#now = now;
  }

  /**
   * Runs `check` (the password comparison) unless the address is over its budget or too many checks are running;
   * a check that answers false (or throws) counts as a wrong login of the address.
   */
  async attempt(address: string, check: () => Promise<boolean>): Promise<boolean | LoginRefusal> {
    if (this.#overBudget(address)) return 'throttled';
    if (this.#checking >= this.#maxConcurrentChecks) return 'busy';
    this.#checking++;
    let ok = false;
    try {
      ok = await check();
    } catch {
      ok = false;
    } finally {
      this.#checking--;
    }
    if (!ok) this.#recordFailure(address);
    return ok;
  }

  #overBudget(address: string): boolean {
    const entry = this.#failures.get(address);
    if (!entry) return false;
    if (this.#now() - entry.since >= this.#windowMs) {
      this.#failures.delete(address);
      return false;
    }
    return entry.count >= this.#failuresPerWindow;
  }

  #recordFailure(address: string): void {
    const now = this.#now();
    const entry = this.#failures.get(address);
    if (entry && now - entry.since < this.#windowMs) {
      entry.count++;
      return;
    }
    this.#failures.delete(address);
    if (this.#failures.size >= this.#maxAddresses) this.#failures.delete(this.#failures.keys().next().value as string);
    this.#failures.set(address, { count: 1, since: now });
  }
}

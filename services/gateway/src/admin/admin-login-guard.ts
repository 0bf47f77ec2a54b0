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
  /** Checks running now, per address: they count against its budget until they answer. */
  readonly #checkingFor = new Map<string, number>();
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
   * a check that answers false (or throws) counts as a wrong login of the address. Checks still running count
   * as wrong logins-to-be, so parallel attempts never get more checks than the budget.
   */
  async attempt(address: string, check: () => Promise<boolean>): Promise<boolean | LoginRefusal> {
    const running = this.#checkingFor.get(address) ?? 0;
    if (this.#failuresSoFar(address) + running >= this.#failuresPerWindow) return 'throttled';
    if (this.#checking >= this.#maxConcurrentChecks) return 'busy';
    this.#checking++;
    this.#checkingFor.set(address, running + 1);
    let ok = false;
    try {
      ok = await check();
    } catch {
      ok = false;
    } finally {
      this.#checking--;
      const left = (this.#checkingFor.get(address) ?? 1) - 1;
      if (left > 0) this.#checkingFor.set(address, left);
      else this.#checkingFor.delete(address);
    }
    if (!ok) this.#recordFailure(address);
    return ok;
  }

  /** Wrong logins of the address in its current window. */
  #failuresSoFar(address: string): number {
    const entry = this.#failures.get(address);
    if (!entry) return 0;
    if (this.#now() - entry.since >= this.#windowMs) {
      this.#failures.delete(address);
      return 0;
    }
    return entry.count;
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

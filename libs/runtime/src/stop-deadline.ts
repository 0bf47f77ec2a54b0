import type { Logger } from '@chat/logger';

/**
 * The time a stop has left (SHUTDOWN_TIMEOUT_MS from its start), shared by its steps: each step waits at most
 * its own cap and never past the deadline, so that the whole stop ends within the budget however a step fares
 * (a frozen client, a NATS that does not answer). A step that runs out is logged and left behind; the stop goes on.
 */
export class StopDeadline {
  readonly #end: number;
  readonly #logger: Logger;

  constructor(budgetMs: number, logger: Logger) {
    this.#end = Date.now() + budgetMs;
    this.#logger = logger;
  }

  /** Milliseconds left, never negative; `reserveMs` is kept back for the steps after this one. */
  remaining(reserveMs = 0): number {
    return Math.max(0, this.#end - Date.now() - reserveMs);
  }

  /** Waits for `work` at most `capMs` (and at most what is left); true when it finished in time. */
  async bound(what: string, work: Promise<unknown> | (() => Promise<unknown>), capMs = Number.POSITIVE_INFINITY): Promise<boolean> {
    const waitMs = Math.min(capMs, this.remaining());
    let timer: NodeJS.Timeout | undefined;
    const promise = typeof work === 'function' ? work() : work;
    const outcome = await Promise.race([
      promise.then(
        () => 'done' as const,
        (error: unknown) => {
          this.#logger.warn({ err: error }, `stop: ${what} failed`);
          return 'done' as const;
        },
      ),
      new Promise<'late'>((resolve) => {
        timer = setTimeout(() => resolve('late'), waitMs);
      }),
    ]);
    clearTimeout(timer);
    if (outcome === 'late') this.#logger.warn({ waitedMs: waitMs }, `stop: ${what} did not finish in time; going on without it`);
    return outcome === 'done';
  }
}

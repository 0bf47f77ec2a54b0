import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Connection, PresenceNames, UserId } from '@chat/contracts';
import type { Bus } from '@chat/bus';
import type { Logger } from '@chat/logger';

/** The most connection events in one report (the contract's limit). */
const REPORT_BATCH = 1000;
/**
 * How long a connection event waits for others to share its report, when none is in flight. Without it a report
 * went out for every one or two connects at a few hundred connects a second (2,000 connects: 1,050 writes that
 * began with one, 681 with the wait): a request, its reply and a Redis pipeline each. Online status reaches
 * watchers this much later.
 */
const REPORT_LINGER_MS = 10;
const REQUEST_TIMEOUT_MS = 3_000;

type ConnectionEvent = { type: 'connected' | 'disconnected'; connection: Connection };

/**
 * Tells the presence service which sockets this gateway holds, and that it is alive.
 *
 * Reports are batched (what arrives within `REPORT_LINGER_MS`, and while one is in flight), one in flight at a
 * time, in the order things happened. When a report cannot be delivered (presence or Redis down) nothing is
 * retried piecemeal: the next successful heartbeat starts a new epoch of this gateway's id and registers every
 * live connection under it; the old epoch then expires like a dead gateway, removing only the connections not
 * registered again. The same happens when presence answers that it does not know this gateway (its Redis data
 * was lost, or it expired us while we were cut off).
 */
export class PresenceReporter {
  readonly #base = `gw-${randomUUID()}`;
  #epoch = 0;
  readonly #live = new Map<string, UserId>();
  #queue: ConnectionEvent[] = [];
  #flushing: Promise<void> | undefined;
  #needsSync = false;
  /** A heartbeat of the current epoch has been recorded. */
  #known = false;
  #heartbeating: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  readonly #bus: Bus;
  readonly #names: PresenceNames;
  readonly #logger: Logger;

  constructor(deps: { bus: Bus; names: PresenceNames; logger: Logger }) {
    this.#bus = deps.bus;
    this.#names = deps.names;
    this.#logger = deps.logger;
  }

  get gatewayId(): string {
    return `${this.#base}.${this.#epoch}`;
  }

  /** Heartbeats now and then every `intervalMs`; never rejects (presence may come later). */
  async start(intervalMs: number): Promise<void> {
    await this.heartbeat();
    this.#timer = setInterval(() => void this.heartbeat(), intervalMs);
  }

  register(connectionId: string, userId: UserId): void {
    this.#live.set(connectionId, userId);
    this.#enqueue({ type: 'connected', connection: { connectionId, userId } });
  }

  unregister(connectionId: string): void {
    const userId = this.#live.get(connectionId);
    if (userId === undefined) return;
    this.#live.delete(connectionId);
    this.#enqueue({ type: 'disconnected', connection: { connectionId, userId } });
  }

  heartbeat(): Promise<void> {
    this.#heartbeating ??= this.#heartbeat().finally(() => (this.#heartbeating = undefined));
    return this.#heartbeating;
  }

  /** Stops heartbeating and waits (briefly) for the reports in hand, e.g. the disconnects of a shutdown. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#heartbeating;
    await this.#flushing;
  }

  async #heartbeat(mayResync = true): Promise<void> {
    let known: boolean;
    try {
      ({ known } = await this.#bus.request(
        this.#names.service.heartbeat,
        { gatewayId: this.gatewayId },
        {
          timeoutMs: REQUEST_TIMEOUT_MS,
        },
      ));
    } catch (error) {
      this.#logger.warn({ err: error }, 'presence heartbeat failed');
      return;
    }
    const lost = this.#known && !known;
    this.#known = true;
    if (!mayResync || (!this.#needsSync && !lost)) return;
    // Wait for the report in flight, so that the new epoch starts from a settled queue.
    await this.#flushing;
    this.#epoch++;
    this.#needsSync = false;
    this.#known = false;
    this.#queue = [...this.#live].map(([connectionId, userId]) => ({ type: 'connected', connection: { connectionId, userId } }));
    this.#logger.info(
      { gatewayId: this.gatewayId, connections: this.#live.size, lost },
      'registering live connections with presence again',
    );
    this.#kick();
    await this.#flushing;
    // Make the new epoch known now; a failure in its registration waits for the next beat.
    await this.#heartbeat(false);
  }

  #enqueue(event: ConnectionEvent): void {
    this.#queue.push(event);
    this.#kick();
  }

  #kick(): void {
    this.#flushing ??= sleep(REPORT_LINGER_MS)
      .then(() => this.#flush())
      .finally(() => (this.#flushing = undefined));
  }

  async #flush(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, REPORT_BATCH);
      const connected = batch.filter((e) => e.type === 'connected').map((e) => e.connection);
      const disconnected = batch.filter((e) => e.type === 'disconnected').map((e) => e.connection);
      try {
        await this.#bus.request(
          this.#names.service.report,
          { gatewayId: this.gatewayId, connected, disconnected },
          {
            timeoutMs: REQUEST_TIMEOUT_MS,
          },
        );
      } catch (error) {
        // Dropped: the next successful heartbeat registers every live connection again.
        this.#needsSync = true;
        this.#logger.warn({ err: error, events: batch.length }, 'presence report failed; will resync');
      }
    }
  }
}

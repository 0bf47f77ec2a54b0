import { headers as natsHeaders } from '@nats-io/transport-node';
import type { JsMsg } from '@nats-io/jetstream';
import type { Logger } from '@chat/logger';
import type { z } from 'zod';
import type { Bus } from './bus.ts';
import { decode } from './codec.ts';
import type { DurableWorker } from './durable-consumer.ts';
import { processBatchSpan } from './messaging-spans.ts';

/** What became of one message of a batch: done (acked), or refused for good (terminated, never retried). */
export type BatchOutcome = { kind: 'done' } | { kind: 'refused'; reason: string };

export interface BatchEntry<T> {
  payload: T;
  /** Whether the work may have been started before: a redelivery, or a retry after a failed attempt. */
  redelivered: boolean;
}

export interface OwnedBatchConsumerOptions<T> {
  bus: Bus;
  stream: string;
  consumer: string;
  /** The consumer's pinned-client priority group: the server hands its messages to one member at a time. */
  group: string;
  schema: z.ZodType<T>;
  /** Works a batch in stream order and says what became of each; throwing means the batch as a whole failed. */
  handleBatch: (entries: Array<BatchEntry<T>>) => Promise<BatchOutcome[]>;
  /** Whether what the handler depends on is reachable: a failure while it is not is not held against a message. */
  healthy: () => Promise<boolean>;
  /** The subject a message is parked under (in a dead-letter stream) when it failed too often. */
  deadLetterSubject: (subject: string) => string;
  /**
   * After a message was parked: e.g. tell whoever waits for it. `raw` is its JSON (when it parses), for a
   * message that failed its schema.
   */
  onGivenUp?: (payload: T | undefined, reason: string, raw: unknown) => void;
  /** This process gained or lost the consumer: whatever it keeps in memory for it may be stale from now on. */
  onOwnershipChange?: (owned: boolean) => void;
  /** What to log of a parked message (ids, not contents). */
  describe?: (payload: T) => Record<string, unknown>;
  /** The consumer's ack wait: work in hand is kept alive (`working`) well within it. */
  ackWaitMs: number;
  maxBatch?: number;
  /** Failed attempts, while `healthy`, before a message is parked. */
  maxAttempts?: number;
  /** Deliveries after which a message is parked before it is tried again (it keeps killing its worker). */
  maxDeliveries?: number;
  retryDelayMs?: number;
  observe?: { batch?(size: number, seconds: number): void; parked?(reason: string): void; refused?(): void; failed?(): void };
  logger: Logger;
}

const rawJson = (data: Uint8Array): unknown => {
  try {
    return JSON.parse(new TextDecoder().decode(data));
  } catch {
    return undefined;
  }
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Works one consumer of a partitioned stream from the one replica the server pins it to, many messages in
 * flight, in batches: what has arrived while the previous batch was worked is the next batch (up to
 * `maxBatch`), so batches grow with the load and a lone message waits for nothing.
 *
 * - **Order.** A batch is worked in stream order. When this replica becomes the owner it first waits for the
 *   messages the previous owner held unacknowledged (they come back after the ack wait), so nothing newer is
 *   worked before them.
 * - **Poison never blocks.** A refused message is terminated. When a batch fails, its messages are retried one
 *   at a time; one that keeps failing while the store is healthy is parked in the dead-letter stream after
 *   `maxAttempts` tries, and the rest go on. While the store is down nothing is held against anyone.
 * - Acks go out together, with one flush per batch.
 */
export async function consumeOwnedBatches<T>(options: OwnedBatchConsumerOptions<T>): Promise<DurableWorker> {
  const { bus, stream, consumer, group, schema, handleBatch, healthy, ackWaitMs, observe } = options;
  const maxBatch = options.maxBatch ?? 256;
  const maxAttempts = options.maxAttempts ?? 4;
  const maxDeliveries = options.maxDeliveries ?? 20;
  const retryDelayMs = options.retryDelayMs ?? 100;
  const log = options.logger.child({ component: 'owned-consumer', stream, consumer });

  const queue: JsMsg[] = [];
  let inHand = 0;
  let stopped = false;
  let draining: Promise<void> | undefined;
  /**
   * Pin changes seen, and the count at which it was last checked that no one else holds this consumer's messages
   * unacknowledged: not checked at start, nor after any change of pin. The pin's notification can come after the
   * first messages, so the check is made before the next batch rather than when the notification comes.
   */
  let pinChanges = 0;
  let checkedAt = -1;

  const source = await bus.js.consumers.get(stream, consumer);
  const messages = await source.consume({
    max_messages: maxBatch * 2,
    // A pull at least every second keeps the pin: the server moves it after `priority_timeout` without one.
    expires: 1000,
    group,
    callback: (msg) => {
      queue.push(msg);
      kick();
    },
  });

  void (async () => {
    for await (const status of messages.status()) {
      if (status.type === 'consumer_pinned') {
        log.info('owner of this partition');
        pinChanges++;
        options.onOwnershipChange?.(true);
        kick();
      } else if (status.type === 'consumer_unpinned') {
        log.info('no longer the owner of this partition');
        pinChanges++;
        options.onOwnershipChange?.(false);
        // Not ours to work any more: hand back what has not been started, for the new owner.
        for (const msg of queue.splice(0)) msg.nak();
      }
    }
  })().catch((error: unknown) => log.warn({ err: error }, 'status stream ended'));

  /**
   * Resolves once no message is held unacknowledged by anyone else: the previous owner's come back to us after
   * the ack wait. Bounded (two ack waits and a margin) so that miscounting can delay, never stop, a partition.
   */
  async function waitForPreviousOwner(): Promise<void> {
    const deadline = Date.now() + 2 * ackWaitMs + 2000;
    while (!stopped) {
      const info = await bus.jsm.consumers.info(stream, consumer).catch(() => undefined);
      if (info && info.num_ack_pending <= queue.length + inHand) return;
      if (Date.now() > deadline) {
        log.warn({ ackPending: info?.num_ack_pending, held: queue.length + inHand }, 'previous owner’s messages did not all come back; going on');
        return;
      }
      await sleep(100);
    }
  }

  function kick(): void {
    draining ??= drain().finally(() => {
      draining = undefined;
      if (queue.length > 0 && !stopped) kick();
    });
  }

  async function drain(): Promise<void> {
    while (queue.length > 0 && !stopped) {
      if (checkedAt !== pinChanges) {
        const seen = pinChanges;
        await waitForPreviousOwner();
        checkedAt = seen;
        continue; // the pin may have changed meanwhile: check again before working anything
      }
      queue.sort((a, b) => a.seq - b.seq);
      const batch = queue.splice(0, maxBatch);
      inHand = batch.length;
      try {
        await work(batch);
      } catch (error) {
        log.error({ err: error }, 'batch left unsettled; it will be redelivered');
      } finally {
        inHand = 0;
      }
    }
  }

  async function work(batch: JsMsg[]): Promise<void> {
    const started = performance.now();
    const live: Array<{ msg: JsMsg; entry: BatchEntry<T> }> = [];
    for (const msg of batch) {
      if (msg.info.deliveryCount > maxDeliveries) {
        await park(msg, `delivered ${msg.info.deliveryCount} times without being settled`);
        continue;
      }
      try {
        live.push({ msg, entry: { payload: decode(schema, msg.data, msg.subject), redelivered: msg.redelivered } });
      } catch (error) {
        log.error({ err: error, subject: msg.subject, seq: msg.seq }, 'parking a message that fails its schema');
        await park(msg, `invalid payload: ${(error as Error).message}`);
      }
    }
    if (live.length === 0) return;
    const keepAlive = setInterval(() => {
      for (const { msg } of live) msg.working();
    }, Math.max(200, Math.floor(ackWaitMs / 3)));
    try {
      let outcomes: BatchOutcome[] | undefined;
      try {
        outcomes = await processBatchSpan(
          live.map(({ msg }) => msg),
          consumer,
          () => handleBatch(live.map(({ entry }) => entry)),
        );
      } catch (error) {
        observe?.failed?.();
        log.warn({ err: error, messages: live.length }, 'batch failed; retrying its messages one at a time');
      }
      if (outcomes) for (const [i, { msg }] of live.entries()) settle(msg, outcomes[i] ?? { kind: 'done' });
      else for (const { msg, entry } of live) if (!stopped) await workAlone(msg, entry);
    } finally {
      clearInterval(keepAlive);
    }
    await bus.nc.flush().catch((error: unknown) => log.warn({ err: error }, 'acks not confirmed; redeliveries are harmless'));
    observe?.batch?.(live.length, (performance.now() - started) / 1000);
  }

  /** Retries one message alone until it succeeds, is refused, or has failed `maxAttempts` times while healthy. */
  async function workAlone(msg: JsMsg, entry: BatchEntry<T>): Promise<void> {
    let attempts = 0;
    for (let round = 0; !stopped; round++) {
      try {
        const [outcome] = await processBatchSpan([msg], consumer, () => handleBatch([{ ...entry, redelivered: true }]));
        settle(msg, outcome ?? { kind: 'done' });
        return;
      } catch (error) {
        if (await healthy().catch(() => false)) attempts++;
        if (attempts >= maxAttempts) {
          await park(msg, `failed ${attempts} times: ${(error as Error).message}`, entry.payload);
          return;
        }
        const delay = Math.min(5000, retryDelayMs * 2 ** round);
        log.warn({ err: error, subject: msg.subject, attempts, retryInMs: delay }, 'will retry');
        await sleep(delay);
      }
    }
  }

  function settle(msg: JsMsg, outcome: BatchOutcome): void {
    if (outcome.kind === 'done') {
      msg.ack();
      return;
    }
    observe?.refused?.();
    log.error({ subject: msg.subject, seq: msg.seq, reason: outcome.reason }, 'terminating a message that can never succeed');
    msg.term(outcome.reason);
  }

  /** Sets a message aside in the dead-letter stream (for an operator to inspect or replay) and terminates it. */
  async function park(msg: JsMsg, reason: string, payload?: T): Promise<void> {
    const hdrs = natsHeaders();
    hdrs.set('Chat-Dead-Letter-Reason', reason.slice(0, 1000));
    hdrs.set('Chat-Original-Subject', msg.subject);
    hdrs.set('Chat-Original-Sequence', String(msg.seq));
    hdrs.set('Chat-Deliveries', String(msg.info.deliveryCount));
    try {
      await bus.js.publish(options.deadLetterSubject(msg.subject), msg.data, { headers: hdrs });
    } catch (error) {
      // Never drop it: it comes back and is parked on a later try.
      log.error({ err: error, subject: msg.subject }, 'could not park a message; it will be redelivered');
      msg.nak(1000);
      return;
    }
    msg.term(reason.slice(0, 200));
    observe?.parked?.(reason);
    log.error(
      { subject: msg.subject, seq: msg.seq, deliveries: msg.info.deliveryCount, reason, ...(payload && options.describe ? options.describe(payload) : {}) },
      'parked a message in the dead-letter stream',
    );
    options.onGivenUp?.(payload, reason, rawJson(msg.data));
  }

  return {
    async stop() {
      stopped = true;
      messages.stop();
      await draining;
    },
  };
}

import type { JsMsg } from '@nats-io/jetstream';
import type { Logger } from '@chat/logger';
import type { z } from 'zod';
import type { Bus } from './bus.ts';
import { decode } from './codec.ts';
import { parkInDeadLetter } from './dead-letter.ts';
import type { DurableWorker } from './durable-consumer.ts';
import { context, processBatchSpan } from './messaging-spans.ts';

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
  /**
   * Works a batch in stream order and says what became of each; throwing means the batch as a whole failed.
   * It may leave a `finish` step (e.g. a write that need not hold up the next batch's critical path): the next
   * batch is worked while it runs, and is settled only after it succeeded.
   */
  handleBatch: (entries: Array<BatchEntry<T>>) => Promise<{ outcomes: BatchOutcome[]; finish?: () => Promise<void> }>;
  /** After a failure: drop whatever is kept in memory for the consumer (its retries start afresh). */
  onFailure?: () => void;
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

interface Live<T> {
  msg: JsMsg;
  entry: BatchEntry<T>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Works one consumer of a partitioned stream from the one replica the server pins it to, many messages in
 * flight, in batches: what has arrived while the previous batch was worked is the next batch (up to
 * `maxBatch`), so batches grow with the load and a lone message waits for nothing.
 *
 * - **Order.** A batch is worked in stream order. When this replica becomes the owner it first waits for the
 *   messages the previous owner held unacknowledged (they come back after the ack wait), so nothing newer is
 *   worked before them.
 * - **Poison never blocks.** A refused message is terminated. A batch that fails is tried again whole once what
 *   it depends on answers; failing again, its messages are tried one at a time, and one that keeps failing while
 *   the store is healthy is parked in the dead-letter stream after `maxAttempts` tries, and the rest go on. While
 *   the store is down nothing is held against anyone.
 * - **One worker per message.** Everything held is kept alive within the ack wait (nothing is redelivered while
 *   it waits its turn), and a replica that lost the pin hands back what failed instead of retrying it.
 * - **Pipelined.** A batch's `finish` (its write) runs while the next batch is worked; a batch is settled only
 *   after the one before it was, and when one fails, the batches worked on top of it are retried too.
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
  /**
   * Every message held from its arrival until it is settled or handed back (queued or in hand), by stream
   * sequence. All are kept alive well within the ack wait — a message waiting behind a batch, or for a previous
   * owner, is as much ours as one being worked — so the server redelivers none of them to us meanwhile; a copy it
   * sends all the same (after an outage of the connection) is dropped: an ack of any delivery settles the message.
   */
  const held = new Map<number, JsMsg>();
  let stopped = false;
  let draining: Promise<void> | undefined;
  /**
   * Pin changes seen, and the count at which it was last checked that no one else holds this consumer's messages
   * unacknowledged: not checked at start, nor after any change of pin. The pin's notification can come after the
   * first messages, so the check is made before the next batch rather than when the notification comes.
   */
  let pinChanges = 0;
  let checkedAt = -1;
  /**
   * The server moved the consumer to another replica (until it comes back here): work in hand goes on to its end,
   * but what of it fails is handed back rather than retried, so two replicas do not work the same messages.
   */
  let ownedElsewhere = false;

  const source = await bus.js.consumers.get(stream, consumer);
  const messages = await source.consume({
    max_messages: maxBatch * 2,
    // A pull at least every second keeps the pin: the server moves it after `priority_timeout` without one.
    expires: 1000,
    group,
    callback: (msg) => {
      if (held.has(msg.seq)) return;
      held.set(msg.seq, msg);
      queue.push(msg);
      kick();
    },
  });
  const keepAlive = setInterval(
    () => {
      for (const msg of held.values()) msg.working();
    },
    Math.max(200, Math.floor(ackWaitMs / 3)),
  );

  void (async () => {
    for await (const status of messages.status()) {
      if (status.type === 'consumer_pinned') {
        log.info('owner of this partition');
        pinChanges++;
        ownedElsewhere = false;
        options.onOwnershipChange?.(true);
        kick();
      } else if (status.type === 'consumer_unpinned') {
        log.info('no longer the owner of this partition');
        pinChanges++;
        ownedElsewhere = true;
        options.onOwnershipChange?.(false);
        // Not ours to work any more: hand back what has not been started, for the new owner.
        handBack(queue.splice(0));
      }
    }
  })().catch((error: unknown) => log.warn({ err: error }, 'status stream ended'));

  /**
   * Resolves once no message is held unacknowledged by anyone else: the previous owner's come back to us after
   * the ack wait. Bounded (two ack waits and a margin) so that miscounting can delay, never stop, a partition.
   */
  async function waitForPreviousOwner(): Promise<void> {
    const since = Date.now();
    const deadline = since + 2 * ackWaitMs + 2000;
    while (!stopped) {
      const info = await bus.jsm.consumers.info(stream, consumer).catch(() => undefined);
      if (info && info.num_ack_pending <= held.size) {
        log.info({ waitedMs: Date.now() - since, held: held.size }, 'no message of this partition is held elsewhere');
        return;
      }
      if (Date.now() > deadline) {
        log.warn({ ackPending: info?.num_ack_pending, held: held.size }, 'previous owner’s messages did not all come back; going on');
        return;
      }
      await sleep(100);
    }
  }

  function kick(): void {
    draining ??= drain().finally(() => {
      draining = undefined;
      if ((queue.length > 0 || finishing?.failed) && !stopped) kick();
    });
  }

  /**
   * The last batch's finish, running while the next batch is worked (and while nothing is, so that a message
   * arriving then does not wait for it); false when it failed.
   */
  let finishing: { batch: Array<Live<T>>; done: Promise<boolean>; failed: boolean } | undefined;
  /** Waits for the last batch's finish; when it failed, its batch is retried (see `retry`). */
  async function settlePrevious(): Promise<boolean> {
    if (!finishing) return true;
    const { batch, done } = finishing;
    finishing = undefined;
    if (await done) return true;
    await retry(batch);
    return false;
  }

  async function drain(): Promise<void> {
    // The last finish failed with nothing queued behind it: retry its batch now.
    if (finishing?.failed) await settlePrevious();
    while (queue.length > 0 && !stopped) {
      if (checkedAt !== pinChanges) {
        await settlePrevious();
        const seen = pinChanges;
        await waitForPreviousOwner();
        checkedAt = seen;
        continue; // the pin may have changed meanwhile: check again before working anything
      }
      queue.sort((a, b) => a.seq - b.seq);
      const batch = await decodeAll(queue.splice(0, maxBatch));
      if (batch.length === 0) continue;
      const started = performance.now();
      let handled: Awaited<ReturnType<typeof handleBatch>> | undefined;
      try {
        handled = await processBatchSpan(
          batch.map(({ msg }) => msg),
          consumer,
          async () => {
            const result = await handleBatch(batch.map(({ entry }) => entry));
            // The finish runs later, but is part of the same work: its spans go under this batch's span.
            const active = context.active();
            const { finish } = result;
            return finish ? { ...result, finish: () => context.with(active, finish) } : result;
          },
        );
      } catch (error) {
        observe?.failed?.();
        log.warn({ err: error, messages: batch.length }, 'batch failed; retrying it');
      }
      // This batch was worked on what the previous one left in memory: if that one failed, retry this one too.
      const previousOk = await settlePrevious();
      if (!handled || !previousOk) {
        options.onFailure?.();
        await retry(batch);
        continue;
      }
      const { outcomes, finish } = handled;
      const current: NonNullable<typeof finishing> = { batch, done: Promise.resolve(true), failed: false };
      finishing = current;
      current.done = (async () => {
        try {
          await finish?.();
        } catch (error) {
          observe?.failed?.();
          log.warn({ err: error, messages: batch.length }, 'batch failed to finish; retrying it');
          options.onFailure?.();
          current.failed = true;
          return false;
        }
        for (const [i, { msg }] of batch.entries()) settle(msg, outcomes[i] ?? { kind: 'done' });
        await bus.nc.flush().catch((error: unknown) => log.warn({ err: error }, 'acks not confirmed; redeliveries are harmless'));
        observe?.batch?.(batch.length, (performance.now() - started) / 1000);
        return true;
      })().finally(() => {
        // A failed finish is retried by the next batch; with none coming, start a drain to do it.
        if (current.failed && finishing === current) kick();
      });
    }
  }

  /** Decodes a batch; parks what was delivered too often or fails its schema. */
  async function decodeAll(msgs: JsMsg[]): Promise<Array<Live<T>>> {
    const live: Array<Live<T>> = [];
    for (const msg of msgs) {
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
    return live;
  }

  /** Messages this replica will not work: the server gives them to the owner at once. */
  function handBack(msgs: JsMsg[]): void {
    for (const msg of msgs) {
      held.delete(msg.seq);
      msg.nak();
    }
  }

  /**
   * A failed batch: once what it depends on answers again, tried again whole (a failure is nearly always a
   * moment's outage, and a batch costs what one message does); failing again while everything answers, its
   * messages are tried one at a time, to find the one that fails.
   */
  async function retry(batch: Array<Live<T>>): Promise<void> {
    for (let round = 0; !stopped && !ownedElsewhere && !(await healthy().catch(() => false)); round++) {
      await sleep(Math.min(1000, retryDelayMs * 2 ** round));
    }
    if (stopped) return;
    if (ownedElsewhere) {
      handBack(batch.map(({ msg }) => msg));
      return;
    }
    try {
      const { outcomes, finish } = await processBatchSpan(
        batch.map(({ msg }) => msg),
        consumer,
        () => handleBatch(batch.map(({ entry }) => ({ ...entry, redelivered: true }))),
      );
      await finish?.();
      for (const [i, { msg }] of batch.entries()) settle(msg, outcomes[i] ?? { kind: 'done' });
      await bus.nc.flush().catch((error: unknown) => log.warn({ err: error }, 'acks not confirmed; redeliveries are harmless'));
      return;
    } catch (error) {
      observe?.failed?.();
      options.onFailure?.();
      log.warn({ err: error, messages: batch.length }, 'batch failed again; retrying its messages one at a time');
    }
    await retryAlone(batch);
  }

  /** The messages of a failed batch, one at a time and in order. */
  async function retryAlone(batch: Array<Live<T>>): Promise<void> {
    for (const [i, { msg, entry }] of batch.entries()) {
      if (stopped) return;
      if (ownedElsewhere) {
        handBack(batch.slice(i).map((live) => live.msg));
        return;
      }
      await workAlone(msg, entry);
    }
    await bus.nc.flush().catch((error: unknown) => log.warn({ err: error }, 'acks not confirmed; redeliveries are harmless'));
  }

  /** Retries one message alone until it succeeds, is refused, or has failed `maxAttempts` times while healthy. */
  async function workAlone(msg: JsMsg, entry: BatchEntry<T>): Promise<void> {
    let attempts = 0;
    for (let round = 0; !stopped; round++) {
      if (ownedElsewhere) {
        handBack([msg]);
        return;
      }
      try {
        const { outcomes, finish } = await processBatchSpan([msg], consumer, () => handleBatch([{ ...entry, redelivered: true }]));
        await finish?.();
        settle(msg, outcomes[0] ?? { kind: 'done' });
        return;
      } catch (error) {
        options.onFailure?.();
        if (await healthy().catch(() => false)) attempts++;
        if (attempts >= maxAttempts) {
          await park(msg, `failed ${attempts} times: ${(error as Error).message}`, entry.payload);
          return;
        }
        // Capped low: what failed is usually a moment's outage, and a partition waits for this one message.
        const delay = Math.min(1000, retryDelayMs * 2 ** round);
        log.warn({ err: error, subject: msg.subject, attempts, retryInMs: delay }, 'will retry');
        await sleep(delay);
      }
    }
  }

  function settle(msg: JsMsg, outcome: BatchOutcome): void {
    held.delete(msg.seq);
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
    // Parked (and terminated) or not, it is no longer kept alive: not parked, it comes back and is parked then.
    held.delete(msg.seq);
    if (!(await parkInDeadLetter(bus, msg, options.deadLetterSubject(msg.subject), reason, 1000))) {
      log.error({ subject: msg.subject }, 'could not park a message; it will be redelivered and parked then');
      return;
    }
    observe?.parked?.(reason);
    log.error(
      {
        subject: msg.subject,
        seq: msg.seq,
        deliveries: msg.info.deliveryCount,
        reason,
        ...(payload && options.describe ? options.describe(payload) : {}),
      },
      'parked a message in the dead-letter stream',
    );
    options.onGivenUp?.(payload, reason, rawJson(msg.data));
  }

  return {
    async stop() {
      stopped = true;
      messages.stop();
      await draining;
      await settlePrevious();
      clearInterval(keepAlive);
    },
  };
}

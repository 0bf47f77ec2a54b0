import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { AckPolicy, DeliverPolicy } from '@nats-io/jetstream';
import { nanos } from '@nats-io/nats-core';
import { createLogger } from '@chat/logger';
import { createTestContext, CuttableProxy, waitFor } from '@chat/testing';
import { Bus } from './bus.ts';
import type { DurableWorker } from './durable-consumer.ts';
import { consumeOwnedBatches, type BatchEntry, type OwnedBatchConsumerOptions } from './owned-batch-consumer.ts';
import { ensureConsumer, ensureStream } from './streams.ts';

const ctx = createTestContext();
const logger = createLogger({ service: 'owned-consumer-test', level: 'silent' });
const Item = z.object({ n: z.number() });
type Item = z.infer<typeof Item>;
const stream = `${ctx.namespace.toUpperCase()}_OWNED`;
const group = 'owners';
const ACK_WAIT_MS = 1000;

const buses: Bus[] = [];
const workers: DurableWorker[] = [];
let publisher: Bus;
let consumerCount = 0;

beforeAll(async () => {
  publisher = await Bus.connect({ servers: [ctx.natsUrl], name: 'owned-test-publisher', logger });
  await ensureStream(publisher, { name: stream, subjects: [`${ctx.namespace}.owned.>`] });
});
afterEach(async () => {
  for (const worker of workers.splice(0)) await worker.stop();
  for (const bus of buses.splice(0)) await bus.close();
});
afterAll(async () => {
  await publisher?.close();
  await ctx.cleanup();
});

/** A consumer of its own subject, pinned to one member at a time. */
async function newConsumer(): Promise<{ consumer: string; subject: string }> {
  const consumer = `owned-${++consumerCount}`;
  const subject = `${ctx.namespace}.owned.${consumer}`;
  await ensureConsumer(publisher, stream, {
    durable_name: consumer,
    filter_subject: subject,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    priority_groups: [group],
    priority_policy: 'pinned_client',
    priority_timeout: nanos(2000),
    ack_wait: nanos(ACK_WAIT_MS),
    max_deliver: -1,
  });
  return { consumer, subject };
}

async function member(
  consumer: string,
  handleBatch: OwnedBatchConsumerOptions<Item>['handleBatch'],
  extra: Partial<OwnedBatchConsumerOptions<Item>> = {},
  natsUrl = ctx.natsUrl,
): Promise<DurableWorker> {
  const bus = await Bus.connect({ servers: [natsUrl], name: `owned-test-${consumer}`, logger });
  buses.push(bus);
  const worker = await consumeOwnedBatches<Item>({
    bus,
    stream,
    consumer,
    group,
    schema: Item,
    handleBatch,
    healthy: async () => true,
    deadLetterSubject: (subject) => `${ctx.namespace}.dlq.${subject}`,
    ackWaitMs: ACK_WAIT_MS,
    retryDelayMs: 20,
    logger,
    ...extra,
  });
  workers.push(worker);
  return worker;
}

const done = (entries: Array<BatchEntry<Item>>) => ({ outcomes: entries.map(() => ({ kind: 'done' as const })) });
const gate = () => {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
};

describe('consumeOwnedBatches', () => {
  it('keeps what waits behind a slow batch alive: nothing is redelivered or worked twice', { timeout: 30_000 }, async () => {
    const { consumer, subject } = await newConsumer();
    const worked: Array<{ n: number; redelivered: boolean }> = [];
    const slow = gate();
    let first = true;
    await member(consumer, async (entries) => {
      for (const { payload, redelivered } of entries) worked.push({ n: payload.n, redelivered });
      if (first) {
        first = false;
        // The first batch is in hand for several ack waits while the rest arrive and queue behind it.
        await slow.opened;
      }
      return done(entries);
    });
    await publisher.js.publish(subject, JSON.stringify({ n: 0 }));
    await waitFor(() => worked.length === 1);
    for (let n = 1; n <= 20; n++) await publisher.js.publish(subject, JSON.stringify({ n }));
    // Three ack waits: without keep-alives the queued ones would have come back meanwhile.
    await new Promise((resolve) => setTimeout(resolve, 3 * ACK_WAIT_MS));
    slow.open();
    await waitFor(() => worked.length >= 21);
    await waitFor(async () => (await publisher.jsm.consumers.info(stream, consumer)).num_ack_pending === 0);
    expect(worked.map(({ n }) => n)).toEqual(Array.from({ length: 21 }, (_, n) => n));
    expect(worked.filter(({ redelivered }) => redelivered)).toEqual([]);
  });

  it('retries a failed batch whole before one message at a time', { timeout: 30_000 }, async () => {
    const { consumer, subject } = await newConsumer();
    const batches: number[][] = [];
    let failures = 1;
    const holding = gate();
    const held = gate();
    let first = true;
    await member(consumer, async (entries) => {
      if (first) {
        first = false;
        held.open();
        await holding.opened; // so that the rest arrive meanwhile, and make one batch
        return done(entries);
      }
      batches.push(entries.map(({ payload }) => payload.n));
      if (failures-- > 0) throw new Error('a moment’s outage');
      return done(entries);
    });
    await publisher.js.publish(subject, JSON.stringify({ n: 0 }));
    await held.opened;
    for (let n = 1; n <= 5; n++) await publisher.js.publish(subject, JSON.stringify({ n }));
    await waitFor(async () => (await publisher.jsm.consumers.info(stream, consumer)).num_ack_pending === 6);
    // Sent by the server is not yet received: give the last ones a moment to arrive and queue.
    await new Promise((resolve) => setTimeout(resolve, 200));
    holding.open();
    await waitFor(async () => (await publisher.jsm.consumers.info(stream, consumer)).num_ack_pending === 0 && batches.length >= 2);
    // The failed batch again as it was (one at a time would have been [1], [2], …), then whatever came after it.
    expect(batches[0]!.length).toBeGreaterThan(1);
    expect(batches[1]).toEqual(batches[0]);
    expect(batches.slice(1).flat()).toEqual([1, 2, 3, 4, 5]);
  });

  it('hands back what fails after the pin moved, instead of retrying it beside the new owner', { timeout: 60_000 }, async () => {
    const { consumer, subject } = await newConsumer();
    const proxy = new CuttableProxy(new URL(ctx.natsUrl));
    const byFirst: number[] = [];
    const bySecond: number[] = [];
    const inHand = gate();
    const fail = gate();
    let firstOwns: boolean | undefined;
    try {
      await member(
        consumer,
        async (entries) => {
          for (const { payload } of entries) byFirst.push(payload.n);
          inHand.open();
          await fail.opened;
          throw new Error('failed after the pin moved');
        },
        { onOwnershipChange: (owned) => (firstOwns = owned) },
        await proxy.listen(),
      );
      await publisher.js.publish(subject, JSON.stringify({ n: 1 }));
      await inHand.opened;
      await member(consumer, async (entries) => {
        for (const { payload } of entries) bySecond.push(payload.n);
        return done(entries);
      });
      // The first member is off the bus for longer than the pin's timeout: the second one is pinned, and is
      // given the first one's message once its ack wait is over.
      proxy.cut();
      await publisher.js.publish(subject, JSON.stringify({ n: 2 }));
      await waitFor(() => bySecond.includes(1) && bySecond.includes(2), { timeoutMs: 15_000 });
      proxy.restore();
      // Back on the bus, the first member learns it lost the pin; then its batch fails.
      await waitFor(() => firstOwns === false, { timeoutMs: 15_000 });
      fail.open();
      await waitFor(async () => (await publisher.jsm.consumers.info(stream, consumer)).num_ack_pending === 0);
      // A retry would have shown here: the first member is still connected and everything it needs answers.
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(byFirst).toEqual([1]);
      expect(bySecond).toEqual([1, 2]);
    } finally {
      fail.open();
      await proxy.close();
    }
  });
});

import { DiscardPolicy, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import type { BusNames } from '@chat/contracts';
import type { Bus } from './bus.ts';
import { ensureStream } from './streams.ts';

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * The system's streams. Every service that publishes to or consumes from them ensures them at start, so any
 * one of them may boot first.
 */
export async function ensureChatStreams(bus: Bus, names: BusNames, { replicas = 1 }: { replicas?: number } = {}): Promise<void> {
  await ensureStream(bus, {
    name: names.streams.commands.name,
    subjects: [...names.streams.commands.subjects],
    // A command leaves the stream when its consumer acks it; unconsumed ones wait for their service.
    num_replicas: replicas,
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
    discard: DiscardPolicy.New,
    max_age: nanos(7 * DAY_MS),
    duplicate_window: nanos(2 * 60 * 1000),
  });
  await ensureStream(bus, {
    name: names.streams.events.name,
    subjects: [...names.streams.events.subjects],
    num_replicas: replicas,
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    max_age: nanos(7 * DAY_MS),
    duplicate_window: nanos(2 * 60 * 1000),
  });
  await ensureStream(bus, {
    name: names.streams.deadLetter.name,
    subjects: [...names.streams.deadLetter.subjects],
    // Kept for an operator to inspect and replay; nothing consumes it.
    num_replicas: replicas,
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    max_age: nanos(30 * DAY_MS),
  });
}

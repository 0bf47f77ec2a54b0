import { nanos } from '@nats-io/transport-node';
import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type ConsumerConfig,
  type JetStreamManager,
  type StreamConfig,
} from '@nats-io/jetstream';
import type { Bus } from './bus.ts';

/** JetStream's "stream name already in use" (not among the client's named codes). */
const STREAM_NAME_IN_USE = 10058;

function isNotFound(error: unknown): boolean {
  return (
    error instanceof JetStreamApiError &&
    (error.code === JetStreamApiCodes.StreamNotFound || error.code === JetStreamApiCodes.ConsumerNotFound)
  );
}

/**
 * Creates the stream, or brings an existing one to this configuration. Safe to run from every replica at
 * once: whoever loses the create race updates instead.
 */
export async function ensureStream(
  bus: Pick<Bus, 'jsm'>,
  config: Partial<StreamConfig> & { name: string; subjects: string[] },
): Promise<void> {
  const { jsm } = bus;
  try {
    await jsm.streams.info(config.name);
  } catch (error) {
    if (!isNotFound(error)) throw error;
    try {
      await jsm.streams.add(config);
      return;
    } catch (addError) {
      if (!(addError instanceof JetStreamApiError && addError.code === STREAM_NAME_IN_USE)) throw addError;
    }
  }
  await jsm.streams.update(config.name, config);
}

/**
 * Creates the durable consumer, or updates it in place (its durable name keeps its position). Some settings
 * cannot change in place (a priority policy, for one): with `recreateIfIncompatible` such a consumer is
 * deleted and created anew, which on a work-queue stream loses nothing (its messages stay in the stream until
 * acked; those in flight are delivered again).
 */
export async function ensureConsumer(
  bus: Pick<Bus, 'jsm'>,
  stream: string,
  config: Partial<ConsumerConfig> & { durable_name: string },
  { recreateIfIncompatible = false }: { recreateIfIncompatible?: boolean } = {},
): Promise<void> {
  const { jsm } = bus;
  try {
    await jsm.consumers.info(stream, config.durable_name);
  } catch (error) {
    if (!isNotFound(error)) throw error;
    await addConsumer(jsm, stream, config);
    return;
  }
  try {
    await jsm.consumers.update(stream, config.durable_name, config);
  } catch (error) {
    if (!recreateIfIncompatible || !(error instanceof JetStreamApiError)) throw error;
    await jsm.consumers.delete(stream, config.durable_name).catch((deleteError: unknown) => {
      if (!isNotFound(deleteError)) throw deleteError;
    });
    await addConsumer(jsm, stream, config);
  }
}

/** Adds a consumer; another replica adding the same one at the same moment is fine. */
async function addConsumer(
  jsm: JetStreamManager,
  stream: string,
  config: Partial<ConsumerConfig> & { durable_name: string },
): Promise<void> {
  try {
    await jsm.consumers.add(stream, config);
  } catch (error) {
    // Same name, same configuration: the server answers with the existing consumer, so an error means another one.
    if (!(error instanceof JetStreamApiError)) throw error;
    await jsm.consumers.update(stream, config.durable_name, config);
  }
}

export interface WorkConsumerOptions {
  durable: string;
  filterSubject: string;
  /** How long a delivered message may go unacknowledged (kept alive with progress acks while it is worked). */
  ackWaitMs: number;
  /** Unacknowledged messages the consumer hands out at once. */
  maxAckPending?: number;
  /**
   * A pinned-client priority group: the server hands the consumer's messages to one member at a time, and pins
   * another once that one has not pulled for `timeoutMs`.
   */
  owners?: { group: string; timeoutMs: number };
}

/**
 * The configuration of a durable pull consumer that works every message of its subjects from the start,
 * each acknowledged explicitly and redelivered without limit (a message that keeps failing is parked by its
 * worker, not dropped by the server): what `ensureConsumer` takes.
 */
export function workConsumer({
  durable,
  filterSubject,
  ackWaitMs,
  maxAckPending,
  owners,
}: WorkConsumerOptions): Partial<ConsumerConfig> & { durable_name: string } {
  return {
    durable_name: durable,
    filter_subject: filterSubject,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(ackWaitMs),
    max_deliver: -1,
    ...(maxAckPending === undefined ? {} : { max_ack_pending: maxAckPending }),
    ...(owners
      ? { priority_groups: [owners.group], priority_policy: 'pinned_client' as const, priority_timeout: nanos(owners.timeoutMs) }
      : {}),
  };
}

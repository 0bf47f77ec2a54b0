import {
  JetStreamApiCodes,
  JetStreamApiError,
  type ConsumerConfig,
  type JetStreamManager,
  type StreamConfig,
} from '@nats-io/jetstream';

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
  jsm: JetStreamManager,
  config: Partial<StreamConfig> & { name: string; subjects: string[] },
): Promise<void> {
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
  jsm: JetStreamManager,
  stream: string,
  config: Partial<ConsumerConfig> & { durable_name: string },
  { recreateIfIncompatible = false }: { recreateIfIncompatible?: boolean } = {},
): Promise<void> {
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
async function addConsumer(jsm: JetStreamManager, stream: string, config: Partial<ConsumerConfig> & { durable_name: string }): Promise<void> {
  try {
    await jsm.consumers.add(stream, config);
  } catch (error) {
    // Same name, same configuration: the server answers with the existing consumer, so an error means another one.
    if (!(error instanceof JetStreamApiError)) throw error;
    await jsm.consumers.update(stream, config.durable_name, config);
  }
}

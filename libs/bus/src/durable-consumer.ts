import type { JsMsg } from '@nats-io/jetstream';
import { ChatError } from '@chat/contracts';
import type { Logger } from '@chat/logger';
import type { z } from 'zod';
import type { Bus } from './bus.ts';
import { decode } from './codec.ts';
import { parkInDeadLetter } from './dead-letter.ts';
import { processSpan } from './messaging-spans.ts';

export interface DurableConsumerOptions<T> {
  bus: Bus;
  stream: string;
  consumer: string;
  schema: z.ZodType<T>;
  /** Resolves when the message's work is done and durable; then it is acked. Throwing retries it. */
  handler: (payload: T, msg: JsMsg) => Promise<void>;
  logger: Logger;
  /** First retry delay after a failure; doubles per delivery up to `maxRetryDelayMs`. */
  retryDelayMs?: number;
  maxRetryDelayMs?: number;
  /** Deliveries after which a failing message is set aside instead of retried again. */
  maxDeliveries?: number;
  /** Where it is set aside (a dead-letter stream's subject); without one it is terminated with a log line. */
  deadLetterSubject?: (subject: string) => string;
}

export interface DurableWorker {
  /** Stops taking messages and resolves once the one in hand is finished. */
  stop(): Promise<void>;
}

/**
 * Runs a handler over a durable pull consumer with explicit acks: ack after success, redelivery with backoff
 * after a failure, `term` for a message that can never succeed (it fails its schema), and a message that
 * failed `maxDeliveries` times set aside, so that one bad message never holds the consumer for ever.
 */
export async function consumeDurable<T>(options: DurableConsumerOptions<T>): Promise<DurableWorker> {
  const { bus, stream, consumer, schema, handler, logger, retryDelayMs = 250, maxRetryDelayMs = 10_000, maxDeliveries = 10 } = options;
  const log = logger.child({ component: 'consumer', stream, consumer });
  const source = await bus.js.consumers.get(stream, consumer);
  const messages = await source.consume({ max_messages: 16 });

  const handle = async (msg: JsMsg): Promise<void> => {
    let payload: T;
    try {
      payload = decode(schema, msg.data, msg.subject);
    } catch (error) {
      log.error({ err: error, subject: msg.subject, seq: msg.seq }, 'terminating a command that fails its schema');
      msg.term('invalid payload');
      return;
    }
    try {
      await processSpan(msg.subject, consumer, msg.headers, msg.data.length, () => handler(payload, msg));
    } catch (error) {
      const permanent = error instanceof ChatError && error.code === 'VALIDATION_ERROR';
      if (permanent) {
        log.error({ err: error, subject: msg.subject }, 'terminating a command that can never succeed');
        msg.term(error.message);
        return;
      }
      if (msg.info.deliveryCount >= maxDeliveries) {
        await setAside(msg, error as Error);
        return;
      }
      const delay = Math.min(maxRetryDelayMs, retryDelayMs * 2 ** Math.max(0, msg.info.deliveryCount - 1));
      log.warn({ err: error, subject: msg.subject, delivery: msg.info.deliveryCount, retryInMs: delay }, 'will retry');
      msg.nak(delay);
      return;
    }
    await msg.ackAck().catch((error: unknown) => {
      // The work is done and idempotent: a lost ack only means a harmless redelivery.
      log.warn({ err: error, subject: msg.subject }, 'ack not confirmed');
    });
  };

  const setAside = async (msg: JsMsg, error: Error): Promise<void> => {
    if (options.deadLetterSubject) {
      if (!(await parkInDeadLetter(bus, msg, options.deadLetterSubject(msg.subject), error.message, maxRetryDelayMs))) {
        log.error({ subject: msg.subject }, 'could not set a message aside; it will be retried');
        return;
      }
    } else msg.term(error.message.slice(0, 200));
    log.error({ err: error, subject: msg.subject, deliveries: msg.info.deliveryCount }, 'gave up on a message after repeated failures');
  };

  const loop = (async () => {
    for await (const msg of messages) await handle(msg);
  })();

  return {
    async stop() {
      messages.stop();
      await loop;
    },
  };
}

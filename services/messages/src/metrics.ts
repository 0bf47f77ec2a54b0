import type { MongoClient } from 'mongodb';
import { Counter, createMetricsRegistry, Gauge, Histogram, requestCounter, type Registry } from '@chat/telemetry';

/** The messages service's Prometheus metrics; `consumerLag` is read when Prometheus scrapes. */
export function createMessagesMetrics({ consumerLag }: { consumerLag: () => Promise<Array<[consumer: string, pending: number]>> }) {
  const registry: Registry = createMetricsRegistry('messages');
  return {
    registry,
    commands: new Counter({
      name: 'chat_commands_processed_total',
      help: 'Conversation commands handled, by type and outcome (ok; refused: terminated for good; parked: set aside in the dead-letter stream)',
      labelNames: ['type', 'outcome'] as const,
      registers: [registry],
    }),
    batches: new Histogram({
      name: 'chat_command_batch_size',
      help: 'Conversation commands worked in one batch',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
      registers: [registry],
    }),
    batchSeconds: new Histogram({
      name: 'chat_command_batch_duration_seconds',
      help: 'Time to work one batch of conversation commands, from its first store call to its acks',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    failedBatches: new Counter({
      name: 'chat_command_batches_failed_total',
      help: 'Batch attempts that failed as a whole (retried whole once, then command by command)',
      registers: [registry],
    }),
    mongoCommands: new Counter({
      name: 'chat_mongodb_commands_total',
      help: 'MongoDB commands sent, by command name (from the driver’s command monitoring)',
      labelNames: ['command'] as const,
      registers: [registry],
    }),
    /** Counts one answer of a request/reply endpoint (called by the service wrapper for every endpoint). */
    countAnswer: requestCounter(registry),
    consumerPending: new Gauge({
      name: 'chat_jetstream_consumer_pending',
      help: 'Commands waiting for this service (JetStream consumer lag: not yet delivered plus unacknowledged)',
      labelNames: ['consumer'] as const,
      registers: [registry],
      async collect() {
        for (const [consumer, pending] of await consumerLag()) this.set({ consumer }, pending);
      },
    }),
  };
}
export type MessagesMetrics = ReturnType<typeof createMessagesMetrics>;

/** Counts every command the client sends (the client must be created with `monitorCommands: true`). */
export function countMongoCommands(client: MongoClient, metrics: MessagesMetrics): void {
  client.on('commandStarted', (event) => metrics.mongoCommands.inc({ command: event.commandName }));
}

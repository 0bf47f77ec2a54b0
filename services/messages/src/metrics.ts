import { Counter, createMetricsRegistry, Gauge, Histogram, requestCounter, type Registry } from '@chat/telemetry';

/** The messages service's Prometheus metrics; `consumerLag` is read when Prometheus scrapes. */
export function createMessagesMetrics({ consumerLag }: { consumerLag: () => Promise<Array<[consumer: string, pending: number]>> }) {
  const registry: Registry = createMetricsRegistry('messages');
  return {
    registry,
    commands: new Counter({
      name: 'chat_commands_processed_total',
      help: 'Conversation commands handled, by type and outcome (ok, or error: it will be retried)',
      labelNames: ['type', 'outcome'] as const,
      registers: [registry],
    }),
    commandSeconds: new Histogram({
      name: 'chat_command_duration_seconds',
      help: 'Time to apply one conversation command, by type',
      labelNames: ['type'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    /** Wraps a request handler so that every answer is counted. */
    counted: requestCounter(registry),
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

/** Wraps a handler so that every call is counted and timed. */
export function measured<T, A extends unknown[]>(metrics: MessagesMetrics, type: string, handler: (input: T, ...rest: A) => Promise<void>) {
  return async (input: T, ...rest: A): Promise<void> => {
    const end = metrics.commandSeconds.startTimer({ type });
    try {
      await handler(input, ...rest);
      metrics.commands.inc({ type, outcome: 'ok' });
    } catch (error) {
      metrics.commands.inc({ type, outcome: 'error' });
      throw error;
    } finally {
      end();
    }
  };
}

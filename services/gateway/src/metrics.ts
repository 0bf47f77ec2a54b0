import { Counter, createMetricsRegistry, Gauge, Histogram, type Registry } from '@chat/telemetry';

/** The gateway's Prometheus metrics: the spec's monitoring list and the gateway's own work. */
export function createGatewayMetrics() {
  const registry: Registry = createMetricsRegistry('gateway');
  return {
    registry,
    connections: new Gauge({ name: 'chat_socket_connections', help: 'Connected sockets', registers: [registry] }),
    catchUpsWaiting: new Gauge({
      name: 'chat_catch_ups_waiting',
      help: 'Connected sockets waiting for their catch-up (what their user missed); their live messages are held meanwhile',
      registers: [registry],
    }),
    connectionErrors: new Counter({
      name: 'chat_socket_connection_errors_total',
      help: 'Connections refused or dropped for authentication, by reason',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    messagesSent: new Counter({
      name: 'chat_messages_sent_total',
      help: 'Messages accepted and stored (rate() gives messages per second), by type',
      labelNames: ['type'] as const,
      registers: [registry],
    }),
    messagesFailed: new Counter({
      name: 'chat_messages_failed_total',
      help: 'send_message events refused or failed, by error code',
      labelNames: ['code'] as const,
      registers: [registry],
    }),
    deliverySeconds: new Histogram({
      name: 'chat_message_delivery_seconds',
      help: 'From the sender’s gateway accepting a message to this gateway emitting it to the receiver',
      buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    rateLimited: new Counter({
      name: 'chat_rate_limited_total',
      help: 'Events, requests and connections refused for a limit (RATE_LIMITED), by limit',
      labelNames: ['limit'] as const,
      registers: [registry],
    }),
    events: new Counter({
      name: 'chat_socket_events_total',
      help: 'Client events handled, by event and outcome (ok or the error code)',
      labelNames: ['event', 'outcome'] as const,
      registers: [registry],
    }),
    eventSeconds: new Histogram({
      name: 'chat_socket_event_duration_seconds',
      help: 'Time to handle a client event until its ack, by event',
      labelNames: ['event'] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
      registers: [registry],
    }),
  };
}
export type GatewayMetrics = ReturnType<typeof createGatewayMetrics>;

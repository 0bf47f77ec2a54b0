import { Counter, createMetricsRegistry, type Registry } from '@chat/telemetry';

/** The uploads service's Prometheus metrics. */
export function createUploadsMetrics() {
  const registry: Registry = createMetricsRegistry('uploads');
  return {
    registry,
    uploads: new Counter({
      name: 'chat_uploads_total',
      help: 'Uploads answered, by outcome (stored, or the error code that refused them)',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    uploadedBytes: new Counter({
      name: 'chat_uploaded_bytes_total',
      help: 'Bytes of the files stored',
      registers: [registry],
    }),
  };
}

import { NodeSDK } from '@opentelemetry/sdk-node';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { MongoDBInstrumentation } from '@opentelemetry/instrumentation-mongodb';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { FastifyOtelInstrumentation } from '@fastify/otel';
import { markTracingStarted } from './spans.ts';

type Env = Record<string, string | undefined>;

/** Tracing is on when an exporter is configured the standard way, and off otherwise (no cost, no spans). */
export function tracingConfigured(env: Env = process.env): boolean {
  if (env.OTEL_SDK_DISABLED === 'true') return false;
  const exporter = env.OTEL_TRACES_EXPORTER;
  if (exporter !== undefined) return exporter.trim() !== '' && exporter !== 'none';
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

export interface Tracing {
  readonly enabled: boolean;
  /** Flushes what is buffered and stops exporting. */
  shutdown(): Promise<void>;
}

/**
 * Starts the OpenTelemetry SDK for a service: exporter, endpoint, protocol and sampling from the standard `OTEL_*`
 * variables; W3C trace context; the official http, fastify, mongodb and ioredis instrumentations. Call it before
 * the service's modules are imported, so the instrumentations can patch them as they load.
 */
export function startTracing(serviceName: string, env: Env = process.env): Tracing {
  if (!tracingConfigured(env)) return { enabled: false, shutdown: async () => undefined };
  // Metrics go to Prometheus (/metrics) and logs to stdout: the SDK exports traces only unless told otherwise.
  env.OTEL_METRICS_EXPORTER ??= 'none';
  env.OTEL_LOGS_EXPORTER ??= 'none';
  const sdk = new NodeSDK({
    serviceName: env.OTEL_SERVICE_NAME ?? serviceName,
    instrumentations: [
      new HttpInstrumentation(),
      new FastifyOtelInstrumentation({ registerOnInitialization: true }),
      new MongoDBInstrumentation(),
      new IORedisInstrumentation(),
    ],
  });
  sdk.start();
  markTracingStarted();
  return { enabled: true, shutdown: () => sdk.shutdown() };
}

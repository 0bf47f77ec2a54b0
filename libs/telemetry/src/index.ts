export { startTracing, tracingConfigured } from './tracing.ts';
export type { Tracing } from './tracing.ts';
export { activeTraceIds, inSpan, SpanKind, tracer, tracingActive } from './spans.ts';
export { createMetricsRegistry, startOpsServer } from './ops-server.ts';
export { requestCounter } from './request-counter.ts';
export type { RpcOutcome } from './request-counter.ts';
export type { OpsServer, ReadinessCheck } from './ops-server.ts';
export { Counter, Gauge, Histogram, type Registry } from 'prom-client';

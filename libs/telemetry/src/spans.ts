import {
  context,
  INVALID_SPAN_CONTEXT,
  propagation,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Link,
  type Span,
} from '@opentelemetry/api';

export const tracer = trace.getTracer('realtime-chat');

export { SpanKind };

let sdkStarted = false;

/** Called by `startTracing` once the SDK runs. */
export function markTracingStarted(): void {
  sdkStarted = true;
}

/**
 * Whether spans are recorded or trace context is carried: the SDK runs (`startTracing`, which also registers the
 * W3C propagator), or a propagator is registered by hand. Neither: `inSpan` and the bus's trace headers are
 * skipped, since OpenTelemetry's no-op spans, contexts and headers still cost their allocations on every message
 * (~3 % of the gateway's busy time in its profile, docs/benchmarks.md).
 */
export function tracingActive(): boolean {
  return sdkStarted || propagation.fields().length > 0;
}

/** What `work` gets while tracing is off: records nothing. */
const NO_SPAN = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

/**
 * Runs `work` in a new span, active for everything it awaits; the span records an exception and ends when
 * `work` settles. A failure's `code` (a ChatError's, e.g. `NOT_PARTICIPANT`), else its message, is the span's
 * status message.
 */
export async function inSpan<T>(
  name: string,
  options: { kind?: SpanKind; attributes?: Attributes; parent?: ReturnType<typeof context.active>; links?: Link[] },
  work: (span: Span) => Promise<T> | T,
): Promise<T> {
  if (!tracingActive()) return work(NO_SPAN);
  const parent = options.parent ?? context.active();
  const span = tracer.startSpan(
    name,
    {
      kind: options.kind ?? SpanKind.INTERNAL,
      ...(options.attributes ? { attributes: options.attributes } : {}),
      ...(options.links ? { links: options.links } : {}),
    },
    parent,
  );
  try {
    return await context.with(trace.setSpan(parent, span), () => work(span));
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    span.recordException(error as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: typeof code === 'string' ? code : (error as Error).message });
    throw error;
  } finally {
    span.end();
  }
}

/** The active trace and span ids, for log lines. */
export function activeTraceIds(): { trace_id: string; span_id: string } | undefined {
  const spanContext = trace.getSpan(context.active())?.spanContext();
  if (!spanContext || !trace.isSpanContextValid(spanContext)) return undefined;
  return { trace_id: spanContext.traceId, span_id: spanContext.spanId };
}

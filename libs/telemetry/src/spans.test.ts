import { afterEach, describe, expect, it } from 'vitest';
import { context, propagation, SpanStatusCode, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { inSpan, tracingActive } from './spans.ts';

afterEach(() => {
  trace.disable();
  propagation.disable();
  context.disable();
});

/** What the SDK registers in a service (tracing.ts): a tracer provider and the W3C propagator. */
function register(): { exporter: InMemorySpanExporter; provider: TracerProvider } {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  trace.setGlobalTracerProvider(provider);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  return { exporter, provider };
}

describe('inSpan', () => {
  it('with tracing on, records a span with its attributes, and a failure as its status', async () => {
    const { exporter, provider } = register();
    expect(tracingActive()).toBe(true);
    await expect(inSpan('works', { attributes: { 'chat.test': 1 } }, async (span) => span.isRecording())).resolves.toBe(true);
    const failure = Object.assign(new Error('no'), { code: 'NOT_PARTICIPANT' });
    await expect(
      inSpan('fails', {}, async () => {
        throw failure;
      }),
    ).rejects.toBe(failure);
    await provider.forceFlush();
    const spans = exporter.getFinishedSpans();
    expect(spans.map((span) => span.name)).toEqual(['works', 'fails']);
    expect(spans[0]!.attributes).toEqual({ 'chat.test': 1 });
    expect(spans[1]!.status).toEqual({ code: SpanStatusCode.ERROR, message: 'NOT_PARTICIPANT' });
  });

  it('with tracing off, runs the work with a span that records nothing, and passes its result and failure on', async () => {
    expect(tracingActive()).toBe(false);
    await expect(inSpan('works', {}, async (span) => [span.isRecording(), span.spanContext().traceFlags])).resolves.toEqual([false, 0]);
    await expect(inSpan('sync', {}, () => 42)).resolves.toBe(42);
    const failure = new Error('no');
    await expect(
      inSpan('fails', {}, () => {
        throw failure;
      }),
    ).rejects.toBe(failure);
  });
});

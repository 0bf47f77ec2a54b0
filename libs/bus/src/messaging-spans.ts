import { context, SpanKind, trace, type Context, type Span } from '@opentelemetry/api';
import type { MsgHdrs } from '@nats-io/transport-node';
import { inSpan } from '@chat/telemetry';
import { headersWithTraceContext, traceContextOf } from './trace-context.ts';

/** OpenTelemetry messaging semantic conventions for NATS. */
function attributes(subject: string, template: string, operation: 'send' | 'process' | 'receive', size: number) {
  return {
    'messaging.system': 'nats',
    'messaging.destination.name': subject,
    'messaging.destination.template': template,
    'messaging.operation.type': operation,
    'messaging.operation.name': operation === 'send' ? 'publish' : operation,
    'messaging.message.body.size': size,
  };
}

/** Where a span's message goes: its subject, and the subject's template (the span's name: no ids in it). */
export interface SpanTarget {
  readonly subject: string;
  readonly template: string;
}

/** Runs a publish in a PRODUCER span and hands it headers carrying that span's context (none while tracing is off). */
export function publishSpan<T>(
  channel: SpanTarget,
  size: number,
  publish: (headers: MsgHdrs | undefined, span: Span) => Promise<T> | T,
  extraHeaders?: Record<string, string>,
): Promise<T> {
  return inSpan(
    `publish ${channel.template}`,
    { kind: SpanKind.PRODUCER, attributes: attributes(channel.subject, channel.template, 'send', size) },
    (span) => publish(headersWithTraceContext(extraHeaders), span),
  );
}

/** Runs the handling of a received message in a CONSUMER span, child of the context its headers carry. */
export function processSpan<T>(
  subject: string,
  template: string,
  headers: MsgHdrs | undefined,
  size: number,
  work: () => Promise<T>,
): Promise<T> {
  const parent: Context = traceContextOf(headers);
  return inSpan(
    `process ${template}`,
    { kind: SpanKind.CONSUMER, attributes: attributes(subject, template, 'process', size), parent },
    () => work(),
  );
}

export { context };

/**
 * Runs the handling of a batch in one CONSUMER span: child of the first message's trace, linked to the
 * others', so that each message's trace still reaches the work done for it.
 */
export function processBatchSpan<T>(
  messages: ReadonlyArray<{ subject: string; headers?: MsgHdrs | undefined; data: Uint8Array }>,
  template: string,
  work: () => Promise<T>,
): Promise<T> {
  const [first, ...rest] = messages;
  const links = rest
    .map((msg) => trace.getSpanContext(traceContextOf(msg.headers)))
    .filter((spanContext) => spanContext !== undefined && trace.isSpanContextValid(spanContext))
    .map((spanContext) => ({ context: spanContext! }));
  const size = messages.reduce((sum, msg) => sum + msg.data.length, 0);
  return inSpan(
    `process ${template}`,
    {
      kind: SpanKind.CONSUMER,
      attributes: {
        ...attributes(first?.subject ?? template, template, 'process', size),
        'messaging.batch.message_count': messages.length,
      },
      parent: traceContextOf(first?.headers),
      ...(links.length > 0 ? { links } : {}),
    },
    () => work(),
  );
}

import { context, propagation, SpanKind, trace, type Context, type Span } from '@opentelemetry/api';
import type { MsgHdrs } from '@nats-io/transport-node';
import { inSpan } from '@chat/telemetry';
import type { Channel } from '@chat/contracts';
import { headersWithTraceContext, traceContextOf } from './trace-context.ts';

/** OpenTelemetry messaging semantic conventions for NATS. */
function attributes(subject: string, template: string | undefined, operation: 'send' | 'process' | 'receive', size: number) {
  return {
    'messaging.system': 'nats',
    'messaging.destination.name': subject,
    ...(template === undefined ? {} : { 'messaging.destination.template': template }),
    'messaging.operation.type': operation,
    'messaging.operation.name': operation === 'send' ? 'publish' : operation,
    'messaging.message.body.size': size,
  };
}

const label = (channel: Pick<Channel<unknown>, 'subject' | 'name'>) => channel.name ?? channel.subject;

/** Runs a publish in a PRODUCER span and hands it headers carrying that span's context. */
export function publishSpan<T>(
  channel: Pick<Channel<unknown>, 'subject' | 'name'>,
  size: number,
  publish: (headers: MsgHdrs, span: Span) => Promise<T> | T,
  extraHeaders?: Record<string, string>,
): Promise<T> {
  return inSpan(
    `publish ${label(channel)}`,
    { kind: SpanKind.PRODUCER, attributes: attributes(channel.subject, channel.name, 'send', size) },
    (span) => publish(headersWithTraceContext(extraHeaders), span),
  );
}

/** Runs the handling of a received message in a CONSUMER span, child of the context its headers carry. */
export function processSpan<T>(
  subject: string,
  template: string | undefined,
  headers: MsgHdrs | undefined,
  size: number,
  work: () => Promise<T>,
): Promise<T> {
  const parent: Context = traceContextOf(headers);
  return inSpan(
    `process ${template ?? subject}`,
    { kind: SpanKind.CONSUMER, attributes: attributes(subject, template, 'process', size), parent },
    () => work(),
  );
}

export { context, propagation, trace };

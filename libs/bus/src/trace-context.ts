import { context, propagation, type Context, type TextMapGetter, type TextMapSetter } from '@opentelemetry/api';
import { headers as createHeaders, type MsgHdrs } from '@nats-io/transport-node';
import { tracingActive } from '@chat/telemetry';

/**
 * W3C trace context (`traceparent`, `tracestate`, `baggage`) in NATS headers, through whatever propagator
 * the process registered with OpenTelemetry (none registered: nothing is written or read).
 */
const setter: TextMapSetter<MsgHdrs> = {
  set: (carrier, key, value) => carrier.set(key, value),
};

const getter: TextMapGetter<MsgHdrs | undefined> = {
  get: (carrier, key) => carrier?.get(key) || undefined,
  keys: (carrier) => (carrier ? carrier.keys() : []),
};

/** Headers carrying the active trace context, plus any extra headers given; none when there is nothing to carry. */
export function headersWithTraceContext(extra: Record<string, string> = {}, ctx: Context = context.active()): MsgHdrs | undefined {
  const tracing = tracingActive();
  if (!tracing && Object.keys(extra).length === 0) return undefined;
  const hdrs = createHeaders();
  for (const [key, value] of Object.entries(extra)) hdrs.set(key, value);
  if (tracing) propagation.inject(ctx, hdrs, setter);
  return hdrs;
}

/** The trace context a message carries, to run its handler in. */
export function traceContextOf(hdrs: MsgHdrs | undefined): Context {
  // Not even the headers are decoded while tracing is off.
  if (!tracingActive()) return context.active();
  return propagation.extract(context.active(), hdrs, getter);
}

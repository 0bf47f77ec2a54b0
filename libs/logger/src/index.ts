import { context, trace } from '@opentelemetry/api';
import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

export interface LoggerConfig {
  service: string;
  level: string;
  /** Pretty, coloured lines for people; JSON for log collectors. Defaults to pretty outside production. */
  pretty?: boolean;
}

/** One logger per process; components take `logger.child({ component })`. */
export function createLogger({ service, level, pretty }: LoggerConfig): Logger {
  const options: LoggerOptions = {
    name: service,
    level,
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: ['token', '*.token', 'authorization', '*.authorization'], censor: '[redacted]' },
    // Every line written inside a span names it, so logs and traces join up.
    mixin() {
      const spanContext = trace.getSpan(context.active())?.spanContext();
      if (!spanContext || !trace.isSpanContextValid(spanContext)) return {};
      return { trace_id: spanContext.traceId, span_id: spanContext.spanId };
    },
  };
  if (pretty) {
    return pino({
      ...options,
      transport: {
        target: 'pino-pretty',
        options: { colorize: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname,service', messageFormat: '{msg}' },
      },
    });
  }
  return pino(options);
}

import { z } from 'zod';
import { NamespaceSchema } from '@chat/contracts';

/** Reusable environment variable parsers, so every service reads the same variable the same way. */

export const port = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);

export const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export const url = (protocols: readonly string[]) =>
  z.url({
    protocol: new RegExp(`^(${protocols.map(escape).join('|')})$`),
    error: `must be a ${protocols.join(' or ')} URL`,
  });

/** A comma-separated list of URLs, for clients that accept several servers. */
export const urlList = (protocols: readonly string[], fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((value) => value.split(',').map((part) => part.trim()).filter(Boolean))
    .pipe(z.array(url(protocols)).min(1));

export const logLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info');

export const nodeEnv = z.enum(['development', 'production', 'test']).default('development');

/** What every service on the bus needs. */
export const busEnv = {
  NATS_URL: urlList(['nats', 'tls', 'ws', 'wss'], 'nats://127.0.0.1:4222'),
  /** Prefix of every subject and stream, so several deployments or test runs can share one NATS. */
  CHAT_NAMESPACE: NamespaceSchema.default('chat'),
  LOG_LEVEL: logLevel,
  /** `pretty` for people, `json` for collectors; unset: pretty outside production. */
  LOG_FORMAT: z.enum(['pretty', 'json']).optional(),
  NODE_ENV: nodeEnv,
};

/** Whether logs should be pretty, from `LOG_FORMAT` and `NODE_ENV`. */
export const prettyLogs = (config: { LOG_FORMAT?: 'pretty' | 'json' | undefined; NODE_ENV: string }): boolean =>
  config.LOG_FORMAT ? config.LOG_FORMAT === 'pretty' : config.NODE_ENV === 'development';

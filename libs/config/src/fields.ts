import { z } from 'zod';
import { NamespaceSchema } from '@chat/contracts';

/** Reusable environment variable parsers, so every service reads the same variable the same way. */

export const port = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);

export const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

export const nonNegativeInt = (fallback: number) => z.coerce.number().int().min(0).default(fallback);

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export const url = (protocols: readonly string[]) =>
  z.url({
    protocol: new RegExp(`^(${protocols.map(escapeRegExp).join('|')})$`),
    error: `must be a ${protocols.join(' or ')} URL`,
  });

/** A comma-separated list of URLs, for clients that accept several servers. */
export const urlList = (protocols: readonly string[], fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((value) =>
      value
        .split(',')
        .map((part) => part.trim())
        .filter(Boolean),
    )
    .pipe(z.array(url(protocols)).min(1));

export const logLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info');

export const nodeEnv = z.enum(['development', 'production', 'test']).default('development');

/** What every service on the bus needs. */
export const busEnv = {
  NATS_URL: urlList(['nats', 'tls', 'ws', 'wss'], 'nats://127.0.0.1:4222'),
  /** Prefix of every subject and stream, so several deployments or test runs can share one NATS. */
  CHAT_NAMESPACE: NamespaceSchema.default('chat'),
  /** Copies JetStream keeps of each stream: 3 on a NATS cluster of 3 or more, 1 on a single server. */
  NATS_STREAM_REPLICAS: z.coerce.number().int().min(1).max(5).default(1),
  // How this service proves who it is to NATS: at most one of a .creds file (JWT + NKey seed, decentralised
  // auth), an NKey seed, a user and password, a token. Unset: no credentials (a NATS open to its network).
  /** Path of a .creds file (the user JWT and its NKey seed, as `nsc` writes it). */
  NATS_CREDS: z.string().optional(),
  /** An NKey user seed (`SU…`), or the path of a file holding one. */
  NATS_NKEY_SEED: z.string().optional(),
  NATS_USER: z.string().optional(),
  NATS_PASSWORD: z.string().optional(),
  NATS_TOKEN: z.string().optional(),
  /** TLS: the CA that signed the server's certificate (path); any of the NATS_TLS_* (or a tls:// URL) turns TLS on. */
  NATS_TLS_CA: z.string().optional(),
  /** TLS client certificate and its key (paths), for servers that verify clients (`verify: true`). */
  NATS_TLS_CERT: z.string().optional(),
  NATS_TLS_KEY: z.string().optional(),
  LOG_LEVEL: logLevel,
  /** `pretty` for people, `json` for collectors; unset: pretty outside production. */
  LOG_FORMAT: z.enum(['pretty', 'json']).optional(),
  NODE_ENV: nodeEnv,
};

type NatsAuthEnv = Partial<
  Record<
    'NATS_CREDS' | 'NATS_NKEY_SEED' | 'NATS_USER' | 'NATS_PASSWORD' | 'NATS_TOKEN' | 'NATS_TLS_CA' | 'NATS_TLS_CERT' | 'NATS_TLS_KEY',
    string | undefined
  >
>;

/**
 * The refinement that goes with `busEnv`, in every service's schema (`.superRefine(...natsAuthRules)`): at most one way to authenticate, a user
 * with its password, a client certificate with its key. Each problem is reported with any other.
 */
const natsAuthProblems = (config: NatsAuthEnv, ctx: z.RefinementCtx): void => {
  const methods = (['NATS_CREDS', 'NATS_NKEY_SEED', 'NATS_USER', 'NATS_TOKEN'] as const).filter((key) => config[key]);
  if (methods.length > 1) {
    ctx.addIssue({
      code: 'custom',
      path: [methods[1]!],
      message: `set at most one of NATS_CREDS, NATS_NKEY_SEED, NATS_USER (with NATS_PASSWORD) and NATS_TOKEN; ${methods.join(' and ')} are set`,
    });
  }
  for (const [first, second] of [
    ['NATS_USER', 'NATS_PASSWORD'],
    ['NATS_TLS_CERT', 'NATS_TLS_KEY'],
  ] as const) {
    if (Boolean(config[first]) !== Boolean(config[second])) {
      ctx.addIssue({ code: 'custom', path: [config[first] ? second : first], message: `set both ${first} and ${second}, or neither` });
    }
  }
};

export const natsAuthRules: [typeof natsAuthProblems, { when: () => boolean }] = [natsAuthProblems, { when: () => true }];

/** The connection settings `Bus.connect` takes (`auth`), from a configuration parsed with `busEnv`. */
export const natsAuth = (config: NatsAuthEnv) => ({
  ...(config.NATS_CREDS ? { credsFile: config.NATS_CREDS } : {}),
  ...(config.NATS_NKEY_SEED ? { nkeySeed: config.NATS_NKEY_SEED } : {}),
  ...(config.NATS_USER && config.NATS_PASSWORD ? { user: config.NATS_USER, password: config.NATS_PASSWORD } : {}),
  ...(config.NATS_TOKEN ? { token: config.NATS_TOKEN } : {}),
  ...(config.NATS_TLS_CA || config.NATS_TLS_CERT
    ? {
        tls: {
          ...(config.NATS_TLS_CA ? { caFile: config.NATS_TLS_CA } : {}),
          ...(config.NATS_TLS_CERT && config.NATS_TLS_KEY ? { certFile: config.NATS_TLS_CERT, keyFile: config.NATS_TLS_KEY } : {}),
        },
      }
    : {}),
});

/** Whether logs should be pretty, from `LOG_FORMAT` and `NODE_ENV`. */
export const prettyLogs = (config: { LOG_FORMAT?: 'pretty' | 'json' | undefined; NODE_ENV: string }): boolean =>
  config.LOG_FORMAT ? config.LOG_FORMAT === 'pretty' : config.NODE_ENV === 'development';

/**
 * The operations port (/healthz, /readyz, /metrics) and how long a stopping service keeps serving while it is
 * reported not ready, so that load balancers stop sending it work first.
 */
export const opsEnv = (defaultOpsPort: number) => ({
  OPS_PORT: port(defaultOpsPort),
  /**
   * The ops port's listen address. All interfaces by default: in a container or pod that is how Prometheus and
   * the kubelet reach it, and the network namespace is the boundary. On a shared host, 127.0.0.1 (or a private
   * interface) keeps /metrics to that host.
   */
  OPS_HOST: z.string().min(1).default('0.0.0.0'),
  /** Unset: 5 s in production (endpoint removal takes a moment in Kubernetes), none elsewhere. */
  SHUTDOWN_DELAY_MS: z.coerce.number().int().min(0).max(120_000).optional(),
  /**
   * How long the stop after the delay may take: its steps share it, and a stop that overruns it is cut short
   * (exit 1). SHUTDOWN_DELAY_MS + SHUTDOWN_TIMEOUT_MS must stay under the orchestrator's grace period (30 s).
   */
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(1000).max(600_000).default(20_000),
});

/** The shutdown delay in force for a parsed configuration. */
export const shutdownDelayMs = (config: { SHUTDOWN_DELAY_MS?: number | undefined; NODE_ENV: string }): number =>
  config.SHUTDOWN_DELAY_MS ?? (config.NODE_ENV === 'production' ? 5000 : 0);

/** JWT verification, for every service that authenticates requests itself. Use with `exactlyOneJwtKey`. */
export const jwtEnv = {
  /** HS256 secret; or JWT_JWKS_URL for RS256/ES256. Exactly one of the two. */
  JWT_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
  JWT_JWKS_URL: url(['http', 'https']).optional(),
  JWT_ISSUER: z.string().optional(),
  JWT_AUDIENCE: z.string().optional(),
};

/** The refinement that goes with `jwtEnv`: exactly one of JWT_SECRET and JWT_JWKS_URL, reported with any other problem. */
export const exactlyOneJwtKey: [
  (config: { JWT_SECRET?: string | undefined; JWT_JWKS_URL?: string | undefined }) => boolean,
  { path: string[]; message: string; when: () => boolean },
] = [
  (config) => Boolean(config.JWT_SECRET) !== Boolean(config.JWT_JWKS_URL),
  { path: ['JWT_SECRET'], message: 'set exactly one of JWT_SECRET (HS256) and JWT_JWKS_URL (RS256/ES256)', when: () => true },
];

/**
 * A refinement for two variables that only make sense together (a user and its password hash, a key id and its
 * secret): both set or neither, reported with any other problem.
 */
export const bothOrNeither = <K extends string>(
  first: K,
  second: K,
): [(config: Partial<Record<K, unknown>>) => boolean, { path: string[]; message: string; when: () => boolean }] => [
  (config) => Boolean(config[first]) === Boolean(config[second]),
  { path: [second], message: `set both ${first} and ${second}, or neither`, when: () => true },
];

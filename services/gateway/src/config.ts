import { z } from 'zod';

const flag = z.enum(['true', 'false']).transform((value) => value === 'true');
import { DEFAULT_MESSAGE_PARTITIONS, DEFAULT_PRESENCE_HEARTBEAT_MS } from '@chat/contracts';
import { RateLimitsSettingSchema } from './limits/policy.ts';
import {
  bothOrNeither,
  busEnv,
  natsAuthRules,
  exactlyOneJwtKey,
  headersWithinRequest,
  httpTimeoutsEnv,
  jwtEnv,
  loadConfig,
  opsEnv,
  nonNegativeInt,
  port,
  positiveInt,
  url,
} from '@chat/config';

export const GatewayConfigSchema = z
  .object({
    ...busEnv,
    ...opsEnv(9101),
    SOCKET_PORT: port(4000),
    HOST: z.string().default('0.0.0.0'),
    /** REST requests; the upload route gets UPLOAD_REQUEST_TIMEOUT_MS instead. */
    ...httpTimeoutsEnv(30_000),
    /** An upload (headers and the whole file) that has not all arrived by then is cut off: MAX_FILE_SIZE on a slow link. */
    UPLOAD_REQUEST_TIMEOUT_MS: positiveInt(120_000),
    /**
     * `/docs` (the OpenAPI UI) and `/openapi.json`. On by default, as before; `false` in production is
     * recommended: they describe only the public API, but there is no reason to serve them to everyone.
     */
    API_DOCS_ENABLED: flag.default(true),
    /**
     * Allowed browser origins, comma-separated; `*` allows any (the spec's default), without credentials. Listed
     * origins get credentialed CORS answers, and Socket.IO connections from other origins are refused.
     */
    CLIENT_URL: z
      .string()
      .default('*')
      .transform((value) =>
        value
          .split(',')
          .map((part) => part.trim())
          .filter(Boolean),
      )
      .pipe(z.array(z.union([z.literal('*'), url(['http', 'https'])])).min(1)),
    ...jwtEnv,
    /** A socket that has not authenticated within this time is disconnected. */
    AUTH_TIMEOUT_MS: positiveInt(10_000),
    /** How long a `send_message` ack waits for the stored message. */
    SEND_ACK_TIMEOUT_MS: positiveInt(10_000),
    /** Messages a user may send per minute (all gateways together, with REDIS_URL), after a burst of SEND_RATE_BURST. */
    SEND_RATE_PER_MINUTE: positiveInt(120),
    SEND_RATE_BURST: positiveInt(20),
    /** Overrides of the limit policy (README, "Limits"): a JSON object by limit name. */
    RATE_LIMITS: RateLimitsSettingSchema,
    /**
     * Where per-user limits are counted for all gateways together (the presence service's Redis will do). Unset,
     * or while it does not answer, each gateway counts on its own.
     */
    REDIS_URL: url(['redis', 'rediss']).optional(),
    /**
     * How often per-user counts are shared through Redis: between two, each event is decided by this gateway's
     * count (a user on several gateways at once may get up to each one's allowance meanwhile). 0: every event is
     * counted in Redis before it is allowed (exact, a round trip per event).
     */
    RATE_LIMIT_SYNC_MS: nonNegativeInt(100),
    /** Sockets one user may hold on one gateway; more are refused (`RATE_LIMITED`). */
    MAX_SOCKETS_PER_USER: positiveInt(20),
    /** Sockets from one address that have not authenticated yet, on one gateway; more are refused. */
    MAX_UNAUTHENTICATED_SOCKETS_PER_ADDRESS: positiveInt(100),
    /** Largest Socket.IO packet; larger ones close the connection (a text is at most 4,000 characters). */
    SOCKET_MAX_PAYLOAD_BYTES: positiveInt(2 * 1024 * 1024),
    /** The Socket.IO Admin UI (`/admin` namespace, UI at `/admin-ui/`): on when both are set. */
    SOCKET_ADMIN_UI_USERNAME: z.string().min(1).optional(),
    /** A bcrypt hash (see the README), never the password itself. */
    SOCKET_ADMIN_UI_PASSWORD_HASH: z
      .string()
      .regex(/^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$/, 'must be a bcrypt hash')
      .optional(),
    /** Must equal the messages service's value. */
    MESSAGE_PARTITIONS: z.coerce.number().int().min(1).max(1024).default(DEFAULT_MESSAGE_PARTITIONS),
    /** How often to tell the presence service this gateway is alive (well under its PRESENCE_GATEWAY_TTL_MS). */
    PRESENCE_HEARTBEAT_MS: positiveInt(DEFAULT_PRESENCE_HEARTBEAT_MS),
    /** The uploads service, which `POST /api/common/upload` and downloads are streamed to. */
    UPLOADS_URL: url(['http', 'https']).default('http://127.0.0.1:4300'),
  })
  .superRefine(...natsAuthRules)
  .refine(...exactlyOneJwtKey)
  .refine(...headersWithinRequest)
  .refine(...bothOrNeither('SOCKET_ADMIN_UI_USERNAME', 'SOCKET_ADMIN_UI_PASSWORD_HASH'));
export type GatewayConfig = z.output<typeof GatewayConfigSchema>;

export const loadGatewayConfig = (env?: Record<string, string | undefined>): GatewayConfig =>
  loadConfig('gateway', GatewayConfigSchema, env);

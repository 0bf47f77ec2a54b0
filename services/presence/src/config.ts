import { z } from 'zod';
import { DEFAULT_PRESENCE_GATEWAY_TTL_MS } from '@chat/contracts';
import { busEnv, natsAuthRules, loadConfig, opsEnv, positiveInt, url } from '@chat/config';

export const PresenceConfigSchema = z
  .object({
    ...busEnv,
    ...opsEnv(9103),
    REDIS_URL: url(['redis', 'rediss']).default('redis://127.0.0.1:6379'),
    /** Prefix of every Redis key; unset: `<CHAT_NAMESPACE>:presence:`, so deployments can share a Redis. */
    PRESENCE_KEY_PREFIX: z
      .string()
      .regex(/^[A-Za-z0-9:._-]{1,100}$/, 'must be 1-100 letters, digits, ":", ".", "_" or "-"')
      .optional(),
    /** A gateway that has not heartbeaten for this long has its connections expired. */
    PRESENCE_GATEWAY_TTL_MS: positiveInt(DEFAULT_PRESENCE_GATEWAY_TTL_MS),
    /** How often to look for silent gateways. */
    PRESENCE_SWEEP_INTERVAL_MS: positiveInt(2_000),
  })
  .superRefine(...natsAuthRules)
  .transform(({ PRESENCE_KEY_PREFIX, ...config }) => ({
    ...config,
    PRESENCE_KEY_PREFIX: PRESENCE_KEY_PREFIX ?? `${config.CHAT_NAMESPACE}:presence:`,
  }));
export type PresenceConfig = z.output<typeof PresenceConfigSchema>;

export const loadPresenceConfig = (env?: Record<string, string | undefined>): PresenceConfig =>
  loadConfig('presence', PresenceConfigSchema, env);

import { z } from 'zod';

/**
 * What a client may do how often: one table for every event and route that costs the system something. Each
 * limit is per user (shared by all of the user's sockets, on every gateway, through Redis) or per socket
 * (typing, invalid events: nothing to share). `perMinute` is the steady rate; `burst` is how many may come at
 * once (the steady rate included). Over it, the client is answered `RATE_LIMITED`; a socket past its `invalid_event` limit is
 * disconnected.
 */
export const LIMIT_NAMES = [
  'send_message',
  'mark_as_read',
  'join_conversation',
  'get_online_status',
  'sync_messages',
  'typing',
  'invalid_event',
  'rest_read',
  'conversation_create',
] as const;
export type LimitName = (typeof LIMIT_NAMES)[number];

export interface Limit {
  perMinute: number;
  burst: number;
  per: 'user' | 'socket';
}

/** The defaults (README, "Limits"): generous for people, tight for scripts. */
const DEFAULT_LIMITS: Record<LimitName, Limit> = {
  // Overridden by SEND_RATE_PER_MINUTE / SEND_RATE_BURST (the settings of the first version).
  send_message: { perMinute: 120, burst: 20, per: 'user' },
  // Each read and join is a command or a lookup: a reader scrolling fast sends a few a second at most.
  mark_as_read: { perMinute: 120, burst: 30, per: 'user' },
  join_conversation: { perMinute: 120, burst: 30, per: 'user' },
  // Each a NATS request to presence or the store.
  get_online_status: { perMinute: 60, burst: 20, per: 'user' },
  sync_messages: { perMinute: 60, burst: 20, per: 'user' },
  typing: { perMinute: 600, burst: 20, per: 'socket' },
  invalid_event: { perMinute: 30, burst: 20, per: 'socket' },
  // REST: the conversation list and history pages; conversations created.
  rest_read: { perMinute: 120, burst: 30, per: 'user' },
  conversation_create: { perMinute: 10, burst: 20, per: 'user' },
};

const LimitOverrideSchema = z.strictObject({
  perMinute: z.number().int().positive().optional(),
  burst: z.number().int().min(0).optional(),
});

/** `RATE_LIMITS`: a JSON object of overrides by limit name, e.g. `{"mark_as_read":{"perMinute":60}}`. */
export const RateLimitsSettingSchema = z
  .string()
  .default('{}')
  .transform((text, ctx) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be a JSON object of limits by name' });
      return z.NEVER;
    }
  })
  .pipe(z.partialRecord(z.enum(LIMIT_NAMES), LimitOverrideSchema));
export type RateLimitOverrides = z.output<typeof RateLimitsSettingSchema>;

/** The fields that are set (an override leaves the others as they are). */
const definedOnly = <T extends object>(fields: T) =>
  Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as { [K in keyof T]-?: Exclude<T[K], undefined> };

/** The table in force: the defaults, the send settings, then `RATE_LIMITS`. */
export function limitPolicy(overrides: RateLimitOverrides, send: { perMinute: number; burst: number }): Record<LimitName, Limit> {
  const policy = { ...DEFAULT_LIMITS, send_message: { ...DEFAULT_LIMITS.send_message, ...send } };
  for (const name of LIMIT_NAMES) {
    const override = overrides[name];
    if (override) policy[name] = { ...policy[name], ...definedOnly(override) };
  }
  return policy;
}

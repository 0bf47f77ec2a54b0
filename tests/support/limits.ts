import { LIMIT_NAMES } from '@chat/gateway';

/**
 * Settings that lift the gateway's limits: for load, chaos and tests that send as fast as they can (the limits
 * themselves are tested in tests/e2e/limits.test.ts). The send limit is lifted through its own settings, so a
 * test can still set those; typing keeps its limit (a per-socket flood guard its own test relies on).
 */
export const NO_LIMITS: Record<string, string> = {
  SEND_RATE_PER_MINUTE: '6000000',
  SEND_RATE_BURST: '100000',
  RATE_LIMITS: JSON.stringify(
    Object.fromEntries(
      LIMIT_NAMES.filter((name) => name !== 'send_message' && name !== 'typing').map((name) => [
        name,
        { perMinute: 6_000_000, burst: 100_000 },
      ]),
    ),
  ),
};

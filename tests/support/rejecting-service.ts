/**
 * A service process whose code leaves a promise rejection unhandled once it is running (as a library's
 * unchecked promise did in the gateway): `tests/e2e/unhandled-rejection.test.ts` checks that it keeps serving.
 */
import { runService } from '@chat/runtime';

await runService({
  name: 'rejecting',
  loadConfig: () => ({ LOG_LEVEL: 'info', LOG_FORMAT: 'json' as const, NODE_ENV: 'test', OPS_PORT: 0 }),
  start: async (_config, logger) => {
    setTimeout(() => {
      logger.info('about to leave a rejection unhandled');
      void Promise.reject(new Error('nobody handles this'));
    }, 0);
    return { stop: async () => undefined };
  },
});

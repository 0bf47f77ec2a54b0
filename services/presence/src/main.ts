import { runService } from '@chat/runtime';
import { loadPresenceConfig } from './config.ts';

// The service's modules load after tracing starts, so its instrumentations can patch them.
await runService({
  name: 'presence',
  loadConfig: loadPresenceConfig,
  start: async (config, logger) => (await import('./service.ts')).startPresenceService(config, logger),
});

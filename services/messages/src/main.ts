import { runService } from '@chat/runtime';
import { loadMessagesConfig } from './config.ts';

// The service's modules load after tracing starts, so its instrumentations can patch them.
await runService({
  name: 'messages',
  loadConfig: loadMessagesConfig,
  start: async (config, logger) => (await import('./service.ts')).startMessagesService(config, logger),
});

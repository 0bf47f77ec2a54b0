import { runService } from '@chat/runtime';
import { loadUploadsConfig } from './config.ts';

// The service's modules load after tracing starts, so its instrumentations can patch them.
await runService({
  name: 'uploads',
  loadConfig: loadUploadsConfig,
  start: async (config, logger) => (await import('./service.ts')).startUploadsService(config, logger),
});

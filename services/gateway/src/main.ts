import { runService } from '@chat/runtime';
import { loadGatewayConfig } from './config.ts';

// The service's modules load after tracing starts, so its instrumentations can patch them.
await runService({
  name: 'gateway',
  loadConfig: loadGatewayConfig,
  start: async (config, logger) => (await import('./server.ts')).startGateway(config, logger),
});

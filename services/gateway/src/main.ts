import { ConfigError, prettyLogs } from '@chat/config';
import { createLogger } from '@chat/logger';
import { loadGatewayConfig } from './config.ts';
import { startGateway } from './server.ts';

let config;
try {
  config = loadGatewayConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  process.exit(78); // EX_CONFIG
}

const logger = createLogger({ service: 'gateway', level: config.LOG_LEVEL, pretty: prettyLogs(config) });

try {
  const gateway = await startGateway(config, logger);
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    gateway.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
} catch (error) {
  logger.fatal({ err: error }, (error as Error).message);
  setTimeout(() => process.exit(1), 100);
}

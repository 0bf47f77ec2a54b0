import { ConfigError, prettyLogs } from '@chat/config';
import { createLogger } from '@chat/logger';
import { loadMessagesConfig } from './config.ts';
import { startMessagesService } from './service.ts';

let config;
try {
  config = loadMessagesConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  process.exit(78); // EX_CONFIG
}

const logger = createLogger({ service: 'messages', level: config.LOG_LEVEL, pretty: prettyLogs(config) });

try {
  const service = await startMessagesService(config, logger);
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    service.stop().then(
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
  // Let the logger flush before exiting.
  setTimeout(() => process.exit(1), 100);
}

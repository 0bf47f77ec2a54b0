import { ConfigError, prettyLogs } from '@chat/config';
import { createLogger, type Logger } from '@chat/logger';

/** What every service's `main.ts` needs from its configuration. */
interface BaseConfig {
  LOG_LEVEL: string;
  LOG_FORMAT?: 'pretty' | 'json' | undefined;
  NODE_ENV: string;
}

export interface RunServiceOptions<C extends BaseConfig> {
  name: string;
  loadConfig: () => C;
  /** Starts the service; the result's `stop` is called on SIGINT/SIGTERM. */
  start: (config: C, logger: Logger) => Promise<{ stop(): Promise<void> }>;
}

/** EX_CONFIG from sysexits.h: the configuration is wrong, restarting will not help. */
const EXIT_CONFIG = 78;

/**
 * The whole life of a service process: configuration (exit 78 naming every problem), logger, start (exit 1 with
 * the reason), and a graceful stop on SIGINT/SIGTERM. Only `main.ts` files call this; nothing else handles signals.
 */
export async function runService<C extends BaseConfig>({ name, loadConfig, start }: RunServiceOptions<C>): Promise<void> {
  let config: C;
  try {
    config = loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(EXIT_CONFIG);
  }

  const logger = createLogger({ service: name, level: config.LOG_LEVEL, pretty: prettyLogs(config) });
  let service: { stop(): Promise<void> };
  try {
    service = await start(config, logger);
  } catch (error) {
    logger.fatal({ err: error }, (error as Error).message);
    // Give a pretty-printing transport a moment to flush.
    setTimeout(() => process.exit(1), 100);
    return;
  }

  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
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
}

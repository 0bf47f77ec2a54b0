import { ConfigError, prettyLogs, shutdownDelayMs } from '@chat/config';
import { createLogger, type Logger } from '@chat/logger';
import { createMetricsRegistry, startOpsServer, startTracing, type OpsServer, type ReadinessCheck, type Registry } from '@chat/telemetry';

/** What every service's `main.ts` needs from its configuration. */
interface BaseConfig {
  LOG_LEVEL: string;
  LOG_FORMAT?: 'pretty' | 'json' | undefined;
  NODE_ENV: string;
  /** No ops server when a service's configuration has no OPS_PORT. */
  OPS_PORT?: number | undefined;
  /** The ops port's listen address (default all interfaces). */
  OPS_HOST?: string | undefined;
  SHUTDOWN_DELAY_MS?: number | undefined;
  /** The stop's budget (default 20 s): a stop that overruns it is cut short. */
  SHUTDOWN_TIMEOUT_MS?: number | undefined;
}

/** A started service, as `runService` drives it. */
export interface RunningService {
  /** Stops taking new work, finishes what is in flight, closes connections; within SHUTDOWN_TIMEOUT_MS, or it is cut short. */
  stop(): Promise<void>;
  /** Served at /metrics on the ops port (default: the process's own metrics only). */
  metrics?: Registry;
  /** Each must resolve true for /readyz to answer 200. */
  readiness?: Record<string, ReadinessCheck>;
}

export interface RunServiceOptions<C extends BaseConfig> {
  name: string;
  loadConfig: () => C;
  /**
   * Starts the service. Import the service's modules inside (`await import('./service.ts')`), so that tracing is
   * set up before they load and its instrumentations can patch the libraries they use.
   */
  start: (config: C, logger: Logger) => Promise<RunningService>;
}

const DEFAULT_SHUTDOWN_TIMEOUT_MS = 20_000;

/** EX_CONFIG from sysexits.h: the configuration is wrong, restarting will not help. */
const EXIT_CONFIG = 78;

/**
 * The whole life of a service process: configuration (exit 78 naming every problem), tracing, logger, start
 * (exit 1 with the reason), the ops port, and a graceful stop on SIGINT/SIGTERM: not ready at once, then after
 * the shutdown delay the service finishes its work and exits, within SHUTDOWN_TIMEOUT_MS (else exit 1). A promise rejection nothing handles is logged at
 * error level and the service keeps serving. Only `main.ts` files call this; nothing else handles signals or
 * process-wide errors.
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

  const tracing = startTracing(name);
  const logger = createLogger({ service: name, level: config.LOG_LEVEL, pretty: prettyLogs(config) });
  // Last resort. Node ends the process on a promise rejection nothing handles; one library's unchecked promise
  // (the Admin UI's password check, fed a number) once took every connection of a gateway down with it. Such a
  // rejection belongs to one request gone wrong, not to the process's state, so it is logged at error level (to
  // be alerted on and fixed where it happens) and the service keeps serving. Uncaught exceptions still end it.
  process.on('unhandledRejection', (reason) => {
    logger.error({ err: reason }, 'unhandled promise rejection');
  });
  let service: RunningService;
  let ops: OpsServer | undefined;
  try {
    service = await start(config, logger);
    if (config.OPS_PORT !== undefined) {
      ops = await startOpsServer({
        port: config.OPS_PORT,
        ...(config.OPS_HOST === undefined ? {} : { host: config.OPS_HOST }),
        registry: service.metrics ?? createMetricsRegistry(name),
        checks: service.readiness ?? {},
      });
    }
  } catch (error) {
    logger.fatal({ err: error }, (error as Error).message);
    // Give a pretty-printing transport a moment to flush.
    setTimeout(() => process.exit(1), 100);
    return;
  }
  logger.info({ opsPort: ops?.port, tracing: tracing.enabled }, 'ready');

  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    ops?.markShuttingDown();
    const delay = shutdownDelayMs(config);
    logger.info({ signal, delayMs: delay }, 'shutting down');
    void (async () => {
      let code = 0;
      try {
        await new Promise((resolve) => setTimeout(resolve, delay));
        // Bounded, so that the process ends before the orchestrator's grace period does (SIGKILL, no logs).
        const budget = config.SHUTDOWN_TIMEOUT_MS ?? DEFAULT_SHUTDOWN_TIMEOUT_MS;
        let timer: NodeJS.Timeout | undefined;
        const finished = await Promise.race([
          service.stop().then(() => true),
          new Promise<false>((resolve) => {
            timer = setTimeout(() => resolve(false), budget);
          }),
        ]);
        clearTimeout(timer);
        if (!finished) {
          logger.error({ budgetMs: budget }, 'stop did not finish within SHUTDOWN_TIMEOUT_MS; exiting without it');
          code = 1;
        }
      } catch (error) {
        logger.error({ err: error }, 'shutdown failed');
        code = 1;
      }
      await ops?.close().catch(() => undefined);
      await tracing.shutdown().catch(() => undefined);
      process.exit(code);
    })();
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}

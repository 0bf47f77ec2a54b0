export { ConfigError, loadConfig } from './load-config.ts';
export { busEnv, logLevel, nodeEnv, opsEnv, port, positiveInt, prettyLogs, shutdownDelayMs, url, urlList } from './fields.ts';

export { ConfigError, loadConfig } from './load-config.ts';
export { busEnv, logLevel, nodeEnv, port, positiveInt, prettyLogs, url, urlList } from './fields.ts';

export { ConfigError, loadConfig } from './load-config.ts';
export {
  bothOrNeither,
  busEnv,
  exactlyOneJwtKey,
  jwtEnv,
  logLevel,
  natsAuth,
  natsAuthRules,
  nodeEnv,
  opsEnv,
  port,
  nonNegativeInt,
  positiveInt,
  prettyLogs,
  shutdownDelayMs,
  url,
  urlList,
} from './fields.ts';
export { headersWithinRequest, httpServerTimeouts, httpTimeoutsEnv } from './http-timeouts.ts';

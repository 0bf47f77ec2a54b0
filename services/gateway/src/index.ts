export { GatewayConfigSchema, loadGatewayConfig } from './config.ts';
export type { GatewayConfig } from './config.ts';
export { startGateway } from './server.ts';
export type { Gateway } from './server.ts';
export { LIMIT_NAMES } from './limits/policy.ts';
export type { LimitName } from './limits/policy.ts';

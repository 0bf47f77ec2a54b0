export { loadPresenceConfig, PresenceConfigSchema } from './config.ts';
export type { PresenceConfig } from './config.ts';
export { startPresenceService, SERVICE_VERSION } from './service.ts';
export type { PresenceService } from './service.ts';
export { PresenceStore } from './store/presence-store.ts';

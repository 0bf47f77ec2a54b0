export { runService } from './run-service.ts';
export type { RunServiceOptions } from './run-service.ts';

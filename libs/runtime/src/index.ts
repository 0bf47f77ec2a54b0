export { runService } from './run-service.ts';
export type { RunningService, RunServiceOptions } from './run-service.ts';
export { StopDeadline } from './stop-deadline.ts';
export { packageVersion } from './package-version.ts';
export { openClient, redactUrl } from './resources.ts';

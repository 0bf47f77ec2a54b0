import { runService } from '@chat/runtime';
import { loadPresenceConfig } from './config.ts';
import { startPresenceService } from './service.ts';

await runService({ name: 'presence', loadConfig: loadPresenceConfig, start: startPresenceService });

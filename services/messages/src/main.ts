import { runService } from '@chat/runtime';
import { loadMessagesConfig } from './config.ts';
import { startMessagesService } from './service.ts';

await runService({ name: 'messages', loadConfig: loadMessagesConfig, start: startMessagesService });

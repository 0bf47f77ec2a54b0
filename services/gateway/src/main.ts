import { runService } from '@chat/runtime';
import { loadGatewayConfig } from './config.ts';
import { startGateway } from './server.ts';

await runService({ name: 'gateway', loadConfig: loadGatewayConfig, start: startGateway });

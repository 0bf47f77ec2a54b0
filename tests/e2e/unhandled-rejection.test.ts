import { describe, expect, it } from 'vitest';
import { spawnScript } from '../support/processes.ts';

describe('a promise rejection nothing handles', () => {
  it('is logged at error level and the service keeps serving', async () => {
    const service = spawnScript('tests/support/rejecting-service.ts', {}, 'rejecting');
    try {
      await service.waitForLog('nobody handles this');
      const line = service
        .output()
        .split('\n')
        .find((l) => l.startsWith('{') && l.includes('nobody handles this'));
      expect(line, service.output()).toBeDefined();
      expect(JSON.parse(line!)).toMatchObject({ level: 50, msg: 'unhandled promise rejection', err: { message: 'nobody handles this' } });
      await service.waitForLog('"msg":"ready"');
      const opsPort = /"opsPort":(\d+)/.exec(service.output())![1];
      expect((await fetch(`http://127.0.0.1:${opsPort}/healthz`)).status).toBe(200);
      expect(service.child.exitCode).toBeNull();
      expect(await service.kill('SIGTERM')).toBe(0);
    } finally {
      await service.kill('SIGKILL');
    }
  });
});

import { describe, expect, it } from 'vitest';
import { spawnService } from '../support/processes.ts';

describe('a service started with bad configuration', () => {
  it('gateway: exits non-zero naming every bad variable', async () => {
    const gateway = spawnService('gateway', {
      SOCKET_PORT: 'not-a-port',
      NATS_URL: 'http://wrong-scheme',
      CLIENT_URL: 'nowhere',
      AUTH_TIMEOUT_MS: '-5',
    });
    const code = await gateway.exited;
    expect(code).not.toBe(0);
    for (const variable of ['SOCKET_PORT', 'NATS_URL', 'CLIENT_URL', 'AUTH_TIMEOUT_MS', 'JWT_SECRET']) {
      expect(gateway.output()).toContain(variable);
    }
  });

  it('messages: exits non-zero naming every bad variable', async () => {
    const messages = spawnService('messages', {
      MONGO_URL: 'postgres://x',
      MESSAGE_PARTITIONS: '0',
      CHAT_NAMESPACE: 'UPPER',
      LOG_LEVEL: 'loud',
    });
    expect(await messages.exited).not.toBe(0);
    for (const variable of ['MONGO_URL', 'MESSAGE_PARTITIONS', 'CHAT_NAMESPACE', 'LOG_LEVEL']) {
      expect(messages.output()).toContain(variable);
    }
  });

  it('exits non-zero with a clear message when NATS cannot be reached', async () => {
    const messages = spawnService('messages', {
      NATS_URL: 'nats://127.0.0.1:1',
      LOG_FORMAT: 'json',
      MONGO_URL: process.env.MONGO_URL ?? 'mongodb://127.0.0.1:27017/x',
    });
    expect(await messages.exited).not.toBe(0);
    expect(messages.output()).toContain('cannot connect to NATS at nats://127.0.0.1:1');
  });
});

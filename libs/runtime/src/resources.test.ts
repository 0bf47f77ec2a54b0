import { describe, expect, it } from 'vitest';
import { openClient, redactUrl } from './resources.ts';

describe('openClient', () => {
  it('closes a client that could not open, and says where without the credentials', async () => {
    let closed = false;
    const client = { close: async () => void (closed = true) };
    const failing = openClient('MongoDB', 'mongodb://chat:secret@db:27017/chat', client, async () => {
      throw new Error('connection refused');
    });
    await expect(failing).rejects.toThrow('cannot connect to MongoDB at mongodb://***@db:27017/chat: connection refused');
    expect(closed).toBe(true);
  });

  it('hands back the client that opened', async () => {
    const client = { close: async () => undefined };
    await expect(openClient('Redis', 'redis://127.0.0.1:6379', client, async () => undefined)).resolves.toBe(client);
  });
});

describe('redactUrl', () => {
  it('hides user and password, nothing else', () => {
    expect(redactUrl('redis://:pw@cache:6379/0')).toBe('redis://***@cache:6379/0');
    expect(redactUrl('nats://127.0.0.1:4222')).toBe('nats://127.0.0.1:4222');
  });
});

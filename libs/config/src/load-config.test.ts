import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { bothOrNeither, busEnv, ConfigError, loadConfig, port, positiveInt, url } from './index.ts';

const schema = z.object({
  ...busEnv,
  PORT: port(4000),
  LIMIT: positiveInt(10),
  MONGO_URL: url(['mongodb', 'mongodb+srv']),
});

describe('loadConfig', () => {
  it('applies defaults and coerces numbers', () => {
    const config = loadConfig('svc', schema, { MONGO_URL: 'mongodb://localhost/x', LIMIT: '5' });
    expect(config).toMatchObject({ PORT: 4000, LIMIT: 5, CHAT_NAMESPACE: 'chat', LOG_LEVEL: 'info' });
    expect(config.NATS_URL).toEqual(['nats://127.0.0.1:4222']);
  });

  it('treats empty values as unset', () => {
    expect(loadConfig('svc', schema, { MONGO_URL: 'mongodb://h/x', PORT: '' }).PORT).toBe(4000);
  });

  it('names every bad or missing variable in one error', () => {
    const bad = { PORT: 'abc', LIMIT: '-1', NATS_URL: 'http://x', CHAT_NAMESPACE: 'Bad.Name', LOG_LEVEL: 'loud' };
    let error: unknown;
    try {
      loadConfig('svc', schema, bad);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    for (const name of ['PORT', 'LIMIT', 'NATS_URL', 'CHAT_NAMESPACE', 'LOG_LEVEL', 'MONGO_URL']) {
      expect(message).toContain(name);
    }
    expect((error as ConfigError).problems).toHaveLength(6);
  });
});

describe('bothOrNeither', () => {
  const paired = z.object({ USER: z.string().optional(), HASH: z.string().optional(), PORT: port(1) }).refine(...bothOrNeither('USER', 'HASH'));

  it('accepts both or neither, and names the missing one with any other problem', () => {
    expect(loadConfig('svc', paired, {}).PORT).toBe(1);
    expect(loadConfig('svc', paired, { USER: 'u', HASH: 'h' }).USER).toBe('u');
    let error: unknown;
    try {
      loadConfig('svc', paired, { USER: 'u', PORT: 'x' });
    } catch (e) {
      error = e;
    }
    const problems = (error as ConfigError).problems;
    expect(problems).toHaveLength(2);
    expect(problems).toContain('HASH: set both USER and HASH, or neither');
    expect(problems.some((p) => p.startsWith('PORT='))).toBe(true);
  });
});

import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { bothOrNeither, busEnv, ConfigError, loadConfig, natsAuth, natsAuthRules, port, positiveInt, url } from './index.ts';

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
  const paired = z
    .object({ USER: z.string().optional(), HASH: z.string().optional(), PORT: port(1) })
    .refine(...bothOrNeither('USER', 'HASH'));

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

describe('NATS credentials (busEnv)', () => {
  const withAuth = z.object({ ...busEnv }).superRefine(...natsAuthRules);
  const problems = (env: Record<string, string>) => {
    try {
      loadConfig('svc', withAuth, env);
      return [];
    } catch (error) {
      return [...(error as ConfigError).problems];
    }
  };

  it('maps each kind of credential and the TLS files to the bus options', () => {
    expect(natsAuth(loadConfig('svc', withAuth, {}))).toEqual({});
    expect(natsAuth(loadConfig('svc', withAuth, { NATS_USER: 'chat', NATS_PASSWORD: 'pw' }))).toEqual({ user: 'chat', password: 'pw' });
    expect(natsAuth(loadConfig('svc', withAuth, { NATS_TOKEN: 't' }))).toEqual({ token: 't' });
    expect(natsAuth(loadConfig('svc', withAuth, { NATS_CREDS: '/run/chat.creds' }))).toEqual({ credsFile: '/run/chat.creds' });
    expect(
      natsAuth(
        loadConfig('svc', withAuth, {
          NATS_NKEY_SEED: '/run/seed',
          NATS_TLS_CA: '/ca.pem',
          NATS_TLS_CERT: '/c.pem',
          NATS_TLS_KEY: '/k.pem',
        }),
      ),
    ).toEqual({
      nkeySeed: '/run/seed',
      tls: { caFile: '/ca.pem', certFile: '/c.pem', keyFile: '/k.pem' },
    });
  });

  it('refuses a user without a password, a certificate without its key, two ways to authenticate, with other problems', () => {
    expect(problems({ NATS_USER: 'chat' })).toEqual(['NATS_PASSWORD: set both NATS_USER and NATS_PASSWORD, or neither']);
    expect(problems({ NATS_PASSWORD: 'pw' })).toEqual(['NATS_USER: set both NATS_USER and NATS_PASSWORD, or neither']);
    expect(problems({ NATS_TLS_KEY: '/k.pem' })).toEqual(['NATS_TLS_CERT: set both NATS_TLS_CERT and NATS_TLS_KEY, or neither']);
    expect(problems({ NATS_TOKEN: 't', NATS_CREDS: '/c.creds' })).toEqual([
      'NATS_TOKEN="t": set at most one of NATS_CREDS, NATS_NKEY_SEED, NATS_USER (with NATS_PASSWORD) and NATS_TOKEN; NATS_CREDS and NATS_TOKEN are set',
    ]);
    expect(problems({ NATS_USER: 'chat', LOG_LEVEL: 'loud' })).toHaveLength(2);
  });
});

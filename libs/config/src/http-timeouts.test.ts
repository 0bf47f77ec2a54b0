import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, headersWithinRequest, httpServerTimeouts, httpTimeoutsEnv, loadConfig } from './index.ts';

const schema = z.object({ ...httpTimeoutsEnv(30_000) }).refine(...headersWithinRequest);

describe('HTTP timeouts', () => {
  it('default to headers 10 s, the service’s request timeout, keep-alive 72 s', () => {
    expect(loadConfig('svc', schema, {})).toEqual({
      HTTP_HEADERS_TIMEOUT_MS: 10_000,
      HTTP_REQUEST_TIMEOUT_MS: 30_000,
      HTTP_KEEP_ALIVE_TIMEOUT_MS: 72_000,
    });
  });

  it('refuses a headers timeout longer than the request timeout (Node would)', () => {
    expect(() => loadConfig('svc', schema, { HTTP_HEADERS_TIMEOUT_MS: '40000' })).toThrow(ConfigError);
    expect(() => loadConfig('svc', schema, { HTTP_REQUEST_TIMEOUT_MS: '0' })).toThrow(ConfigError);
  });

  it('become server options that Node enforces close to their value', () => {
    expect(httpServerTimeouts({ headersMs: 10_000, requestMs: 30_000, keepAliveMs: 72_000 })).toEqual({
      requestTimeout: 30_000,
      keepAliveTimeout: 72_000,
      http: { headersTimeout: 10_000, requestTimeout: 30_000, connectionsCheckingInterval: 1000 },
    });
    expect(httpServerTimeouts({ headersMs: 300, requestMs: 400, keepAliveMs: 1000 }).http.connectionsCheckingInterval).toBe(300);
  });
});

import { networkInterfaces } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { loadConfig, opsEnv } from '@chat/config';
import { createMetricsRegistry, startOpsServer, type OpsServer } from '@chat/telemetry';

let server: OpsServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** An address of this machine other than loopback, if it has one. */
const otherAddress = Object.values(networkInterfaces())
  .flat()
  .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;

describe('the ops server', () => {
  it('listens on the host it is given: 127.0.0.1 is not reachable from another interface', async () => {
    server = await startOpsServer({ port: 0, host: '127.0.0.1', registry: createMetricsRegistry('test'), checks: {} });
    expect((await fetch(`http://127.0.0.1:${server.port}/healthz`)).status).toBe(200);
    if (otherAddress) await expect(fetch(`http://${otherAddress}:${server.port}/healthz`)).rejects.toThrow();
  });

  it('OPS_HOST defaults to all interfaces and can be set', () => {
    const schema = z.object(opsEnv(9999));
    expect(loadConfig('test', schema, {}).OPS_HOST).toBe('0.0.0.0');
    expect(loadConfig('test', schema, { OPS_HOST: '127.0.0.1' }).OPS_HOST).toBe('127.0.0.1');
  });
});

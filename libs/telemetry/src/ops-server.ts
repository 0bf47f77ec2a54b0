import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Registry } from 'prom-client';

/** A named dependency check for readiness; resolves true when usable. */
export type ReadinessCheck = () => Promise<boolean>;

export interface OpsServer {
  readonly port: number;
  /** From now on /readyz answers 503, so load balancers stop sending work. */
  markShuttingDown(): void;
  close(): Promise<void>;
}

/** A fresh metrics registry with the process's default metrics (CPU, memory, event loop lag, GC). */
export function createMetricsRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  return registry;
}

const CHECK_TIMEOUT_MS = 1000;

async function runCheck(check: ReadinessCheck): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), CHECK_TIMEOUT_MS);
  });
  try {
    return await Promise.race([check().catch(() => false), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The operations port of a service, apart from its public one: `/healthz` (the process is alive), `/readyz` (its
 * dependencies answer and it is not shutting down) and `/metrics` (Prometheus).
 */
export async function startOpsServer({
  port,
  host = '0.0.0.0',
  registry,
  checks,
}: {
  port: number;
  host?: string;
  registry: Registry;
  checks: Record<string, ReadinessCheck>;
}): Promise<OpsServer> {
  let shuttingDown = false;
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    const send = (status: number, body: string, type = 'application/json') => {
      response.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      response.end(body);
    };
    if (request.method !== 'GET') return send(405, JSON.stringify({ status: 'method not allowed' }));
    if (path === '/healthz') return send(200, JSON.stringify({ status: 'ok' }));
    if (path === '/readyz') {
      void (async () => {
        const results = Object.fromEntries(
          await Promise.all(Object.entries(checks).map(async ([name, check]) => [name, await runCheck(check)] as const)),
        );
        const ready = !shuttingDown && Object.values(results).every(Boolean);
        send(
          ready ? 200 : 503,
          JSON.stringify({ status: ready ? 'ready' : shuttingDown ? 'shutting down' : 'not ready', checks: results }),
        );
      })();
      return;
    }
    if (path === '/metrics') {
      void registry.metrics().then(
        (text) => send(200, text, registry.contentType),
        (error: unknown) => send(500, JSON.stringify({ status: 'error', message: (error as Error).message })),
      );
      return;
    }
    send(404, JSON.stringify({ status: 'not found' }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    markShuttingDown() {
      shuttingDown = true;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

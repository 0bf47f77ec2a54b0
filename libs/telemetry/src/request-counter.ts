import { Counter, type Registry } from 'prom-client';

/** What became of one request/reply call. */
export type RpcOutcome = 'ok' | 'error';

/**
 * `chat_rpc_requests_total{endpoint, outcome}` in a service's registry; the function returned counts one
 * answer. `@chat/bus`'s `createService` calls it for every answer of every endpoint it serves.
 */
export function requestCounter(registry: Registry): (endpoint: string, outcome: RpcOutcome) => void {
  const requests = new Counter({
    name: 'chat_rpc_requests_total',
    help: 'Request/reply calls answered, by endpoint and outcome',
    labelNames: ['endpoint', 'outcome'] as const,
    registers: [registry],
  });
  return (endpoint, outcome) => requests.inc({ endpoint, outcome });
}

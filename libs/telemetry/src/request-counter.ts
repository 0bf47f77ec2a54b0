import { Counter, type Registry } from 'prom-client';

/**
 * `chat_rpc_requests_total{endpoint, outcome}` in a service's registry, and a wrapper that counts every answer
 * of a request/reply handler.
 */
export function requestCounter(registry: Registry) {
  const requests = new Counter({
    name: 'chat_rpc_requests_total',
    help: 'Request/reply calls answered, by endpoint and outcome',
    labelNames: ['endpoint', 'outcome'] as const,
    registers: [registry],
  });
  return <Req, Res>(endpoint: string, handler: (request: Req) => Promise<Res>) =>
    async (request: Req): Promise<Res> => {
      try {
        const result = await handler(request);
        requests.inc({ endpoint, outcome: 'ok' });
        return result;
      } catch (error) {
        requests.inc({ endpoint, outcome: 'error' });
        throw error;
      }
    };
}

import { positiveInt } from './fields.ts';

/**
 * How long an HTTP server waits for a client: a request's headers, the whole request (headers and body), and an
 * idle keep-alive connection. Node's and Fastify's defaults leave a slowly trickled body open forever.
 * `requestTimeoutMs` is the service's default for the whole request.
 */
export const httpTimeoutsEnv = (requestTimeoutMs: number) => ({
  /** A request whose headers have not all arrived by then is answered 408 and closed. */
  HTTP_HEADERS_TIMEOUT_MS: positiveInt(10_000),
  /** A request (headers and body) that has not all arrived by then is answered 408 and closed. */
  HTTP_REQUEST_TIMEOUT_MS: positiveInt(requestTimeoutMs),
  /** An idle keep-alive connection is closed after this; longer than load balancers' idle timeouts (60 s). */
  HTTP_KEEP_ALIVE_TIMEOUT_MS: positiveInt(72_000),
});

/** The headers timeout cannot exceed the request timeout (Node refuses it); as a zod `refine`. */
export const headersWithinRequest: [
  (config: { HTTP_HEADERS_TIMEOUT_MS: number; HTTP_REQUEST_TIMEOUT_MS: number }) => boolean,
  { path: string[]; message: string; when: () => boolean },
] = [
  (config) => config.HTTP_HEADERS_TIMEOUT_MS <= config.HTTP_REQUEST_TIMEOUT_MS,
  { path: ['HTTP_HEADERS_TIMEOUT_MS'], message: 'must not exceed HTTP_REQUEST_TIMEOUT_MS', when: () => true },
];

/** Server options for these timeouts (Fastify's names; `http` goes to `http.createServer`). */
export function httpServerTimeouts({ headersMs, requestMs, keepAliveMs }: { headersMs: number; requestMs: number; keepAliveMs: number }) {
  return {
    requestTimeout: requestMs,
    keepAliveTimeout: keepAliveMs,
    http: {
      headersTimeout: headersMs,
      requestTimeout: requestMs,
      // Node enforces both timeouts by sweeping its connections at this interval (30 s by default, which would
      // let a 10 s timeout run to 40 s); a second keeps them near their value.
      connectionsCheckingInterval: Math.min(1000, headersMs, requestMs),
    },
  };
}

import type { IncomingMessage } from 'node:http';

/**
 * Which browser origins may use the gateway, from `CLIENT_URL`. Authentication is a bearer token (a header or
 * the Socket.IO `auth` payload), never a cookie, so credentialed CORS buys clients nothing; it is kept for the
 * origins an operator listed, and never given to any origin at all:
 * - `*`: any origin, as `Access-Control-Allow-Origin: *` without `Allow-Credentials` (a page elsewhere can call
 *   the API only with a token it has, never with the browser's cookies or client certificates);
 * - a list: those origins, with credentials; and Socket.IO connections (polling and WebSocket upgrades alike,
 *   which CORS never covers) whose `Origin` is neither listed nor the gateway's own host are refused at the
 *   handshake. A request without `Origin` (a native mobile client, a server) is not a browser's and is let in.
 */
export interface OriginPolicy {
  /** For @fastify/cors and Socket.IO's `cors`. */
  cors: { origin: '*' | string[]; credentials: boolean };
  /** For engine.io's `allowRequest`; undefined when any origin is allowed. */
  allowRequest?: (request: IncomingMessage, callback: (error: string | null | undefined, success: boolean) => void) => void;
}

export function originPolicy(clientUrls: readonly string[]): OriginPolicy {
  if (clientUrls.includes('*')) return { cors: { origin: '*', credentials: false } };
  // CLIENT_URL entries are URLs; the Origin header is their origin (no path, no trailing slash).
  const allowed = [...new Set(clientUrls.map((url) => new URL(url).origin))];
  return {
    cors: { origin: allowed, credentials: true },
    allowRequest(request, callback) {
      const ok = originAllowed(request.headers.origin, request.headers.host, allowed);
      callback(ok ? null : 'origin not allowed', ok);
    },
  };
}

function originAllowed(origin: string | undefined, host: string | undefined, allowed: readonly string[]): boolean {
  if (origin === undefined) return true;
  if (allowed.includes(origin)) return true;
  // The gateway's own pages (the Admin UI at /admin-ui/) connect from its own host.
  try {
    return host !== undefined && new URL(origin).host === host;
  } catch {
    return false;
  }
}

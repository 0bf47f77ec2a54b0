/**
 * Development only: a Vite dev-server plugin that signs tokens for any user with the development JWT secret, so
 * the app can be tried without the surrounding marketplace that issues real ones. It exists only in `vite serve`
 * (never in a build) and only when NODE_ENV is `development` (what `npm start` runs with by default) and
 * JWT_SECRET is set; the gateway knows nothing of it.
 *
 * GET /__dev/token?userId=<id>&name=<display name> → { token } (HS256, the spec's `userId` claim, 1 h).
 */
import { createHmac } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Plugin } from 'vite';

const DEV_TOKEN_PATH = '/__dev/token';
const USER_ID = /^[A-Za-z0-9-]{1,64}$/;
const LIFETIME_S = 3600;

const base64url = (data: string | Buffer): string => Buffer.from(data).toString('base64url');

/** An HS256 JWT, as the marketplace would issue it. */
function signDevToken(secret: string, claims: Record<string, unknown>, now = Math.floor(Date.now() / 1000)): string {
  const header = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const payload = base64url(JSON.stringify({ ...claims, iat: now, exp: now + LIFETIME_S }));
  const signature = createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url');
  return `${header}.${payload}.${signature}`;
}

export interface DevTokenOptions {
  /** Default: process.env. */
  env?: NodeJS.ProcessEnv;
}

export function devTokens({ env = process.env }: DevTokenOptions = {}): Plugin {
  const enabled = (env.NODE_ENV ?? 'development') === 'development' && Boolean(env.JWT_SECRET);
  return {
    name: 'chat-dev-tokens',
    apply: 'serve',
    config: () => ({ define: { __CHAT_DEV_TOKENS__: JSON.stringify(enabled) } }),
    configureServer(server) {
      if (!enabled) return;
      const secret = env.JWT_SECRET!;
      server.middlewares.use(DEV_TOKEN_PATH, (req: IncomingMessage, res: ServerResponse) => {
        const query = new URL(req.url ?? '/', 'http://dev').searchParams;
        const userId = query.get('userId') ?? '';
        const name = (query.get('name') ?? '').trim().slice(0, 100);
        res.setHeader('content-type', 'application/json');
        res.setHeader('cache-control', 'no-store');
        if (req.method !== 'GET' || !USER_ID.test(userId)) {
          res.statusCode = 400;
          res.end(JSON.stringify({ message: 'userId: 1-64 letters, digits or "-"' }));
          return;
        }
        const claims: Record<string, unknown> = { userId, ...(name ? { name } : {}) };
        if (env.JWT_ISSUER) claims.iss = env.JWT_ISSUER;
        if (env.JWT_AUDIENCE) claims.aud = env.JWT_AUDIENCE;
        res.end(JSON.stringify({ token: signDevToken(secret, claims) }));
      });
      server.config.logger.info(`  dev tokens: ${DEV_TOKEN_PATH}?userId=<id> (development only, signed with JWT_SECRET)`);
    },
  };
}

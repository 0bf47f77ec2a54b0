import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';
import { InMemoryStore, instrument } from '@socket.io/admin-ui';
import bcrypt from 'bcryptjs';
import type { Logger } from '@chat/logger';
import type { ChatServer } from '../chat-socket.ts';
import { AdminLoginGuard } from './admin-login-guard.ts';

export interface AdminUiOptions {
  username: string;
  /** A bcrypt hash, never the password itself. */
  passwordHash: string;
  serverId: string;
  logger: Logger;
  /** Default: a few wrong logins per address per minute, two checks at once. */
  guard?: AdminLoginGuard;
}

/** Longer than any password worth typing; bcrypt reads 72 bytes of it anyway. */
const MAX_CREDENTIAL_LENGTH = 1024;

/**
 * The Socket.IO Admin UI the spec mentions: the `/admin` namespace behind basic authentication, read-only, and
 * its static UI served at `/admin-ui/` (no third-party host involved).
 *
 * Our middleware runs before the library's and checks the credentials itself: @socket.io/admin-ui 0.5.1 hands
 * whatever the handshake carries to `bcrypt.compare`, whose rejection on a non-string nothing catches (it killed
 * the process), and it checks every attempt at full bcrypt cost (parallel wrong logins starved every chat user).
 * So non-string credentials are refused outright and every check goes through an `AdminLoginGuard`. A login that
 * passes here is checked once more by the library, which then hands out its session id.
 */
export async function enableAdminUi(
  app: FastifyInstance,
  io: ChatServer,
  { username, passwordHash, serverId, logger, guard = new AdminLoginGuard() }: AdminUiOptions,
): Promise<void> {
  const store = new InMemoryStore();
  const log = logger.child({ component: 'admin-ui' });
  io.of('/admin').use(async (socket, next) => {
    const auth: Record<string, unknown> = socket.handshake.auth ?? {};
    const refuse = (message: string) => next(new Error(message));
    try {
      if (typeof auth.sessionId === 'string' && (await store.doesSessionExist(auth.sessionId))) return next();
      const { username: given, password } = auth;
      if (
        typeof given !== 'string' ||
        typeof password !== 'string' ||
        given.length > MAX_CREDENTIAL_LENGTH ||
        password.length > MAX_CREDENTIAL_LENGTH
      ) {
        return refuse('invalid credentials');
      }
      const address = socket.handshake.address;
      // The hash is compared even for a wrong username, so that a name is not told apart by how fast it is refused.
      const outcome = await guard.attempt(address, async () => (await bcrypt.compare(password, passwordHash)) && given === username);
      if (outcome === true) return next();
      if (outcome === false) {
        log.warn({ address }, 'admin UI login refused: invalid credentials');
        return refuse('invalid credentials');
      }
      log.warn({ address, reason: outcome }, 'admin UI login refused unchecked: too many attempts');
      return refuse('too many login attempts');
    } catch (error) {
      log.error({ err: error }, 'admin UI login check failed');
      return refuse('invalid credentials');
    }
  });
  instrument(io as never, {
    auth: { type: 'basic', username, password: passwordHash },
    mode: 'production',
    readonly: true,
    serverId,
    store,
  });
  const uiRoot = join(dirname(createRequire(import.meta.url).resolve('@socket.io/admin-ui/package.json')), 'ui', 'dist');
  await app.register(fastifyStatic, { root: uiRoot, prefix: '/admin-ui/' });
}

import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';
import { instrument } from '@socket.io/admin-ui';
import type { ChatServer } from '../socket/types.ts';

export interface AdminUiOptions {
  username: string;
  /** A bcrypt hash, never the password itself. */
  passwordHash: string;
  serverId: string;
}

/**
 * The Socket.IO Admin UI the spec mentions: the `/admin` namespace behind basic authentication, read-only, and
 * its static UI served at `/admin-ui/` (no third-party host involved).
 */
export async function enableAdminUi(app: FastifyInstance, io: ChatServer, { username, passwordHash, serverId }: AdminUiOptions): Promise<void> {
  instrument(io as never, {
    auth: { type: 'basic', username, password: passwordHash },
    mode: 'production',
    readonly: true,
    serverId,
  });
  const uiRoot = join(dirname(createRequire(import.meta.url).resolve('@socket.io/admin-ui/package.json')), 'ui', 'dist');
  await app.register(fastifyStatic, { root: uiRoot, prefix: '/admin-ui/' });
}

/**
 * `npm start`: runs every service as its own process, as in production, from the TypeScript sources.
 * Ctrl-C (or SIGTERM) stops them all gracefully; if one dies, the others are stopped and this exits non-zero.
 *
 * Without NATS_URL / MONGO_URL / REDIS_URL (and without a Docker engine for `docker compose`), the servers are
 * started (or reused) on this machine by scripts/local-infra.sh, which says what it started and where.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { localInfra } from '@chat/testing/local-infra';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const SERVICES = ['messages', 'presence', 'uploads', 'gateway'] as const;

if (existsSync(`${ROOT}.env`)) process.loadEnvFile(`${ROOT}.env`);

const env: NodeJS.ProcessEnv = { ...process.env };
if (!env.NATS_URL || !env.MONGO_URL || !env.REDIS_URL) {
  console.warn('NATS_URL, MONGO_URL or REDIS_URL is not set: using servers on this machine (scripts/local-infra.sh).');
  const local = localInfra();
  env.NATS_URL ??= local.NATS_URL;
  env.MONGO_URL ??= `${local.MONGO_URL}/chat`;
  env.REDIS_URL ??= local.REDIS_URL;
}
// Each service its own ops port (the defaults differ); one OPS_PORT for all of them would collide.
if (env.OPS_PORT) {
  console.warn(
    `OPS_PORT applies to one service; under npm start set GATEWAY_OPS_PORT, MESSAGES_OPS_PORT, … instead (ignoring ${env.OPS_PORT}).`,
  );
  delete env.OPS_PORT;
}
if (!env.JWT_SECRET && !env.JWT_JWKS_URL) {
  if (env.NODE_ENV === 'production') {
    console.error('Set JWT_SECRET or JWT_JWKS_URL.');
    process.exit(78);
  }
  env.JWT_SECRET = 'development-only-secret-change-me';
  console.warn('JWT_SECRET is not set: using a development-only secret. Never do this in production.');
}

const web =
  env.NODE_ENV === 'production' ? undefined : { port: env.WEB_PORT ?? '5173', origin: `http://localhost:${env.WEB_PORT ?? '5173'}` };
// Socket.IO handshakes from browser origins not in a CLIENT_URL list are refused: let the app's in (`*`, the default, does).
if (web && env.CLIENT_URL && !env.CLIENT_URL.split(',').some((origin) => ['*', web.origin].includes(origin.trim()))) {
  console.warn(`CLIENT_URL does not list the web app's origin: adding ${web.origin} (development only).`);
  env.CLIENT_URL = `${env.CLIENT_URL},${web.origin}`;
}

const children = new Map<string, ChildProcess>();
let stopping = false;
let exitCode = 0;

function stopAll(signal: NodeJS.Signals): void {
  if (stopping) return;
  stopping = true;
  for (const child of children.values()) child.kill(signal);
  // A service that does not stop in time is killed.
  setTimeout(() => {
    for (const child of children.values()) child.kill('SIGKILL');
  }, 15_000).unref();
}

function supervise(name: string, child: ChildProcess): void {
  children.set(name, child);
  child.on('exit', (code, signal) => {
    children.delete(name);
    if (!stopping) {
      console.error(`${name} exited (${signal ?? code}); stopping the others`);
      exitCode = 1;
      stopAll('SIGTERM');
    } else if (code !== 0 && signal === null) {
      exitCode = code ?? 1;
    }
    if (children.size === 0) process.exit(exitCode);
  });
}

for (const service of SERVICES) {
  const opsPort = env[`${service.toUpperCase()}_OPS_PORT`];
  const child = spawn(process.execPath, ['--conditions=source', `services/${service}/src/main.ts`], {
    cwd: ROOT,
    env: opsPort ? { ...env, OPS_PORT: opsPort } : env,
    stdio: 'inherit',
  });
  supervise(service, child);
}

// The web app (apps/web) from Vite's dev server, with its development token helper; not in production.
if (web) {
  const child = spawn(process.execPath, [`${ROOT}node_modules/vite/bin/vite.js`, 'apps/web', '--port', web.port], {
    cwd: ROOT,
    env: { ...env, VITE_CHAT_URL: env.VITE_CHAT_URL ?? `http://localhost:${env.SOCKET_PORT ?? '4000'}` },
    // Not stdin: Vite's keyboard shortcuts are not wanted here (Ctrl-C stops everything).
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  supervise('web', child);
  console.log(`The web app: ${web.origin} (sign in with a token, or as any user with the development token helper).`);
}

process.on('SIGINT', () => stopAll('SIGINT'));
process.on('SIGTERM', () => stopAll('SIGTERM'));

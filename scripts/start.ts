/**
 * `npm start`: runs every service as its own process, as in production, from the TypeScript sources.
 * Ctrl-C (or SIGTERM) stops them all gracefully; if one dies, the others are stopped and this exits non-zero.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const SERVICES = ['messages', 'presence', 'uploads', 'gateway'] as const;

if (existsSync(`${ROOT}.env`)) process.loadEnvFile(`${ROOT}.env`);

const env: NodeJS.ProcessEnv = { ...process.env };
if (!env.JWT_SECRET && !env.JWT_JWKS_URL) {
  if (env.NODE_ENV === 'production') {
    console.error('Set JWT_SECRET or JWT_JWKS_URL.');
    process.exit(78);
  }
  env.JWT_SECRET = 'development-only-secret-change-me';
  console.warn('JWT_SECRET is not set: using a development-only secret. Never do this in production.');
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

for (const service of SERVICES) {
  const child = spawn(process.execPath, ['--conditions=source', `services/${service}/src/main.ts`], {
    cwd: ROOT,
    env,
    stdio: 'inherit',
  });
  children.set(service, child);
  child.on('exit', (code, signal) => {
    children.delete(service);
    if (!stopping) {
      console.error(`${service} exited (${signal ?? code}); stopping the others`);
      exitCode = 1;
      stopAll('SIGTERM');
    } else if (code !== 0 && signal === null) {
      exitCode = code ?? 1;
    }
    if (children.size === 0) process.exit(exitCode);
  });
}

process.on('SIGINT', () => stopAll('SIGINT'));
process.on('SIGTERM', () => stopAll('SIGTERM'));

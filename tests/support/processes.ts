import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface ServiceProcess {
  readonly child: ChildProcess;
  /** Everything it wrote, stdout and stderr. */
  readonly output: () => string;
  /** Resolves with the exit code (or the signal's name). */
  readonly exited: Promise<number | string>;
  /** Resolves once a log line contains `text`. */
  waitForLog(text: string, timeoutMs?: number): Promise<void>;
  kill(signal?: NodeJS.Signals): Promise<number | string>;
}

/** Runs a service's `main.ts` as its own process, as `npm start` does. */
/** Services still running: killed when this test process exits, so a failed or timed-out file leaks none. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export function spawnService(service: 'gateway' | 'messages' | 'presence' | 'uploads', env: Record<string, string>): ServiceProcess {
  return spawnScript(`services/${service}/src/main.ts`, env, service);
}

/** Runs a TypeScript file of this repository (a path from its root) as its own process, as `spawnService` does. */
export function spawnScript(script: string, env: Record<string, string>, service = script): ServiceProcess {
  const child = spawn(process.execPath, ['--conditions=source', script], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  let output = '';
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    output += chunk.toString();
    for (const listener of listeners) listener();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
  });
  return {
    child,
    output: () => output,
    exited,
    waitForLog(text, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!output.includes(text)) return;
          cleanup();
          resolve();
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`${service} did not log '${text}' within ${timeoutMs} ms; output:\n${output}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        void exited.then(() => {
          if (!output.includes(text)) {
            cleanup();
            reject(new Error(`${service} exited before logging '${text}'; output:\n${output}`));
          }
        });
        check();
      });
    },
    async kill(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** The port a service logged (`"<field>":<port>`). */
function loggedPort(service: ServiceProcess, field: string): number {
  const port = new RegExp(`"${field}":(\\d+)`).exec(service.output())?.[1];
  if (!port) throw new Error(`no ${field} in the log:\n${service.output()}`);
  return Number(port);
}

/** A gateway process listening on free ports; resolves with its URLs once it is ready. */
export async function spawnGateway(env: Record<string, string>): Promise<ServiceProcess & { url: string; opsUrl: string }> {
  const gateway = spawnService('gateway', { ...env, SOCKET_PORT: '0', OPS_PORT: '0', LOG_FORMAT: 'json', LOG_LEVEL: 'info' });
  await gateway.waitForLog('"msg":"ready"');
  return Object.assign(gateway, {
    url: `http://127.0.0.1:${loggedPort(gateway, 'port')}`,
    opsUrl: `http://127.0.0.1:${loggedPort(gateway, 'opsPort')}`,
  });
}

/** A service process without a public port (messages, presence), resolved once it is ready. */
export async function spawnBackend(
  service: 'messages' | 'presence',
  env: Record<string, string>,
  { logLevel = 'info' }: { logLevel?: string } = {},
): Promise<ServiceProcess & { opsUrl: string }> {
  const backend = spawnService(service, { ...env, OPS_PORT: '0', LOG_FORMAT: 'json', LOG_LEVEL: logLevel });
  await backend.waitForLog('"msg":"ready"');
  return Object.assign(backend, { opsUrl: `http://127.0.0.1:${loggedPort(backend, 'opsPort')}` });
}

/** A messages service process, resolved once it consumes. */
export const spawnMessages = (env: Record<string, string>) => spawnBackend('messages', env);

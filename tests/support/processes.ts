import { spawn, type ChildProcess } from 'node:child_process';
import { createConnection } from 'node:net';
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

/** Services still running: killed when this test process exits, so a failed or timed-out file leaks none. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Runs a service's `main.ts` as its own process, as `npm start` does. */
export function spawnService(
  service: 'gateway' | 'messages' | 'presence' | 'uploads',
  env: Record<string, string>,
  nodeArgs: readonly string[] = [],
): ServiceProcess {
  return spawnScript(`services/${service}/src/main.ts`, env, service, nodeArgs);
}

/**
 * Runs a TypeScript file of this repository (a path from its root) as its own process, as `spawnService` does;
 * `nodeArgs` go to Node before the script (V8 flags that `NODE_OPTIONS` does not take).
 */
export function spawnScript(
  script: string,
  env: Record<string, string>,
  service = script,
  nodeArgs: readonly string[] = [],
): ServiceProcess {
  return spawnProcess(process.execPath, [...nodeArgs, '--conditions=source', script], { env, name: service });
}

/**
 * The one way the tests and the benchmarks run a process of their own (a service, the baseline, redis-server,
 * nats-server): its output kept, waited for by log line or port, killed when this process exits. Its environment
 * is `env` and PATH only, so that nothing of the caller's leaks in.
 */
export function spawnProcess(
  command: string,
  args: string[],
  { env = {}, name = command }: { env?: Record<string, string>; name?: string } = {},
): ServiceProcess {
  const service = name;
  const child = spawn(command, args, {
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

/** Resolves once something accepts TCP connections on 127.0.0.1:`port`; rejects after `timeoutMs`. */
export async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const up = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (up) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`nothing accepts connections on 127.0.0.1:${port} after ${timeoutMs} ms`);
}

/** The port a service logged (`"<field>":<port>`). */
function loggedPort(service: ServiceProcess, field: string): number {
  const port = new RegExp(`"${field}":(\\d+)`).exec(service.output())?.[1];
  if (!port) throw new Error(`no ${field} in the log:\n${service.output()}`);
  return Number(port);
}

/** A gateway process listening on free ports; resolves with its URLs once it is ready. */
export async function spawnGateway(
  env: Record<string, string>,
  nodeArgs: readonly string[] = [],
): Promise<ServiceProcess & { url: string; opsUrl: string }> {
  const gateway = spawnService('gateway', { ...env, SOCKET_PORT: '0', OPS_PORT: '0', LOG_FORMAT: 'json', LOG_LEVEL: 'info' }, nodeArgs);
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

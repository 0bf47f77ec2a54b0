import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect as tcpConnect } from 'node:net';
import { freePort } from './free-port.ts';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';

/** A nats-server of a test's own (its own port, store directory and configuration), for what the shared one cannot be: authenticated, TLS, another sync policy. */
export interface OwnNatsServer {
  readonly url: string;
  readonly port: number;
  /** Its temporary directory (store, configuration): put files the configuration names here. */
  readonly dir: string;
  /** What the server has logged (its standard error), the last 64 KB. */
  log(): string;
  stop(): Promise<void>;
}

/** NATS_SERVER_BIN, else the v2.15.2 that `.ci/nats-server.sh` builds, else `nats-server` on PATH. */
export const natsServerBin = (): string =>
  process.env.NATS_SERVER_BIN ??
  [join(homedir(), '.cache/realtime-chat/nats-server-v2.15.2')].find((path) => existsSync(path)) ??
  'nats-server';

const accepts = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = tcpConnect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

const exited = (child: ChildProcess): Promise<void> =>
  child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', () => resolve()));

/**
 * Starts nats-server with JetStream on a free port of 127.0.0.1. `config` is added to the configuration file
 * (e.g. an `authorization { … }` block, `jetstream { sync_interval: always }` is merged by passing `jetstream`);
 * `files` are written into the server's directory first, so the configuration can name them (or `include` them);
 * `env` is the server's environment beside this process's (a configuration resolves `$NAME` from it).
 */
export async function startNatsServer({
  config = '',
  jetstream = '',
  files = {},
  env = {},
}: {
  config?: string;
  jetstream?: string;
  files?: Record<string, string>;
  env?: Record<string, string>;
} = {}): Promise<OwnNatsServer> {
  const dir = await mkdtemp(join(tmpdir(), 'own-nats-'));
  for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), content, { mode: 0o600 });
  const port = await freePort();
  const conf = join(dir, 'nats.conf');
  await writeFile(
    conf,
    [`listen: 127.0.0.1:${port}`, `jetstream { store_dir: "${join(dir, 'store')}"\n${jetstream}\n}`, config].join('\n'),
  );
  const child = spawn(natsServerBin(), ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-65_536);
  });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited(child);
    await rm(dir, { recursive: true, force: true });
  };
  for (let attempt = 0; attempt < 100; attempt += 1) {
    if (child.exitCode !== null) break;
    if (await accepts(port)) return { url: `nats://127.0.0.1:${port}`, port, dir, log: () => stderr, stop };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await stop();
  throw new Error(`nats-server (${natsServerBin()}) did not start on port ${port}:\n${stderr}`);
}

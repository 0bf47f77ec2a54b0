/**
 * Starting and removing what one benchmark run needs: our services as separate processes (as `npm start`
 * runs them), the baseline's single process, a fresh namespace and databases, and reading a process's CPU
 * time and resident memory from /proc.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { removeRunData } from '@chat/testing/cleanup';
import { NO_LIMITS } from '../tests/support/limits.ts';
import { spawnBackend, spawnGateway, type ServiceProcess } from '../tests/support/processes.ts';
import { inspectorUrlOf } from './inspector.ts';

export interface Infra {
  natsUrl: string;
  /** Server URL without a database. */
  mongoUrl: string;
  redisUrl: string;
}

export function mongoUrlFor(infra: Infra, database: string): string {
  const url = new URL(infra.mongoUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

export interface Started {
  /** Socket.IO URL. */
  url: string;
  /** The process whose memory per connection is measured (our gateway; the baseline's only process). */
  edgePid: number;
  /** Every gateway of ours (one unless `gateways` asked for more); the baseline's one process. */
  edges: Array<{ url: string; pid: number; inspectorUrl?: string; opsUrl?: string; process?: ServiceProcess }>;
  processes: Record<string, ServiceProcess>;
  /** Prometheus text of the process(es) that talk to MongoDB, for their command counts. */
  metricsUrls: string[];
  stop(): Promise<void>;
}

/** Commands that are not work on data (connection handshakes, health checks). */
const NOT_DATA = new Set([
  'ping',
  'hello',
  'isMaster',
  'ismaster',
  'buildInfo',
  'endSessions',
  'saslStart',
  'saslContinue',
  'createIndexes',
  'listIndexes',
]);

/** MongoDB data commands sent so far by the processes behind these URLs, by command name. */
export async function mongoCommandsOf(urls: string[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const url of urls) {
    const text = await (await fetch(url)).text();
    for (const [, labels, n] of text.matchAll(/^chat_mongodb_commands_total\{([^}]*)\} (\S+)$/gm)) {
      const command = /command="([^"]+)"/.exec(labels!)?.[1];
      if (command && !NOT_DATA.has(command)) out[command] = (out[command] ?? 0) + Number(n);
    }
  }
  return out;
}

export interface OursOptions {
  infra: Infra;
  namespace: string;
  database: string;
  secret: string;
  partitions: number;
  /** Extra env for every service, e.g. NODE_OPTIONS for --cpu-prof. */
  extraEnv: (service: string) => Record<string, string>;
  /** How many gateways (default 1). */
  gateways?: number;
  /** Run the gateways with the V8 inspector on a free port (bench/inspector.ts). */
  inspect?: boolean;
  /** More env for the gateways only (e.g. NODE_OPTIONS heap flags, settings under test). */
  gatewayEnv?: Record<string, string>;
  /** Node/V8 flags for the gateways' command line (the ones `NODE_OPTIONS` refuses, e.g. GC flags). */
  gatewayNodeArgs?: readonly string[];
}

export async function startOurs({
  infra,
  namespace,
  database,
  secret,
  partitions,
  extraEnv,
  gateways = 1,
  inspect = false,
  gatewayEnv = {},
  gatewayNodeArgs = [],
}: OursOptions): Promise<Started> {
  const env = {
    NATS_URL: infra.natsUrl,
    // A bounded pool: FerretDB v1 wedges when more operations than its PostgreSQL pool can serve
    // holds arrive at once (docs/benchmarks.md).
    MONGO_URL: `${mongoUrlFor(infra, database)}?maxPoolSize=8`,
    REDIS_URL: infra.redisUrl,
    CHAT_NAMESPACE: namespace,
    JWT_SECRET: secret,
    HOST: '127.0.0.1',
    NODE_ENV: 'production',
    SHUTDOWN_DELAY_MS: '0',
    MESSAGE_PARTITIONS: String(partitions),
    // The bench measures when a send completes, however long: no STORE_TIMEOUT under overload.
    SEND_ACK_TIMEOUT_MS: '120000',
    // Load, not abuse: the per-user limits would refuse the bench's senders (the baseline has none).
    ...NO_LIMITS,
    PRESENCE_KEY_PREFIX: `${namespace}:presence:`,
  };
  const started: Record<string, ServiceProcess> = {};
  const stop = async () => {
    // The edge first, then what it depends on; each exits by itself (and writes its CPU profile).
    const names = Object.keys(started).filter((name) => name.startsWith('gateway'));
    await Promise.all(names.map((name) => started[name]?.kill('SIGTERM')));
    for (const name of ['messages', 'presence']) await started[name]?.kill('SIGTERM');
  };
  try {
    const messages = await spawnBackend('messages', { ...env, ...extraEnv('messages') });
    started.messages = messages;
    started.presence = await spawnBackend('presence', { ...env, ...extraEnv('presence') });
    const edges: Started['edges'] = [];
    for (let i = 0; i < gateways; i++) {
      const own = { ...extraEnv('gateway'), ...gatewayEnv };
      const nodeOptions = [own.NODE_OPTIONS, inspect ? '--inspect=127.0.0.1:0' : undefined].filter(Boolean).join(' ');
      if (nodeOptions) own.NODE_OPTIONS = nodeOptions;
      const gateway = await spawnGateway({ ...env, ...own }, gatewayNodeArgs);
      started[i === 0 ? 'gateway' : `gateway${i}`] = gateway;
      const inspectorUrl = inspect ? inspectorUrlOf(gateway.output()) : undefined;
      edges.push({
        url: gateway.url,
        pid: gateway.child.pid as number,
        opsUrl: gateway.opsUrl,
        process: gateway,
        ...(inspectorUrl ? { inspectorUrl } : {}),
      });
    }
    const metricsUrls = [`${messages.opsUrl}/metrics`];
    return { url: edges[0]!.url, edgePid: edges[0]!.pid, edges, processes: started, metricsUrls, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

export async function startBaseline(options: {
  infra: Infra;
  database: string;
  secret: string;
  extraEnv: Record<string, string>;
}): Promise<Started> {
  const child = spawn(process.execPath, ['--conditions=source', 'bench/baseline/server.ts'], {
    cwd: new URL('../', import.meta.url).pathname,
    env: {
      PATH: process.env.PATH ?? '',
      PORT: '0',
      MONGO_URL: mongoUrlFor(options.infra, options.database),
      JWT_SECRET: options.secret,
      ...options.extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the baseline did not start:\n${output}`)), 20_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /"port":(\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`the baseline exited (${code}):\n${output}`)));
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    url: `http://127.0.0.1:${port}`,
    edgePid: child.pid as number,
    edges: [{ url: `http://127.0.0.1:${port}`, pid: child.pid as number }],
    processes: {},
    metricsUrls: [`http://127.0.0.1:${port}/bench/metrics`],
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Removes the run's streams, databases and Redis keys. */
export async function cleanup(infra: Infra, namespace: string, databases: string[]): Promise<void> {
  await removeRunData(infra, namespace, databases);
}

/** Resident memory of a process, in bytes (VmRSS). */
export function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1];
  if (!kb) throw new Error(`no VmRSS for ${pid}`);
  return Number(kb) * 1024;
}

const TICKS_PER_SECOND = 100;

/** User + system CPU time of a process so far, in seconds. */
export function cpuSecondsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at field 3.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** The pids of processes on this machine whose command name starts with `name` (nats-server, postgres…). */
export function pidsNamed(name: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim().startsWith(name)) pids.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return pids;
}

/** CPU seconds per named group of processes; sample before and after a phase and subtract. */
export type CpuGroups = Record<string, () => number[]>;

export function sampleCpu(groups: CpuGroups): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, pids] of Object.entries(groups)) out[name] = pids().reduce((sum, pid) => sum + cpuSecondsOf(pid), 0);
  return out;
}

export function cpuPercent(before: Record<string, number>, after: Record<string, number>, elapsedMs: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const name of Object.keys(after)) out[name] = Math.round((((after[name] ?? 0) - (before[name] ?? 0)) * 100_000) / elapsedMs);
  return out;
}

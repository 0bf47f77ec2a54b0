/**
 * `npm run bench`: drives our system and the spec's single-process baseline with the same Socket.IO load on the
 * same NATS/MongoDB/Redis, and reports latency, persisted throughput, errors, lost and duplicated messages and
 * the edge process's memory per idle connection. See docs/benchmarks.md.
 *
 *   npm run bench                                          # short default run, both systems (about 2 minutes)
 *   npm run bench -- --pairs 100 --rate 1000 --latency-seconds 10 --throughput-seconds 10   # the latency target's load
 *   npm run bench -- --idle 20000 --systems ours          # the 20,000 idle connections target
 *   npm run bench -- --profile                             # --cpu-prof on every service, top frames in the JSON
 *
 * Every flag can also be given as BENCH_<FLAG> (e.g. BENCH_RATE=500). Loads only 127.0.0.1 services.
 */
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { fork, type ChildProcess } from 'node:child_process';
import { MongoClient, type Collection } from 'mongodb';
import { Redis } from 'ioredis';
import { conversationIdOf, DEFAULT_PRESENCE_GATEWAY_TTL_MS, participantsOf, type UserId } from '@chat/contracts';
import { startInfra } from '@chat/testing';
import {
  accountMessages,
  bytesPerConnection,
  mergeOutcomes,
  metricValue,
  ratePerSecond,
  summarizeLatency,
  profileByOwner,
  topFrames,
  type LatencySummary,
} from './stats.ts';
import {
  cleanup,
  cpuPercent,
  mongoCommandsOf,
  mongoUrlFor,
  pidsNamed,
  rssOf,
  sampleCpu,
  startBaseline,
  startOurs,
  type CpuGroups,
  type Infra,
  type Started,
} from './system.ts';
import type { FinalResult, LoopDelay, PhaseOptions, WorkerInit, WorkerRequest } from './worker.ts';
import { Inspector, type HeapGroup } from './inspector.ts';

const ROOT = new URL('../', import.meta.url).pathname;

const flags = {
  pairs: { default: '50', help: 'pairs of connected users sending to each other (over all workers)' },
  workers: { default: '2', help: 'load-generator threads' },
  rate: { default: '50', help: 'messages per second in the latency phase (open loop; the targets are at 1000)' },
  'warmup-seconds': { default: '2', help: 'sending at --rate before measuring' },
  'latency-seconds': { default: '10', help: 'latency phase length' },
  'throughput-seconds': { default: '10', help: 'throughput phase length (closed loop)' },
  window: { default: '2', help: 'unacknowledged sends per client in the throughput phase' },
  idle: { default: '1000', help: 'idle authenticated connections for the memory measurement (0: skip)' },
  systems: { default: 'ours,baseline', help: 'which systems to run' },
  partitions: { default: '16', help: 'MESSAGE_PARTITIONS of ours' },
  'slice-seconds': { default: '10', help: 'persisted msg/s is also reported per slice of this many seconds' },
  profile: { default: 'false', help: 'run every service with --cpu-prof and summarise the top frames' },
  gateways: {
    default: '1',
    help: 'gateways of ours; more than 1 runs the many-gateways mode (ours only): --idle connections over all, a reconnect storm',
  },
  'connect-concurrency': { default: '20', help: 'connections each load generator opens at once' },
  'idle-client': {
    default: 'light',
    help: "idle clients: 'light' (ws and the Socket.IO parsers, bench/idle-socket.ts) or 'official' (socket.io-client, as the chatting pairs)",
  },
  'idle-names': {
    default: 'true',
    help: "whether idle users' tokens carry a name claim (a profile event and upsert per new user); 'false' measures the connections without that one-time write",
  },
  'profile-connect': {
    default: 'false',
    help: 'a CPU profile of the gateway while the idle connections connect (through the inspector), top frames in the JSON, the .cpuprofile beside it',
  },
  'profile-latency': {
    default: 'false',
    help: 'a CPU profile of the gateway over the latency phase (through the inspector): top frames, time by owner (ours vs each library), our functions by inclusive time, in the JSON; the .cpuprofile beside it',
  },
  'heap-snapshot': {
    default: 'false',
    help: 'after the idle connections, a heap snapshot of the gateway summarised by constructor (slow at many connections)',
  },
  'gateway-env': { default: '', help: 'extra env for the gateways, K=V,K=V (settings under test, NODE_OPTIONS heap flags)' },
  'gateway-node-args': {
    default: '',
    help: "Node/V8 flags on the gateways' command line, space-separated (those NODE_OPTIONS refuses, e.g. GC flags); give it as --gateway-node-args=--flag",
  },
  'storm-seconds': { default: '30', help: '--gateways: how long the chat load runs after a gateway is killed' },
  out: { default: 'bench/results', help: 'where the JSON goes' },
} as const;
type Flag = keyof typeof flags;

const { values } = parseArgs({
  options: Object.fromEntries(Object.keys(flags).map((name) => [name, { type: 'string' }])) as Record<Flag, { type: 'string' }>,
  strict: true,
});
const option = (name: Flag): string =>
  values[name] ?? process.env[`BENCH_${name.toUpperCase().replaceAll('-', '_')}`] ?? flags[name].default;
const num = (name: Flag): number => {
  const value = Number(option(name));
  if (!Number.isFinite(value) || value < 0) throw new Error(`--${name} must be a non-negative number`);
  return value;
};

const config = {
  pairs: num('pairs'),
  workers: Math.max(1, num('workers')),
  rate: num('rate'),
  warmupSeconds: num('warmup-seconds'),
  latencySeconds: num('latency-seconds'),
  throughputSeconds: num('throughput-seconds'),
  window: Math.max(1, num('window')),
  idle: num('idle'),
  systems: option('systems')
    .split(',')
    .map((s) => s.trim()) as Array<'ours' | 'baseline'>,
  partitions: num('partitions'),
  sliceSeconds: Math.max(1, num('slice-seconds')),
  profile: option('profile') === 'true' || option('profile') === '1',
  gateways: Math.max(1, num('gateways')),
  connectConcurrency: Math.max(1, num('connect-concurrency')),
  idleClient: option('idle-client') as WorkerInit['idleClient'],
  idleNames: option('idle-names') !== 'false',
  heapSnapshot: option('heap-snapshot') === 'true',
  profileConnect: option('profile-connect') === 'true',
  profileLatency: option('profile-latency') === 'true',
  gatewayEnv: Object.fromEntries(
    option('gateway-env')
      .split(',')
      .filter(Boolean)
      .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
  ) as Record<string, string>,
  gatewayNodeArgs: option('gateway-node-args').split(' ').filter(Boolean),
  stormSeconds: num('storm-seconds'),
  out: option('out'),
};
// Bounded: this is a benchmark of one machine, not a load test of someone else's.
const LIMITS = { pairs: 5000, rate: 20_000, seconds: 600, idle: 50_000 };
if (config.pairs > LIMITS.pairs || config.rate > LIMITS.rate || config.idle > LIMITS.idle)
  throw new Error(`bounds: ${JSON.stringify(LIMITS)}`);
if (config.idleClient !== 'light' && config.idleClient !== 'official') throw new Error("--idle-client is 'light' or 'official'");
if (Math.max(config.latencySeconds, config.throughputSeconds, config.warmupSeconds) > LIMITS.seconds)
  throw new Error(`phases are at most ${LIMITS.seconds} s`);

// Each connection is a file descriptor here and one in the edge process: raise the limit (children inherit it).
// Load-generator processes (not threads) when one process could not hold every client's descriptor.
const PER_LOAD_PROCESS = 12_000;
const loadProcesses = config.gateways > 1 || config.idle + config.pairs * 2 > 18_000;
if (loadProcesses) config.workers = Math.max(config.workers, Math.ceil((config.idle + config.pairs * 2) / PER_LOAD_PROCESS));
const needFds = loadProcesses ? 20_000 : config.idle + config.pairs * 2 + 4096;
const softLimit = Number(spawnSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).stdout.trim());
if (Number.isFinite(softLimit) && softLimit < needFds && !process.env.BENCH_REEXEC) {
  // Up to the hard limit when the wanted one is not permitted (a container without CAP_SYS_RESOURCE).
  const script = `ulimit -n ${needFds} 2>/dev/null || { ulimit -n "$(ulimit -Hn)"; echo "[bench] ulimit -n is capped at $(ulimit -Hn); wanted ${needFds}" >&2; }; exec "$0" "$@"`;
  const raised = spawnSync('sh', ['-c', script, process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, BENCH_REEXEC: '1' },
  });
  process.exit(raised.status ?? 1);
}

// The servers the tests use: given (NATS_URL, MONGO_URL, REDIS_URL), else this machine's (scripts/local-infra.sh).
const infra: Infra = (await startInfra()).urls;
for (const url of [infra.natsUrl, infra.mongoUrl, infra.redisUrl]) {
  const host = new URL(url).hostname;
  if (host !== '127.0.0.1' && host !== 'localhost' && host !== '::1') throw new Error(`the bench only loads local services, not ${host}`);
}

const runId = randomBytes(4).toString('hex');
const namespace = `bench${runId}`;
const secret = randomBytes(32).toString('hex');
const databases = { ours: `bench_${runId}`, baseline: `bench_${runId}_baseline` };
const profileDir = config.profile ? mkdtempSync(join(tmpdir(), `bench-prof-${runId}-`)) : undefined;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const log = (line: string) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`);

/**
 * A pool of load generators, with request/response over postMessage: threads of this process, or child
 * processes when the clients need more descriptors than one process may hold.
 */
class Load {
  readonly workers: Array<Worker | ChildProcess>;
  #next = 1;
  readonly #waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  constructor(urls: string[], readyOn: WorkerInit['readyOn'], extra: Partial<WorkerInit> = {}) {
    this.workers = Array.from({ length: config.workers }, (_, i) => {
      const init: WorkerInit = {
        urls,
        secret,
        prefix: `${runId}w${i}`,
        connectConcurrency: config.connectConcurrency,
        readyOn,
        idleClient: config.idleClient,
        idleNames: config.idleNames,
        ...extra,
      };
      const worker = loadProcesses
        ? fork(new URL('./worker.ts', import.meta.url).pathname, [], {
            execArgv: ['--conditions=source'],
            env: { ...process.env, BENCH_WORKER_INIT: JSON.stringify(init) },
            serialization: 'advanced',
          })
        : new Worker(new URL('./worker.ts', import.meta.url), { workerData: init, execArgv: ['--conditions=source'] });
      worker.on('message', (reply: { id: number; ok: boolean; result?: unknown; error?: string }) => {
        const waiter = this.#waiting.get(reply.id);
        this.#waiting.delete(reply.id);
        if (reply.ok) waiter?.resolve(reply.result);
        else waiter?.reject(new Error(reply.error));
      });
      worker.on('error', (error) => {
        for (const waiter of this.#waiting.values()) waiter.reject(error);
      });
      return worker;
    });
  }

  /** Sends one request to every worker (with `split` giving each worker's share) and waits for all. */
  all<R>(make: (id: number, index: number) => WorkerRequest): Promise<R[]> {
    return Promise.all(
      this.workers.map(
        (worker, index) =>
          new Promise<R>((resolve, reject) => {
            const id = this.#next++;
            this.#waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
            if (worker instanceof Worker) worker.postMessage(make(id, index));
            else worker.send(make(id, index));
          }),
      ),
    );
  }

  /** The load-generator child processes' pids (none when they are threads of this process). */
  pids(): number[] {
    return this.workers.flatMap((worker) => (worker instanceof Worker || worker.pid === undefined ? [] : [worker.pid]));
  }

  share(total: number, index: number): number {
    return Math.floor(total / this.workers.length) + (index < total % this.workers.length ? 1 : 0);
  }

  async close(): Promise<void> {
    await this.all((id) => ({ id, type: 'close' })).catch(() => undefined);
    await Promise.all(
      this.workers.map(async (worker) => {
        if (worker instanceof Worker) {
          await worker.terminate();
          return;
        }
        if (worker.exitCode !== null) return;
        const exited = new Promise((resolve) => worker.once('exit', resolve));
        worker.kill('SIGTERM');
        await exited;
      }),
    );
  }
}

interface PhaseReport {
  seconds: number;
  sent: number;
  acked: number;
  failed: number;
  errors: Record<string, number>;
  latencyMs: LatencySummary;
  ackLatencyMs: LatencySummary;
  persistedPerSecond: number;
  /** Persisted msg/s in each `--slice-seconds` slice of the phase. */
  persistedPerSlice: number[];
  drained: boolean;
  cpuPercent: Record<string, number>;
  /** CPU time per persisted message, per process group. */
  cpuMsPerMessage: Record<string, number>;
  /** CPU of the gateway process(es) per persisted message (each delivered to its receiver, echoed to its sender), µs. */
  gatewayCpuUsPerMessage: number;
  /** MongoDB data commands sent in the phase, by name, and per persisted message. */
  mongoCommands: Record<string, number>;
  mongoCommandsPerMessage: number;
  /** `--profile-latency`, latency phase only: the gateway's CPU profile, summarised, and where it is. */
  gatewayProfile?: { file: string; top: ReturnType<typeof topFrames> } & ReturnType<typeof profileByOwner>;
}

interface IdleReport {
  connections: number;
  /** Connections that could not be opened (refused, or not authenticated within 30 s). */
  failed: number;
  failures: Record<string, number>;
  rssBeforeBytes: number;
  rssAfterBytes: number;
  /** RSS after − before over the connections, 3 s after the last connect, no forced GC (the figure since issue 8). */
  bytesPerConnection: number;
  connectSeconds: number;
  /** Connections authenticated per second (tokens signed beforehand). */
  connectionsPerSecond: number;
  /** After two forced full GCs before and after (ours: through the inspector): bytes per connection. */
  afterGc?: { rss: number; heapUsed: number; external: number; arrayBuffers: number; offHeapRss: number };
  heapByConstructor?: HeapGroup[];
  /**
   * CPU per connection while connecting, µs, by process group (the gateway's is what bounds its rate; `load` is
   * the load generators'). Sampled from /proc around the connects, so it includes the catch-up and presence work
   * the connects caused while they ran.
   */
  cpuUsPerConnection?: Record<string, number>;
  /** MongoDB data commands of the messages service per connection while connecting (catch-ups, profiles), by name. */
  mongoCommandsPerConnection?: Record<string, number>;
  /** `--profile-connect`: the gateway's top frames (self time) while connecting, and where the profile is. */
  connectProfile?: { file: string; top: ReturnType<typeof topFrames> };
}

interface SystemReport {
  system: 'ours' | 'baseline';
  idle: IdleReport | null;
  latency: PhaseReport;
  throughput: PhaseReport;
  accounting: ReturnType<typeof accountMessages> & {
    unexpectedReceived: number;
    orderViolations: number;
    errorEvents: number;
    disconnects: number;
    stored: number;
  };
  profiles?: Record<string, ReturnType<typeof topFrames>>;
}

interface PhaseContext {
  load: Load;
  cpuGroups: CpuGroups;
  started: Started;
  messages: Collection;
  label: string;
}
type PhaseMeasure = Awaited<ReturnType<typeof measurePhase>>;

async function measurePhase(
  { load, cpuGroups, started, messages, label }: PhaseContext,
  name: string,
  options: Omit<PhaseOptions, 'name' | 'ackTimeoutMs'>,
) {
  const inspectorUrl = config.profileLatency && name === 'latency' ? started.edges[0]?.inspectorUrl : undefined;
  const inspector = inspectorUrl ? await Inspector.connect(inspectorUrl) : undefined;
  const commandsBefore = await mongoCommandsOf(started.metricsUrls);
  const countBefore = await messages.countDocuments({});
  await inspector?.startProfile();
  const cpuBefore = sampleCpu(cpuGroups);
  const t0 = performance.now();
  // Persisted msg/s per slice, so that a rate that falls as the collection grows shows.
  const slices: number[] = [];
  let sliceStart = { at: t0, count: countBefore };
  let sampling = true;
  let stopSampling: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => {
    stopSampling = resolve;
  });
  const sampler = (async () => {
    while (sampling) {
      await Promise.race([stopped, sleep(Math.max(0, sliceStart.at + config.sliceSeconds * 1000 - performance.now()))]);
      if (!sampling) break;
      const count = await messages.countDocuments({});
      const at = performance.now();
      slices.push(Math.round(ratePerSecond(sliceStart.count, count, at - sliceStart.at)));
      sliceStart = { at, count };
    }
  })();
  await load.all((id, i) => ({
    id,
    type: 'phase',
    options: { ...options, name, ratePerSecond: load.share(options.ratePerSecond, i), ackTimeoutMs: 120_000 },
  }));
  sampling = false;
  stopSampling();
  await sampler;
  const countAfter = await messages.countDocuments({});
  const elapsed = performance.now() - t0;
  const cpuAfter = sampleCpu(cpuGroups);
  let gatewayProfile: PhaseReport['gatewayProfile'];
  if (inspector) {
    const profile = (await inspector.stopProfile()) as Parameters<typeof profileByOwner>[0];
    inspector.close();
    mkdirSync(join(ROOT, config.out), { recursive: true });
    const file = join(ROOT, config.out, `${new Date().toISOString().replaceAll(':', '-').slice(0, 19)}-${name}.cpuprofile`);
    writeFileSync(file, JSON.stringify(profile));
    gatewayProfile = { file: file.slice(ROOT.length), top: topFrames(profile, 30), ...profileByOwner(profile, 25) };
  }
  const cpu = cpuPercent(cpuBefore, cpuAfter, elapsed);
  const persisted = countAfter - countBefore;
  const cpuMsPerMessage = Object.fromEntries(
    Object.keys(cpuAfter).map((group) => [
      group,
      persisted > 0 ? (((cpuAfter[group] ?? 0) - (cpuBefore[group] ?? 0)) * 1000) / persisted : Number.NaN,
    ]),
  );
  const commandsAfter = await mongoCommandsOf(started.metricsUrls);
  const mongoCommands = Object.fromEntries(Object.keys(commandsAfter).map((c) => [c, (commandsAfter[c] ?? 0) - (commandsBefore[c] ?? 0)]));
  const totalCommands = Object.values(mongoCommands).reduce((a, b) => a + b, 0);
  log(`${label}: ${name}: sent for ${(elapsed / 1000).toFixed(1)} s, draining`);
  const drained = (await load.all<{ drained: boolean }>((id) => ({ id, type: 'drain', timeoutMs: 120_000 }))).every((r) => r.drained);
  return {
    name,
    seconds: elapsed / 1000,
    persistedPerSecond: ratePerSecond(countBefore, countAfter, elapsed),
    persistedPerSlice: slices,
    cpu,
    cpuMsPerMessage,
    mongoCommands,
    mongoCommandsPerMessage: persisted > 0 ? totalCommands / persisted : Number.NaN,
    drained,
    gatewayProfile,
  };
}

function reportPhase(p: PhaseMeasure, finals: FinalResult[]): PhaseReport {
  const merged = {
    sent: 0,
    acked: 0,
    failed: 0,
    errors: {} as Record<string, number>,
    latencies: [] as number[],
    ackLatencies: [] as number[],
  };
  for (const final of finals) {
    const r = final.phases[p.name];
    if (!r) continue;
    merged.sent += r.sent;
    merged.acked += r.acked;
    merged.failed += r.failed;
    for (const [code, n] of Object.entries(r.errors)) merged.errors[code] = (merged.errors[code] ?? 0) + n;
    for (const v of r.latencies) merged.latencies.push(v);
    for (const v of r.ackLatencies) merged.ackLatencies.push(v);
  }
  return {
    seconds: p.seconds,
    sent: merged.sent,
    acked: merged.acked,
    failed: merged.failed,
    errors: merged.errors,
    latencyMs: summarizeLatency(merged.latencies),
    ackLatencyMs: summarizeLatency(merged.ackLatencies),
    persistedPerSecond: p.persistedPerSecond,
    persistedPerSlice: p.persistedPerSlice,
    drained: p.drained,
    cpuPercent: p.cpu,
    cpuMsPerMessage: p.cpuMsPerMessage,
    gatewayCpuUsPerMessage: (p.cpuMsPerMessage.gateway ?? Number.NaN) * 1000,
    mongoCommands: p.mongoCommands,
    mongoCommandsPerMessage: p.mongoCommandsPerMessage,
    ...(p.gatewayProfile ? { gatewayProfile: p.gatewayProfile } : {}),
  };
}

/** Memory per idle authenticated connection on the first edge process (which must be fresh), and the connect rate. */
async function measureIdle(started: Started, load: Load, count: number, label: string, cpuGroups?: CpuGroups): Promise<IdleReport> {
  const edge = started.edges[0]!;
  const inspector = edge.inspectorUrl ? await Inspector.connect(edge.inspectorUrl) : undefined;
  try {
    await sleep(2000);
    await inspector?.gc();
    const gcBefore = await inspector?.memoryUsage();
    const heapBefore = config.heapSnapshot ? await inspector?.heapByConstructor(Number.POSITIVE_INFINITY) : undefined;
    const rssBefore = rssOf(edge.pid);
    const t0 = performance.now();
    // Tokens signed first, so that the CPU sampled around the connects is the connects'.
    await load.all((id, i) => ({ id, type: 'signIdle', count: load.share(count, i) }));
    if (config.profileConnect) await inspector?.startProfile();
    const cpuBefore = cpuGroups ? sampleCpu(cpuGroups) : undefined;
    const commandsBefore = started.processes.messages ? await mongoCommandsOf(started.metricsUrls) : undefined;
    const results = await load.all<{ failed: number; errors: Record<string, number>; seconds: number }>((id, i) => ({
      id,
      type: 'connectIdle',
      count: load.share(count, i),
      offset: i,
    }));
    const cpuAfter = cpuGroups ? sampleCpu(cpuGroups) : undefined;
    const profile = config.profileConnect ? await inspector?.stopProfile() : undefined;
    // From the first connect to the last authenticated, over every generator (they start together).
    const connectSeconds = Math.max(...results.map((r) => r.seconds));
    const failed = results.reduce((n, r) => n + r.failed, 0);
    const failures: Record<string, number> = {};
    for (const r of results) for (const [k, v] of Object.entries(r.errors)) failures[k] = (failures[k] ?? 0) + v;
    log(`${label}: connect took ${((performance.now() - t0) / 1000).toFixed(1)} s with token signing`);
    await sleep(3000);
    // The catch-ups and profile updates the connects caused, once they are done.
    const commandsAfter = commandsBefore ? await mongoCommandsOf(started.metricsUrls) : undefined;
    const rssAfter = rssOf(edge.pid);
    const connected = count - failed;
    const report: IdleReport = {
      connections: connected,
      failed,
      failures,
      rssBeforeBytes: rssBefore,
      rssAfterBytes: rssAfter,
      bytesPerConnection: bytesPerConnection(rssBefore, rssAfter, connected),
      connectSeconds,
      connectionsPerSecond: connected / connectSeconds,
    };
    if (profile) {
      mkdirSync(join(ROOT, config.out), { recursive: true });
      const file = join(ROOT, config.out, `${new Date().toISOString().replaceAll(':', '-').slice(0, 19)}-connect.cpuprofile`);
      writeFileSync(file, JSON.stringify(profile));
      report.connectProfile = { file: file.slice(ROOT.length), top: topFrames(profile as Parameters<typeof topFrames>[0], 25) };
    }
    if (commandsBefore && commandsAfter) {
      report.mongoCommandsPerConnection = Object.fromEntries(
        Object.keys(commandsAfter).map((c) => [
          c,
          Math.round((((commandsAfter[c] ?? 0) - (commandsBefore[c] ?? 0)) / Math.max(1, connected)) * 1000) / 1000,
        ]),
      );
    }
    if (cpuBefore && cpuAfter) {
      report.cpuUsPerConnection = Object.fromEntries(
        Object.keys(cpuAfter).map((group) => [
          group,
          Math.round((((cpuAfter[group] ?? 0) - (cpuBefore[group] ?? 0)) * 1e6) / Math.max(1, connected)),
        ]),
      );
    }
    if (inspector && gcBefore) {
      await inspector.gc();
      const gcAfter = await inspector.memoryUsage();
      const per = (key: keyof typeof gcAfter) => (gcAfter[key] - gcBefore[key]) / connected;
      report.afterGc = {
        rss: per('rss'),
        heapUsed: per('heapUsed'),
        external: per('external'),
        arrayBuffers: per('arrayBuffers'),
        offHeapRss: per('rss') - per('heapTotal'),
      };
      if (heapBefore) {
        // What the connections added, per connection, by constructor: the snapshot after minus the one before.
        const before = new Map(heapBefore.map((g) => [g.name, g]));
        const after = await inspector.heapByConstructor(Number.POSITIVE_INFINITY);
        report.heapByConstructor = after
          .map((g) => ({
            name: g.name,
            count: (g.count - (before.get(g.name)?.count ?? 0)) / connected,
            selfBytes: (g.selfBytes - (before.get(g.name)?.selfBytes ?? 0)) / connected,
          }))
          .sort((a, b) => b.selfBytes - a.selfBytes)
          .slice(0, 40);
      }
    }
    const kib = (v: number) => (v / 1024).toFixed(1);
    log(
      `${label}: ${connected} idle connections (${failed} failed) in ${connectSeconds.toFixed(1)} s (${report.connectionsPerSecond.toFixed(0)}/s), ${kib(report.bytesPerConnection)} KiB RSS each` +
        (report.afterGc
          ? `; after GC: RSS ${kib(report.afterGc.rss)}, heap ${kib(report.afterGc.heapUsed)}, external ${kib(report.afterGc.external)}, RSS beyond the heap ${kib(report.afterGc.offHeapRss)} KiB`
          : '') +
        (report.cpuUsPerConnection
          ? `; CPU µs per connection: ${Object.entries(report.cpuUsPerConnection)
              .map(([g, us]) => `${g} ${us}`)
              .join(', ')}`
          : '') +
        (report.mongoCommandsPerConnection
          ? `; MongoDB commands per connection: ${JSON.stringify(report.mongoCommandsPerConnection)}`
          : ''),
    );
    return report;
  } finally {
    inspector?.close();
  }
}

async function runSystem(system: 'ours' | 'baseline'): Promise<SystemReport> {
  const database = databases[system];
  const profileEnv = (service: string): Record<string, string> =>
    profileDir ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${profileDir}/${system}-${service}` } : {};
  log(`${system}: starting`);
  const started: Started =
    system === 'ours'
      ? await startOurs({
          infra,
          namespace,
          database,
          secret,
          partitions: config.partitions,
          extraEnv: profileEnv,
          inspect: true,
          gatewayEnv: config.gatewayEnv,
          gatewayNodeArgs: config.gatewayNodeArgs,
        })
      : await startBaseline({ infra, database, secret, extraEnv: profileEnv('baseline') });
  const mongo = new MongoClient(mongoUrlFor(infra, database));
  const load = new Load([started.url], system === 'ours' ? 'authenticated' : 'connect');
  const self = () => [process.pid];
  const cpuGroups: CpuGroups =
    system === 'ours'
      ? {
          gateway: () => [started.edgePid],
          messages: () => [started.processes.messages?.child.pid as number],
          presence: () => [started.processes.presence?.child.pid as number],
          bench: self,
          nats: () => pidsNamed('nats-server'),
          ferretdb: () => pidsNamed('ferretdb'),
          postgres: () => pidsNamed('postgres'),
        }
      : { baseline: () => [started.edgePid], bench: self, ferretdb: () => pidsNamed('ferretdb'), postgres: () => pidsNamed('postgres') };
  try {
    await mongo.connect();
    const messages = mongo.db().collection('messages');
    if (system === 'baseline') {
      // The spec creates conversations over REST before chatting; its send handler only updates them.
      const docs = [];
      for (let w = 0; w < config.workers; w++) {
        for (let n = 0; n < load.share(config.pairs, w); n++) {
          const id = conversationIdOf(`${runId}w${w}a${n}` as UserId, `${runId}w${w}b${n}` as UserId);
          docs.push({ _id: id as never, participants: participantsOf(id), unreadCount: {}, createdAt: new Date(), updatedAt: new Date() });
        }
      }
      await mongo.db().collection('conversations').insertMany(docs);
    }

    // 1. Memory per idle authenticated connection, on a fresh edge process.
    let idle: SystemReport['idle'] = null;
    if (config.idle > 0) {
      idle = await measureIdle(started, load, config.idle, system, {
        ...cpuGroups,
        redis: () => pidsNamed('redis-server'),
        bench: () => [process.pid, ...load.pids()],
      });
      await load.all((id) => ({ id, type: 'closeIdle' }));
      await sleep(1000);
    }

    // 2. Pairs, warm-up, then the latency phase at a fixed rate and the throughput phase with a window.
    await load.all((id, i) => ({ id, type: 'connectPairs', pairs: load.share(config.pairs, i) }));
    log(`${system}: ${config.pairs} pairs connected`);
    const ctx: PhaseContext = { load, cpuGroups, started, messages, label: system };
    const phase = (name: string, options: Omit<PhaseOptions, 'name' | 'ackTimeoutMs'>) => measurePhase(ctx, name, options);
    if (config.warmupSeconds > 0)
      await phase('warmup', { mode: 'rate', ratePerSecond: config.rate, window: 1, durationMs: config.warmupSeconds * 1000 });
    log(`${system}: latency phase, ${config.rate} msg/s for ${config.latencySeconds} s`);
    const latency = await phase('latency', {
      mode: 'rate',
      ratePerSecond: config.rate,
      window: 1,
      durationMs: config.latencySeconds * 1000,
    });
    log(`${system}: throughput phase, window ${config.window} per client for ${config.throughputSeconds} s`);
    const throughput = await phase('throughput', {
      mode: 'window',
      ratePerSecond: 0,
      window: config.window,
      durationMs: config.throughputSeconds * 1000,
    });

    // 3. What was acked, received and stored.
    log(`${system}: collecting results`);
    const finals = await load.all<FinalResult>((id) => ({ id, type: 'final' }));
    const { outcomes, unexpectedReceived } = mergeOutcomes(finals);
    log(`${system}: reading the store`);
    const stored = new Map<string, number>();
    for await (const doc of messages.find({}, { projection: { 'content.text': 1 } })) {
      const text = (doc as { content?: { text?: string } }).content?.text ?? '';
      if (!text.startsWith('bench ')) continue;
      const key = text.slice('bench '.length);
      stored.set(key, (stored.get(key) ?? 0) + 1);
    }
    log(`${system}: ${stored.size} keys stored`);
    const phaseReport = (p: PhaseMeasure) => reportPhase(p, finals);
    const sum = (key: 'orderViolations' | 'errorEvents' | 'disconnects') => finals.reduce((n, f) => n + f[key], 0);
    return {
      system,
      idle,
      latency: phaseReport(latency),
      throughput: phaseReport(throughput),
      accounting: {
        ...accountMessages(outcomes, stored),
        unexpectedReceived,
        orderViolations: sum('orderViolations'),
        errorEvents: sum('errorEvents'),
        disconnects: sum('disconnects'),
        stored: [...stored.values()].reduce((a, b) => a + b, 0),
      },
    };
  } finally {
    log(`${system}: stopping`);
    await load.close();
    await mongo.close();
    await started.stop();
    log(`${system}: stopped`);
  }
}

function profilesOf(system: string): Record<string, ReturnType<typeof topFrames>> {
  const out: Record<string, ReturnType<typeof topFrames>> = {};
  if (!profileDir) return out;
  for (const entry of readdirSync(profileDir)) {
    if (!entry.startsWith(`${system}-`)) continue;
    const dir = join(profileDir, entry);
    for (const file of readdirSync(dir)) {
      if (!file.endsWith('.cpuprofile')) continue;
      const frames = topFrames(JSON.parse(readFileSync(join(dir, file), 'utf8')), 20);
      // The service's main thread writes the largest profile; keep one per service.
      const name = entry.slice(system.length + 1);
      if (!out[name] || frames.reduce((n, f) => n + f.selfMs, 0) > out[name].reduce((n, f) => n + f.selfMs, 0)) out[name] = frames;
    }
  }
  return out;
}

const fmt = (v: number, digits = 1) => (Number.isFinite(v) ? v.toFixed(digits) : '-');

function printTable(reports: SystemReport[]): Record<string, number> {
  const ours = reports.find((r) => r.system === 'ours');
  const base = reports.find((r) => r.system === 'baseline');
  const rows: Array<[string, (r: SystemReport) => number, number]> = [
    [`latency @${config.rate}/s p50 ms`, (r) => r.latency.latencyMs.p50, 2],
    ['latency p90 ms', (r) => r.latency.latencyMs.p90, 2],
    ['latency p99 ms', (r) => r.latency.latencyMs.p99, 2],
    ['latency max ms', (r) => r.latency.latencyMs.max, 1],
    ['persisted msg/s @rate', (r) => r.latency.persistedPerSecond, 0],
    ['throughput persisted msg/s', (r) => r.throughput.persistedPerSecond, 0],
    ['throughput: MongoDB commands / msg', (r) => r.throughput.mongoCommandsPerMessage, 2],
    [`gateway CPU µs / msg @${config.rate}/s`, (r) => r.latency.gatewayCpuUsPerMessage, 0],
    ['throughput: gateway CPU µs / msg', (r) => r.throughput.gatewayCpuUsPerMessage, 0],
    ['throughput: CPU ms / msg (all)', (r) => Object.values(r.throughput.cpuMsPerMessage).reduce((a, b) => a + b, 0), 2],
    [
      'throughput: last slice / first slice',
      (r) => (r.throughput.persistedPerSlice.at(-1) ?? Number.NaN) / (r.throughput.persistedPerSlice[0] ?? Number.NaN),
      2,
    ],
    ['throughput latency p50 ms', (r) => r.throughput.latencyMs.p50, 1],
    ['throughput latency p99 ms', (r) => r.throughput.latencyMs.p99, 1],
    ['sent', (r) => r.accounting.sent, 0],
    ['errors (failed sends)', (r) => r.accounting.failed + r.accounting.errorEvents, 0],
    ['lost', (r) => r.accounting.lost, 0],
    ['duplicated', (r) => r.accounting.duplicated, 0],
    ['order violations', (r) => r.accounting.orderViolations, 0],
    ['idle KiB / connection', (r) => (r.idle ? r.idle.bytesPerConnection / 1024 : Number.NaN), 1],
  ];
  const ratios: Record<string, number> = {};
  const lines = [['metric', 'ours', 'baseline', 'ours/baseline']];
  for (const [label, get, digits] of rows) {
    const a = ours ? get(ours) : Number.NaN;
    const b = base ? get(base) : Number.NaN;
    const ratio = b !== 0 ? a / b : Number.NaN;
    ratios[label] = ratio;
    lines.push([label, fmt(a, digits), fmt(b, digits), fmt(ratio, 2)]);
  }
  const widths = lines[0]!.map((_, i) => Math.max(...lines.map((l) => l[i]!.length)));
  for (const line of lines) console.log(line.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  '));
  return ratios;
}

/** The descriptor limit a gateway process runs with here (hard `ulimit -n`), and what it needs beside its clients. */
const FD_LIMIT = 20_000;
const FD_RESERVE = 600;

interface GatewaysReport {
  gateways: number;
  connections: number;
  pairs: number;
  connect: { seconds: number; perSecond: number; failed: number; failures: Record<string, number> };
  /** Users online in Redis (users with a live connection) against users connected, once settled. */
  online: { expected: number; inRedis: number; settledSeconds: number };
  /** How long after the connects the store's catch-up lookups went on, before the loaded phase. */
  lookupsSettled: { seconds: number; finds: number };
  rssPerConnectionKiB: number[];
  reference: PhaseReport & { connections: number };
  loaded: PhaseReport & { connections: number };
  p99Ratio: number;
  /** Each load generator's event-loop delay over the reference and the loaded phase. */
  generatorLoopDelayMs: { reference: LoopDelay[]; loaded: LoopDelay[] };
  /** Each gateway's event-loop delay over the reference and the loaded phase, and its time in major GCs. */
  gatewayLoopDelayMs: { reference: GatewayLoopDelay[]; loaded: GatewayLoopDelay[] };
  storm: {
    connectionsBefore: number;
    killed: number;
    dropped: number;
    reconnected: number;
    failedAttempts: number;
    reconnectErrors: Record<string, number>;
    reconnectMs: LatencySummary;
    /** Reconnected within the presence TTL (15 s, the target), of all dropped. */
    reconnectedWithinTtl: number;
    allReconnectedSeconds: number;
    /** Each load generator's event-loop delay over the storm. */
    generatorLoopDelayMs: LoopDelay[];
    survivingGatewaysLoopDelayMaxMs: number[];
    /** Lowest users-online count in Redis sampled during the storm, and the count after the dead gateway's TTL. */
    minOnline: number;
    /** The survivors' catch-ups waiting for a slot: the most sampled, when none were left (s after the kill), and at the end. */
    catchUps: { maxWaiting: number; doneSeconds: number; waitingAtEnd: number };
    onlineAfterTtl: number;
    expected: number;
    chat: PhaseReport;
  };
  accounting: ReturnType<typeof accountMessages> & { orderViolations: number; errorEvents: number };
}

/** A gateway's event-loop delay over a phase (prom-client's, reset at each scrape) and its major GCs' time in it. */
type GatewayLoopDelay = LoopDelay & { majorGcMs: number };

/** Each gateway's Prometheus text from its ops port. */
const scrapeGateways = (edges: Started['edges']): Promise<string[]> =>
  Promise.all(edges.map(async (edge) => (await fetch(`${edge.opsUrl}/metrics`)).text()));

/**
 * Waits until the store's `find`s stop (none for 3 s, at most 120 s): each connect may look up what its user missed,
 * and on FerretDB v1 each lookup scans its table, so after tens of thousands of connects the store is still busy
 * with them for a while. The loaded phase measures the chat load with the connections held, not that backlog.
 */
async function settleLookups(metricsUrls: string[]): Promise<{ seconds: number; finds: number }> {
  const t0 = performance.now();
  const finds = async () => (await mongoCommandsOf(metricsUrls)).find ?? 0;
  const first = await finds();
  let last = first;
  let quietSince = performance.now();
  while (performance.now() - quietSince < 3000 && performance.now() - t0 < 120_000) {
    await sleep(500);
    const now = await finds();
    if (now !== last) quietSince = performance.now();
    last = now;
  }
  return { seconds: (quietSince - t0) / 1000, finds: last - first };
}

/**
 * `--gateways N` (N > 1): N gateways of ours on this machine, `--idle` connections over them (each its own user),
 * `--pairs` chatting across two of them. The chat load's latency with about 1,000 connections, then with all of
 * them; the online count in Redis; then gateway 0 killed (SIGKILL) and its clients reconnecting to the others
 * while the chat goes on (pairs are on the other gateways), and presence after its TTL.
 */
async function runGateways(): Promise<GatewaysReport> {
  const label = `ours x${config.gateways}`;
  log(`${label}: starting`);
  const started = await startOurs({
    infra,
    namespace,
    database: databases.ours,
    secret,
    partitions: config.partitions,
    extraEnv: () => ({}),
    gateways: config.gateways,
    gatewayEnv: config.gatewayEnv,
    gatewayNodeArgs: config.gatewayNodeArgs,
  });
  const urls = started.edges.map((edge) => edge.url);
  const load = new Load(urls, 'authenticated', { pairUrls: urls.slice(1), reconnect: true });
  const mongo = new MongoClient(mongoUrlFor(infra, databases.ours));
  const redis = new Redis(infra.redisUrl, { lazyConnect: true });
  const alive = new Set(started.edges.map((edge) => edge.pid));
  const cpuGroups: CpuGroups = {
    gateway: () => [...alive],
    messages: () => [started.processes.messages?.child.pid as number],
    presence: () => [started.processes.presence?.child.pid as number],
    nats: () => pidsNamed('nats-server'),
    redis: () => pidsNamed('redis-server'),
    ferretdb: () => pidsNamed('ferretdb'),
    postgres: () => pidsNamed('postgres'),
    // This process and the load-generator processes (their CPU is what the storm's figures depend on).
    load: () => [process.pid, ...load.workers.flatMap((worker) => ('pid' in worker && worker.pid ? [worker.pid] : []))],
  };
  const onlineUsers = async (): Promise<number> => {
    let cursor = '0';
    let n = 0;
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${namespace}:presence:u:*:conns`, 'COUNT', 5000);
      n += keys.length;
      cursor = next;
    } while (cursor !== '0');
    return n;
  };
  const waitOnline = async (expected: number, timeoutMs: number): Promise<{ inRedis: number; seconds: number }> => {
    const t0 = performance.now();
    let inRedis = await onlineUsers();
    while (inRedis !== expected && performance.now() - t0 < timeoutMs) {
      await sleep(500);
      inRedis = await onlineUsers();
    }
    return { inRedis, seconds: (performance.now() - t0) / 1000 };
  };
  try {
    await mongo.connect();
    await redis.connect();
    const ctx: PhaseContext = { load, cpuGroups, started, messages: mongo.db().collection('messages'), label };
    const chat = { mode: 'rate' as const, ratePerSecond: config.rate, window: 1, durationMs: config.latencySeconds * 1000 };
    const connectIdle = async (count: number) => {
      const results = await load.all<{ failed: number; errors: Record<string, number>; seconds: number }>((id, i) => ({
        id,
        type: 'connectIdle',
        count: load.share(count, i),
        offset: i,
      }));
      const failures: Record<string, number> = {};
      for (const r of results) for (const [k, v] of Object.entries(r.errors)) failures[k] = (failures[k] ?? 0) + v;
      return { seconds: Math.max(...results.map((r) => r.seconds)), failed: results.reduce((n, r) => n + r.failed, 0), failures };
    };

    // 1. The reference: the chat load with about 1,000 connections in all.
    await load.all((id, i) => ({ id, type: 'connectPairs', pairs: load.share(config.pairs, i) }));
    const referenceIdle = Math.max(0, Math.min(config.idle, 1000 - config.pairs * 2));
    const referenceConnect = await connectIdle(referenceIdle);
    if (referenceConnect.failed > 0)
      log(
        `${label}: reference: ${referenceConnect.failed} of ${referenceIdle} idle connections failed ${JSON.stringify(referenceConnect.failures)}`,
      );
    if (config.warmupSeconds > 0) await measurePhase(ctx, 'warmup', { ...chat, durationMs: config.warmupSeconds * 1000 });
    log(`${label}: reference: ${config.rate} msg/s with ${config.pairs * 2 + referenceIdle} connections`);
    // The load generators time the round trips: their own event-loop delay over each phase says how much of it is theirs.
    const loopDelays = () => load.all<LoopDelay>((id) => ({ id, type: 'loopDelay' }));
    const delayLine = (delays: LoopDelay[]) =>
      `p99 ${delays.map((d) => d.p99Ms.toFixed(0)).join('/')} ms, max ${delays.map((d) => d.maxMs.toFixed(0)).join('/')} ms`;
    const logDelays = (phase: string, delays: LoopDelay[]) =>
      log(`${label}: ${phase}: load generators' event-loop delay ${delayLine(delays)}`);
    // The gateways' own delay: prom-client's event-loop histogram restarts at every scrape.
    const gatewayLoopDelays = async (edges: typeof started.edges): Promise<GatewayLoopDelay[]> =>
      (await scrapeGateways(edges)).map((text) => ({
        p99Ms: (metricValue(text, 'nodejs_eventloop_lag_p99_seconds') ?? Number.NaN) * 1000,
        maxMs: (metricValue(text, 'nodejs_eventloop_lag_max_seconds') ?? Number.NaN) * 1000,
        // Time in major GCs so far (a counter: the phase's share is the difference of two scrapes).
        majorGcMs: (metricValue(text, 'nodejs_gc_duration_seconds_sum', 'kind="major"') ?? 0) * 1000,
      }));
    const gatewayLoopMaxMs = async (edges: typeof started.edges) => (await gatewayLoopDelays(edges)).map((delay) => delay.maxMs);
    const logGatewayDelays = (phase: string, delays: GatewayLoopDelay[]) =>
      log(
        `${label}: ${phase}: gateways' event-loop delay ${delayLine(delays)}; major GC ${delays.map((d) => d.majorGcMs.toFixed(0)).join('/')} ms`,
      );
    /** The delays after a phase, with the major GC time spent in it. */
    const gcOver = (before: GatewayLoopDelay[], after: GatewayLoopDelay[]) =>
      after.map((delay, i) => ({ ...delay, majorGcMs: delay.majorGcMs - (before[i]?.majorGcMs ?? 0) }));
    await loopDelays();
    const referenceGcBefore = await gatewayLoopDelays(started.edges);
    const reference = await measurePhase(ctx, 'reference', chat);
    const referenceDelay = await loopDelays();
    const referenceGatewayDelay = gcOver(referenceGcBefore, await gatewayLoopDelays(started.edges));
    logDelays('reference', referenceDelay);
    logGatewayDelays('reference', referenceGatewayDelay);

    // 2. Every connection.
    const rssBefore = started.edges.map((edge) => rssOf(edge.pid));
    const rest = config.idle - referenceIdle;
    log(`${label}: opening ${rest} more connections`);
    const connect = await connectIdle(rest);
    const total = config.pairs * 2 + config.idle - referenceConnect.failed - connect.failed;
    log(
      `${label}: ${rest - connect.failed} connected in ${connect.seconds.toFixed(1)} s (${((rest - connect.failed) / connect.seconds).toFixed(0)}/s), ${connect.failed} failed`,
    );
    const settled = await waitOnline(total, 30_000);
    log(`${label}: users online in Redis ${settled.inRedis} of ${total} (${settled.seconds.toFixed(1)} s)`);
    await sleep(2000);
    const quiet = await settleLookups(started.metricsUrls);
    log(
      `${label}: the connects' catch-up lookups ended ${quiet.seconds.toFixed(1)} s after the last connect's presence (${quiet.finds} finds meanwhile)`,
    );
    const perGateway = started.edges.map(() => total / config.gateways);
    const rssPerConnectionKiB = started.edges.map((edge, i) => (rssOf(edge.pid) - rssBefore[i]!) / perGateway[i]! / 1024);
    log(`${label}: loaded: ${config.rate} msg/s with ${total} connections`);
    await loopDelays();
    const loadedGcBefore = await gatewayLoopDelays(started.edges);
    const loaded = await measurePhase(ctx, 'loaded', chat);
    const loadedDelay = await loopDelays();
    const loadedGatewayDelay = gcOver(loadedGcBefore, await gatewayLoopDelays(started.edges));
    logDelays('loaded', loadedDelay);
    logGatewayDelays('loaded', loadedGatewayDelay);

    // 3. The storm. The survivors must have descriptors for the dead gateway's clients: trim the idle ones to fit.
    const fits = (config.gateways - 1) * (FD_LIMIT - FD_RESERVE);
    let before = total;
    if (before > fits) {
      log(
        `${label}: closing ${before - fits} idle connections so that ${config.gateways - 1} gateways can hold all (${FD_LIMIT} descriptors each)`,
      );
      await load.all((id, i) => ({ id, type: 'closeIdle', count: load.share(before - fits, i) }));
      before = fits;
      await waitOnline(before, 30_000);
    }
    await loopDelays();
    await gatewayLoopMaxMs(started.edges.slice(1));
    const victim = started.edges[0]!;
    const victimSockets = Math.round(before / config.gateways);
    log(`${label}: killing gateway 0 (about ${victimSockets} of ${before} connections)`);
    const t0 = performance.now();
    victim.process?.child.kill('SIGKILL');
    alive.delete(victim.pid);
    let minOnline = Number.POSITIVE_INFINITY;
    let allReconnectedAt = Number.NaN;
    // The survivors' catch-ups waiting for a slot (their sockets' live messages held): the most, and when none were left.
    let maxCatchUpsWaiting = 0;
    let catchUpsDoneAt = Number.NaN;
    const catchUpsWaiting = async () =>
      (await scrapeGateways(started.edges.slice(1))).reduce((sum, text) => sum + (metricValue(text, 'chat_catch_ups_waiting') ?? 0), 0);
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        minOnline = Math.min(minOnline, await onlineUsers());
        const waiting = await catchUpsWaiting();
        maxCatchUpsWaiting = Math.max(maxCatchUpsWaiting, waiting);
        if (waiting > 0) catchUpsDoneAt = Number.NaN;
        else if (maxCatchUpsWaiting > 0 && Number.isNaN(catchUpsDoneAt)) catchUpsDoneAt = (performance.now() - t0) / 1000;
        const r = await load.all<{ dropped: number; reconnected: number }>((id) => ({ id, type: 'reconnects' }));
        const dropped = r.reduce((n, x) => n + x.dropped, 0);
        const back = r.reduce((n, x) => n + x.reconnected, 0);
        if (Number.isNaN(allReconnectedAt) && dropped > 0 && back >= dropped) allReconnectedAt = (performance.now() - t0) / 1000;
        await sleep(500);
      }
    })();
    const storm = await measurePhase(ctx, 'storm', { ...chat, durationMs: Math.max(config.stormSeconds, 20) * 1000 });
    sampling = false;
    await sampler;
    const afterTtl = await waitOnline(before, 10_000);
    const reconnects = await load.all<{
      dropped: number;
      reconnected: number;
      failedAttempts: number;
      errors: Record<string, number>;
      ms: number[];
    }>((id) => ({ id, type: 'reconnects' }));
    const generatorDelay = await loopDelays();
    const survivorsDelay = await gatewayLoopMaxMs(started.edges.slice(1));
    log(`${label}: storm: surviving gateways' event-loop delay max ${survivorsDelay.map((ms) => ms.toFixed(0)).join('/')} ms`);
    const catchUpsLeft = await catchUpsWaiting();
    log(
      `${label}: storm: catch-ups waiting at most ${maxCatchUpsWaiting}, ${Number.isNaN(catchUpsDoneAt) ? `${catchUpsLeft} still waiting at the end` : `none left ${catchUpsDoneAt.toFixed(1)} s after the kill`}`,
    );
    logDelays('storm', generatorDelay);
    const reconnectErrors: Record<string, number> = {};
    for (const r of reconnects) for (const [k, v] of Object.entries(r.errors)) reconnectErrors[k] = (reconnectErrors[k] ?? 0) + v;
    log(
      `${label}: storm: ${reconnects.reduce((n, r) => n + r.reconnected, 0)} of ${reconnects.reduce((n, r) => n + r.dropped, 0)} reconnected${Number.isNaN(allReconnectedAt) ? ' (not all within the run)' : ` in ${allReconnectedAt.toFixed(1)} s`}; users online lowest ${minOnline}, after the TTL ${afterTtl.inRedis} of ${before}`,
    );

    const finals = await load.all<FinalResult>((id) => ({ id, type: 'final' }));
    const { outcomes } = mergeOutcomes(finals);
    const stored = new Map<string, number>();
    for await (const doc of ctx.messages.find({}, { projection: { 'content.text': 1 } })) {
      const text = (doc as { content?: { text?: string } }).content?.text ?? '';
      if (text.startsWith('bench ')) stored.set(text.slice(6), (stored.get(text.slice(6)) ?? 0) + 1);
    }
    const referenceReport = { ...reportPhase(reference, finals), connections: config.pairs * 2 + referenceIdle };
    const loadedReport = { ...reportPhase(loaded, finals), connections: total };
    return {
      gateways: config.gateways,
      connections: total,
      pairs: config.pairs,
      connect: {
        seconds: connect.seconds,
        perSecond: (rest - connect.failed) / connect.seconds,
        failed: connect.failed,
        failures: connect.failures,
      },
      online: { expected: total, inRedis: settled.inRedis, settledSeconds: settled.seconds },
      lookupsSettled: quiet,
      rssPerConnectionKiB,
      reference: referenceReport,
      loaded: loadedReport,
      p99Ratio: loadedReport.latencyMs.p99 / referenceReport.latencyMs.p99,
      generatorLoopDelayMs: { reference: referenceDelay, loaded: loadedDelay },
      gatewayLoopDelayMs: { reference: referenceGatewayDelay, loaded: loadedGatewayDelay },
      storm: {
        connectionsBefore: before,
        killed: victimSockets,
        dropped: reconnects.reduce((n, r) => n + r.dropped, 0),
        reconnected: reconnects.reduce((n, r) => n + r.reconnected, 0),
        failedAttempts: reconnects.reduce((n, r) => n + r.failedAttempts, 0),
        reconnectErrors,
        reconnectMs: summarizeLatency(reconnects.flatMap((r) => r.ms)),
        reconnectedWithinTtl: reconnects.flatMap((r) => r.ms).filter((ms) => ms <= DEFAULT_PRESENCE_GATEWAY_TTL_MS).length,
        allReconnectedSeconds: allReconnectedAt,
        generatorLoopDelayMs: generatorDelay,
        survivingGatewaysLoopDelayMaxMs: survivorsDelay,
        minOnline,
        catchUps: { maxWaiting: maxCatchUpsWaiting, doneSeconds: catchUpsDoneAt, waitingAtEnd: catchUpsLeft },
        onlineAfterTtl: afterTtl.inRedis,
        expected: before,
        chat: reportPhase(storm, finals),
      },
      accounting: {
        ...accountMessages(outcomes, stored),
        orderViolations: finals.reduce((n, f) => n + f.orderViolations, 0),
        errorEvents: finals.reduce((n, f) => n + f.errorEvents, 0),
      },
    };
  } finally {
    log(`${label}: stopping`);
    await load.close();
    await mongo.close();
    redis.disconnect();
    await started.stop();
    keepGatewayWarnings(started.edges);
  }
}

/**
 * What the gateways logged at warn level and above (a presence report timed out, a resync, NATS away...), one file
 * per gateway beside the results: the storm and the loaded phase are read with them.
 */
function keepGatewayWarnings(edges: Started['edges']): void {
  mkdirSync(join(ROOT, config.out), { recursive: true });
  edges.forEach((edge, i) => {
    const lines = (edge.process?.output() ?? '').split('\n').filter((line) => /"level":(4|5|6)0\b/.test(line));
    const file = join(ROOT, config.out, `${runId}-gateway${i}-warnings.log`);
    writeFileSync(file, lines.length > 0 ? `${lines.join('\n')}\n` : '');
    log(`gateway ${i}: ${lines.length} warnings and errors (${file.slice(ROOT.length)})`);
  });
}

if (config.gateways > 1) {
  let report: GatewaysReport | undefined;
  try {
    report = await runGateways();
  } finally {
    await cleanup(infra, namespace, Object.values(databases)).catch((error: unknown) => log(`cleanup failed: ${String(error)}`));
  }
  const p = (r: PhaseReport) =>
    `p50 ${fmt(r.latencyMs.p50, 2)} / p99 ${fmt(r.latencyMs.p99, 2)} ms, ${r.failed} failed, gateway CPU ${fmt(r.gatewayCpuUsPerMessage, 0)} µs/msg`;
  console.log(
    `connections: ${report.connections} over ${report.gateways} gateways, opened at ${fmt(report.connect.perSecond, 0)}/s, ${report.connect.failed} failed; RSS KiB/connection per gateway: ${report.rssPerConnectionKiB.map((v) => fmt(v)).join(', ')}`,
  );
  console.log(`users online in Redis: ${report.online.inRedis} of ${report.online.expected}`);
  console.log(`reference (${report.reference.connections} connections): ${p(report.reference)}`);
  console.log(`loaded (${report.loaded.connections} connections): ${p(report.loaded)}; p99 ratio ${fmt(report.p99Ratio, 2)}`);
  const st = report.storm;
  console.log(
    `storm: ${st.reconnected} of ${st.dropped} reconnected, ${st.reconnectedWithinTtl} within the presence TTL (${st.failedAttempts} failed attempts ${JSON.stringify(st.reconnectErrors)}) in ${fmt(st.allReconnectedSeconds)} s, reconnect p50/p99 ${fmt(st.reconnectMs.p50, 0)}/${fmt(st.reconnectMs.p99, 0)} ms; online lowest ${st.minOnline}, after TTL ${st.onlineAfterTtl} of ${st.expected}; chat during it: ${p(st.chat)}`,
  );
  console.log(
    `sent ${report.accounting.sent}, lost ${report.accounting.lost}, duplicated ${report.accounting.duplicated}, order violations ${report.accounting.orderViolations}, error events ${report.accounting.errorEvents}`,
  );
  mkdirSync(join(ROOT, config.out), { recursive: true });
  const file = join(ROOT, config.out, `${new Date().toISOString().replaceAll(':', '-').slice(0, 19)}-gateways.json`);
  writeFileSync(file, `${JSON.stringify({ runId, config, report }, null, 2)}\n`);
  console.log(`written ${file.slice(ROOT.length)}`);
  process.exit(report.accounting.lost > 0 || report.accounting.duplicated > 0 ? 1 : 0);
}

const reports: SystemReport[] = [];
let failure: unknown;
try {
  for (const system of config.systems) {
    const report = await runSystem(system);
    if (profileDir) report.profiles = profilesOf(system);
    reports.push(report);
  }
} catch (error) {
  failure = error;
} finally {
  await cleanup(infra, namespace, Object.values(databases)).catch((error: unknown) => log(`cleanup failed: ${String(error)}`));
}
if (failure) throw failure;

const ratios = printTable(reports);
const ours = reports.find((r) => r.system === 'ours');
const base = reports.find((r) => r.system === 'baseline');
const targets = ours
  ? {
      throughputAtLeast2xBaseline: base ? ours.throughput.persistedPerSecond >= 2 * base.throughput.persistedPerSecond : null,
      p50NoWorseThanBaseline: base ? ours.latency.latencyMs.p50 <= base.latency.latencyMs.p50 : null,
      p99AtMost1_5xBaseline: base ? ours.latency.latencyMs.p99 <= 1.5 * base.latency.latencyMs.p99 : null,
      mongoCommandsPerMessageAtMost0_5: ours.throughput.mongoCommandsPerMessage <= 0.5,
      lastSliceAtLeast80PercentOfFirst:
        ours.throughput.persistedPerSlice.length > 1
          ? ours.throughput.persistedPerSlice.at(-1)! >= 0.8 * ours.throughput.persistedPerSlice[0]!
          : null,
      zeroOrderViolations: ours.accounting.orderViolations === 0,
      zeroLostAndDuplicated: ours.accounting.lost === 0 && ours.accounting.duplicated === 0,
      latencyMeasuredAtRate: config.rate,
      p50AtMost2ms: ours.latency.latencyMs.p50 <= 2,
      p99AtMost10ms: ours.latency.latencyMs.p99 <= 10,
      p99NoWorseThanBaseline: base ? ours.latency.latencyMs.p99 <= base.latency.latencyMs.p99 : null,
      idleAtMost16KiB: ours.idle ? ours.idle.bytesPerConnection <= 16 * 1024 : null,
      idleConnections: ours.idle?.connections ?? 0,
    }
  : {};
for (const r of reports) {
  const per = Object.entries(r.throughput.cpuMsPerMessage)
    .map(([group, ms]) => `${group} ${fmt(ms, 2)}`)
    .join(', ');
  console.log(`${r.system}: throughput CPU ms/msg: ${per}`);
  console.log(
    `${r.system}: persisted msg/s per ${config.sliceSeconds} s: ${r.throughput.persistedPerSlice.join(', ')}; MongoDB commands: ${JSON.stringify(r.throughput.mongoCommands)}`,
  );
}
console.log(`targets: ${JSON.stringify(targets)}`);
const machine = {
  cpus: (await import('node:os')).cpus().length,
  cpuModel: (await import('node:os')).cpus()[0]?.model,
  memoryGiB: Math.round((await import('node:os')).totalmem() / 2 ** 30),
  node: process.version,
  mongo: 'FerretDB v1 on PostgreSQL (MongoDB wire protocol)',
};
mkdirSync(join(ROOT, config.out), { recursive: true });
const file = join(ROOT, config.out, `${new Date().toISOString().replaceAll(':', '-').slice(0, 19)}.json`);
writeFileSync(file, `${JSON.stringify({ runId, config, machine, reports, ratios, targets }, null, 2)}\n`);
console.log(`written ${file.slice(ROOT.length)}`);
const bad = reports.some((r) => r.accounting.lost > 0 || r.accounting.duplicated > 0);
if (ours && (ours.accounting.lost > 0 || ours.accounting.duplicated > 0)) console.error('ours lost or duplicated messages');
process.exit(ours && bad && (ours.accounting.lost > 0 || ours.accounting.duplicated > 0) ? 1 : 0);

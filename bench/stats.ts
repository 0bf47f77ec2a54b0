/**
 * The benchmark's pure arithmetic: latency percentiles and the accounting of lost and duplicated messages.
 * No I/O here, so `stats.test.ts` can check it on fixed inputs.
 */

export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** The nearest-rank percentile (`p` in 0–100) of values sorted ascending; NaN for no values. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  if (p <= 0) return sorted[0] as number;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, rank) - 1] as number;
}

export function summarizeLatency(values: readonly number[]): LatencySummary {
  const sorted = Float64Array.from(values).sort();
  const list = Array.from(sorted);
  let sum = 0;
  for (const value of list) sum += value;
  return {
    count: list.length,
    p50: percentile(list, 50),
    p90: percentile(list, 90),
    p99: percentile(list, 99),
    max: list.length === 0 ? Number.NaN : (list.at(-1) as number),
    mean: list.length === 0 ? Number.NaN : sum / list.length,
  };
}

/** What one message key went through, merged over every worker. */
export interface MessageOutcome {
  /** The server acknowledged it as stored (`{ ok: true }`). */
  acked: boolean;
  /** The ack said no, or never came. */
  failed: boolean;
  /** `new_message` events the receiver got with this key. */
  received: number;
}

export interface Accounting {
  sent: number;
  acked: number;
  /** Sends whose ack was an error or never came. */
  failed: number;
  /** Acked but never shown to the receiver. */
  lostDelivery: number;
  /** Acked but not in the database. */
  lostStore: number;
  /** Acked and missing from the receiver or the database (each key once). */
  lost: number;
  /** Keys the receiver got more than once. */
  duplicatedDelivery: number;
  /** Keys stored more than once. */
  duplicatedStore: number;
  duplicated: number;
  /** Keys received or stored that were never sent (a bug in the system or the bench). */
  unexpected: number;
  /** Failed sends that were stored anyway (a timeout, not a loss). */
  failedButStored: number;
}

/**
 * Compares what was sent and acknowledged with what receivers saw and what is stored. `stored` counts the
 * database documents per key (only keys of this run).
 */
export function accountMessages(outcomes: ReadonlyMap<string, MessageOutcome>, stored: ReadonlyMap<string, number>): Accounting {
  const result: Accounting = {
    sent: outcomes.size,
    acked: 0,
    failed: 0,
    lostDelivery: 0,
    lostStore: 0,
    lost: 0,
    duplicatedDelivery: 0,
    duplicatedStore: 0,
    duplicated: 0,
    unexpected: 0,
    failedButStored: 0,
  };
  for (const [key, outcome] of outcomes) {
    const copies = stored.get(key) ?? 0;
    if (outcome.acked) result.acked++;
    if (outcome.failed) result.failed++;
    if (outcome.failed && copies > 0) result.failedButStored++;
    const notDelivered = outcome.acked && outcome.received === 0;
    const notStored = outcome.acked && copies === 0;
    if (notDelivered) result.lostDelivery++;
    if (notStored) result.lostStore++;
    if (notDelivered || notStored) result.lost++;
    if (outcome.received > 1) result.duplicatedDelivery++;
    if (copies > 1) result.duplicatedStore++;
    if (outcome.received > 1 || copies > 1) result.duplicated++;
    // Received without having been sent: counted where the worker merged it (see mergeOutcomes).
  }
  for (const key of stored.keys()) if (!outcomes.has(key)) result.unexpected++;
  return result;
}

/** Merges per-worker outcome lists; a key received that no worker sent is counted as unexpected. */
export function mergeOutcomes(
  parts: ReadonlyArray<{
    sent: readonly string[];
    acked: readonly string[];
    failed: readonly string[];
    received: ReadonlyArray<readonly [string, number]>;
  }>,
): { outcomes: Map<string, MessageOutcome>; unexpectedReceived: number } {
  const outcomes = new Map<string, MessageOutcome>();
  for (const part of parts) for (const key of part.sent) outcomes.set(key, { acked: false, failed: false, received: 0 });
  let unexpectedReceived = 0;
  for (const part of parts) {
    for (const key of part.acked) {
      const outcome = outcomes.get(key);
      if (outcome) outcome.acked = true;
    }
    for (const key of part.failed) {
      const outcome = outcomes.get(key);
      if (outcome) outcome.failed = true;
    }
    for (const [key, count] of part.received) {
      const outcome = outcomes.get(key);
      if (outcome) outcome.received += count;
      else unexpectedReceived += count;
    }
  }
  return { outcomes, unexpectedReceived };
}

/** Persisted messages per second between two counts of the store. */
export function ratePerSecond(countBefore: number, countAfter: number, elapsedMs: number): number {
  return elapsedMs <= 0 ? 0 : ((countAfter - countBefore) * 1000) / elapsedMs;
}

/** Resident memory added per connection, in bytes. */
export function bytesPerConnection(rssBefore: number, rssAfter: number, connections: number): number {
  return connections <= 0 ? Number.NaN : (rssAfter - rssBefore) / connections;
}

/** Self time per function of a V8 `.cpuprofile`, largest first. */
export interface ProfileFrame {
  frame: string;
  selfMs: number;
  percent: number;
}

interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number } }>;
  samples?: number[];
  timeDeltas?: number[];
}

export function topFrames(profile: CpuProfile, limit = 15): ProfileFrame[] {
  const self = new Map<string, number>();
  let total = 0;
  forEachSample(profile, (node, micros) => {
    total += micros;
    add(self, frameName(node.callFrame), micros);
  });
  return ranked(self, total, limit).map(([frame, ms, percent]) => ({ frame, selfMs: ms, percent }));
}

/** Calls `visit` for every sample of the profile with its node and the microseconds it stands for. */
function forEachSample<N extends CpuProfile['nodes'][number]>(
  profile: { nodes: N[]; samples?: number[]; timeDeltas?: number[] },
  visit: (node: N, micros: number) => void,
): void {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) {
    const node = byId.get(samples[i] as number);
    if (node) visit(node, deltas[i] ?? 0);
  }
}

/** `name path:line` of a call frame (`(anonymous)` for an unnamed function; no place for V8's own frames). */
function frameName({ functionName, url, lineNumber }: CpuProfile['nodes'][number]['callFrame']): string {
  const where = url ? `${shortUrl(url)}:${lineNumber + 1}` : '';
  return `${functionName || '(anonymous)'}${where ? ` ${where}` : ''}`;
}

const add = (totals: Map<string, number>, key: string, micros: number) => totals.set(key, (totals.get(key) ?? 0) + micros);

/** The largest totals first, at most `limit`: key, milliseconds (one decimal) and percent of `total`. */
function ranked(totals: Map<string, number>, total: number, limit: number): Array<[string, number, number]> {
  return [...totals]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([key, micros]) => [key, Math.round(micros / 100) / 10, total > 0 ? Math.round((micros / total) * 1000) / 10 : 0]);
}

/** A module URL shortened to its package or project path. */
function shortUrl(url: string): string {
  const modules = url.lastIndexOf('node_modules/');
  if (modules >= 0) return url.slice(modules + 'node_modules/'.length);
  const project = /\/(services|libs|bench)\/.*$/.exec(url);
  return project ? project[0].slice(1) : url.replace(/^file:\/\//, '');
}

/** Who a profile frame's code belongs to: `ours` (services/, libs/), a package, `node` (its internals), or V8's own `(…)`. */
export function ownerOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const modules = url.lastIndexOf('node_modules/');
  if (modules >= 0) {
    const [scope, name] = url.slice(modules + 'node_modules/'.length).split('/');
    return scope?.startsWith('@') ? `${scope}/${name}` : (scope ?? url);
  }
  if (url.startsWith('node:')) return 'node';
  return /\/(services|libs)\//.test(url) ? 'ours' : url.replace(/^file:\/\//, '');
}

interface CpuProfileTree extends CpuProfile {
  nodes: Array<CpuProfile['nodes'][number] & { children?: number[] }>;
}

/**
 * A profile's busy time (everything but `(idle)`) by owner — self time, so a library called by our code counts as
 * the library's — and our functions by inclusive time (each sample counted once per function on its stack): what
 * our code costs with the library calls it makes.
 */
export function profileByOwner(
  profile: CpuProfileTree,
  limit = 20,
): { busyMs: number; selfByOwner: Array<{ owner: string; ms: number; percent: number }>; oursInclusive: ProfileFrame[] } {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const owners = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let busy = 0;
  forEachSample(profile, (node, micros) => {
    const owner = ownerOf(node.callFrame.url, node.callFrame.functionName);
    if (owner === '(idle)') return;
    busy += micros;
    add(owners, owner, micros);
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const { callFrame } = byId.get(id)!;
      if (ownerOf(callFrame.url, callFrame.functionName) !== 'ours') continue;
      const frame = frameName(callFrame);
      if (seen.has(frame)) continue;
      seen.add(frame);
      add(inclusive, frame, micros);
    }
  });
  return {
    busyMs: Math.round(busy / 1000),
    selfByOwner: ranked(owners, busy, limit).map(([owner, ms, percent]) => ({ owner, ms, percent })),
    oursInclusive: ranked(inclusive, busy, limit).map(([frame, ms, percent]) => ({ frame, selfMs: ms, percent })),
  };
}

/**
 * The value of one sample in Prometheus text: the metric `name` whose labels (if any) include `labels` (e.g.
 * `kind="major"`); `undefined` when there is none. Labels the registry adds to every sample (`service=...`) are allowed.
 */
export function metricValue(text: string, name: string, labels = ''): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    const match = /^(?:\{([^}]*)\})? (\S+)$/.exec(rest);
    if (match && (labels === '' || (match[1] ?? '').split(',').includes(labels))) return Number(match[2]);
  }
  return undefined;
}

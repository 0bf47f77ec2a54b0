/**
 * A preload that logs a process's major and incremental GCs (pause, flags, heap and external memory at the time)
 * to `$GC_LOG_DIR/gc-<tag>-<pid>.log`, one line each. For the gateways of a bench run:
 *
 *   npm run bench -- --gateways 3 … --gateway-env "NODE_OPTIONS=--import=./bench/gc-log.ts,GC_LOG_TAG=default"
 *
 * `flags` are perf_hooks' `NODE_PERFORMANCE_GC_FLAGS_*` (32, `ALL_EXTERNAL_MEMORY`, marks the memory reducer's
 * full GCs; docs/benchmarks.md, seventh pass). Minor GCs (scavenges) are left out: there are thousands.
 */
import { appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';

const file = join(process.env.GC_LOG_DIR ?? tmpdir(), `gc-${process.env.GC_LOG_TAG ?? 'run'}-${process.pid}.log`);
const started = Date.now();
const KINDS: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};
const mib = (bytes: number) => `${(bytes / 1048576).toFixed(0)}MB`;

new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    const { detail } = entry as unknown as { detail?: { kind?: number; flags?: number } };
    const kind = KINDS[detail?.kind ?? -1];
    if (kind === undefined) continue;
    const heap = getHeapStatistics();
    const memory = process.memoryUsage();
    appendFileSync(
      file,
      `${((Date.now() - started) / 1000).toFixed(1)}s ${kind} ${entry.duration.toFixed(1)}ms flags=${detail?.flags} ` +
        `heapUsed=${mib(heap.used_heap_size)} total=${mib(heap.total_heap_size)} external=${mib(memory.external)} ` +
        `arrayBuffers=${mib(memory.arrayBuffers)}\n`,
    );
  }
}).observe({ entryTypes: ['gc'] });

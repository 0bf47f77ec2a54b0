/**
 * What `sync_interval: always` costs JetStream publishes: for each sync policy, a nats-server of its own (file
 * store in a temporary directory on this machine's disk), one R1 file stream, then N publishes of a payload
 * with PubAck, first one at a time (latency: each publish waits for the previous PubAck) and then with
 * `--window` in flight (throughput). Prints msgs/s and p50/p99 PubAck latency per policy and phase.
 *
 *   node --conditions=source bench/pub-ack.ts [--messages 5000] [--window 64] [--bytes 512]
 */
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { parseArgs } from 'node:util';
import { startNatsServer } from '@chat/testing';
import { percentile } from './stats.ts';

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '5000' },
    window: { type: 'string', default: '64' },
    bytes: { type: 'string', default: '512' },
  },
});
const messages = Math.min(Number(values.messages), 200_000);
const window = Math.min(Number(values.window), 1024);
const payload = new Uint8Array(Number(values.bytes)).fill(120);

interface Phase {
  policy: string;
  phase: string;
  msgsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
}

async function measure(policy: string, jetstreamConfig: string): Promise<Phase[]> {
  const server = await startNatsServer({ jetstream: jetstreamConfig });
  const nc = await connect({ servers: server.url, noAsyncTraces: true });
  try {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'BENCH', subjects: ['bench.>'], storage: 'file' as never, num_replicas: 1 });
    const js = jetstream(nc);
    const run = async (phase: string, inFlight: number): Promise<Phase> => {
      const latencies: number[] = [];
      let next = 0;
      const started = performance.now();
      const lane = async () => {
        while (next < messages) {
          const n = next;
          next += 1;
          const t0 = performance.now();
          await js.publish(`bench.${phase}.${n % 16}`, payload);
          latencies.push(performance.now() - t0);
        }
      };
      await Promise.all(Array.from({ length: inFlight }, lane));
      const seconds = (performance.now() - started) / 1000;
      latencies.sort((a, b) => a - b);
      return {
        policy,
        phase,
        msgsPerSecond: Math.round(messages / seconds),
        p50Ms: percentile(latencies, 50),
        p99Ms: percentile(latencies, 99),
      };
    };
    // A short warm-up, not counted.
    for (let i = 0; i < 200; i += 1) await js.publish('bench.warmup', payload);
    return [await run('sequential', 1), await run(`window-${window}`, window)];
  } finally {
    await nc.close();
    await server.stop();
  }
}

const results: Phase[] = [];
for (const [policy, config] of [
  ['default (periodic, 2 min)', ''],
  ['sync_interval: always', 'sync_interval: always'],
] as const) {
  results.push(...(await measure(policy, config)));
}
console.log(`${messages} publishes of ${payload.length} B per phase, R1 file stream, own nats-server on 127.0.0.1`);
console.table(results.map((r) => ({ ...r, p50Ms: r.p50Ms.toFixed(2), p99Ms: r.p99Ms.toFixed(2) })));

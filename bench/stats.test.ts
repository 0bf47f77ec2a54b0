import { describe, expect, it } from 'vitest';
import {
  accountMessages,
  bytesPerConnection,
  mergeOutcomes,
  metricValue,
  ownerOf,
  percentile,
  profileByOwner,
  ratePerSecond,
  summarizeLatency,
  topFrames,
} from './stats.ts';

describe('bench statistics', () => {
  it('reads one sample of Prometheus text, by name and label', () => {
    const text = [
      '# HELP chat_catch_ups_waiting Connected sockets waiting',
      'chat_catch_ups_waiting_other{service="gateway"} 9',
      'chat_catch_ups_waiting{service="gateway"} 3',
      'nodejs_gc_duration_seconds_sum{service="gateway",kind="minor"} 0.5',
      'nodejs_gc_duration_seconds_sum{service="gateway",kind="major"} 1.25',
      'nodejs_eventloop_lag_p99_seconds 0.013',
    ].join('\n');
    expect(metricValue(text, 'chat_catch_ups_waiting')).toBe(3);
    expect(metricValue(text, 'nodejs_gc_duration_seconds_sum', 'kind="major"')).toBe(1.25);
    expect(metricValue(text, 'nodejs_eventloop_lag_p99_seconds')).toBe(0.013);
    expect(metricValue(text, 'nodejs_eventloop_lag_max_seconds')).toBeUndefined();
  });

  it('takes nearest-rank percentiles', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(values, 50)).toBe(50);
    expect(percentile(values, 90)).toBe(90);
    expect(percentile(values, 99)).toBe(99);
    expect(percentile(values, 100)).toBe(100);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
  });

  it('summarises unsorted latencies', () => {
    const summary = summarizeLatency([5, 1, 4, 2, 3, 10, 6, 9, 8, 7]);
    expect(summary).toEqual({ count: 10, p50: 5, p90: 9, p99: 10, max: 10, mean: 5.5 });
    expect(summarizeLatency([]).count).toBe(0);
  });

  it('finds lost, duplicated and unexpected messages', () => {
    const { outcomes, unexpectedReceived } = mergeOutcomes([
      {
        sent: ['a.0', 'a.1', 'a.2'],
        acked: ['a.0', 'a.1'],
        failed: ['a.2'],
        received: [
          ['a.0', 1],
          ['b.0', 1],
        ],
      },
      {
        sent: ['b.0', 'b.1'],
        acked: ['b.0', 'b.1'],
        failed: [],
        received: [
          ['a.1', 2],
          ['b.1', 1],
          ['zz.9', 1],
        ],
      },
    ]);
    expect(unexpectedReceived).toBe(1);
    const stored = new Map([
      ['a.0', 1],
      ['a.1', 1],
      ['a.2', 1],
      ['b.0', 2],
      ['ghost.0', 1],
    ]);
    expect(accountMessages(outcomes, stored)).toEqual({
      sent: 5,
      acked: 4,
      failed: 1,
      // b.1 was acked and received but never stored.
      lostDelivery: 0,
      lostStore: 1,
      lost: 1,
      // a.1 shown twice, b.0 stored twice.
      duplicatedDelivery: 1,
      duplicatedStore: 1,
      duplicated: 2,
      unexpected: 1,
      // a.2's ack failed but it was stored: a timeout, not a loss.
      failedButStored: 1,
    });
  });

  it('counts an acked message nobody received as lost', () => {
    const { outcomes } = mergeOutcomes([{ sent: ['a.0'], acked: ['a.0'], failed: [], received: [] }]);
    const result = accountMessages(outcomes, new Map([['a.0', 1]]));
    expect(result.lostDelivery).toBe(1);
    expect(result.lost).toBe(1);
    expect(result.duplicated).toBe(0);
  });

  it('computes rates and memory per connection', () => {
    expect(ratePerSecond(100, 1100, 2000)).toBe(500);
    expect(ratePerSecond(0, 10, 0)).toBe(0);
    expect(bytesPerConnection(100 * 1024 * 1024, 116 * 1024 * 1024, 1024)).toBe(16 * 1024);
    expect(bytesPerConnection(1, 2, 0)).toBeNaN();
  });

  it('sums self time per frame of a CPU profile', () => {
    const node = (id: number, functionName: string, url = '') => ({ id, callFrame: { functionName, url, lineNumber: 9 } });
    const profile = {
      nodes: [
        node(1, '(root)'),
        node(2, 'insert', 'file:///x/node_modules/mongodb/lib/a.js'),
        node(3, 'handler', 'file:///w/services/messages/src/b.ts'),
      ],
      samples: [2, 2, 3, 2],
      timeDeltas: [1000, 1000, 2000, 1000],
    };
    expect(topFrames(profile)).toEqual([
      { frame: 'insert mongodb/lib/a.js:10', selfMs: 3, percent: 60 },
      { frame: 'handler services/messages/src/b.ts:10', selfMs: 2, percent: 40 },
    ]);
  });
});

describe('profileByOwner', () => {
  it('splits busy time by owner and sums our functions inclusively, once per stack', () => {
    const frame = (functionName: string, url: string) => ({ functionName, url, lineNumber: 0 });
    const profile = {
      nodes: [
        { id: 1, callFrame: frame('(root)', ''), children: [2, 5] },
        { id: 2, callFrame: frame('handler', 'file:///w/services/gateway/src/a.ts'), children: [3] },
        { id: 3, callFrame: frame('parse', 'file:///w/node_modules/zod/v4/core/schemas.js'), children: [4] },
        { id: 4, callFrame: frame('handler', 'file:///w/services/gateway/src/a.ts') },
        { id: 5, callFrame: frame('(idle)', '') },
      ],
      samples: [3, 4, 5, 2],
      timeDeltas: [1000, 2000, 5000, 1000],
    };
    const summary = profileByOwner(profile);
    expect(summary.busyMs).toBe(4);
    expect(summary.selfByOwner).toEqual([
      { owner: 'ours', ms: 3, percent: 75 },
      { owner: 'zod', ms: 1, percent: 25 },
    ]);
    expect(summary.oursInclusive).toEqual([{ frame: 'handler services/gateway/src/a.ts:1', selfMs: 4, percent: 100 }]);
    expect(ownerOf('file:///w/node_modules/@nats-io/nats-core/lib/x.js', 'f')).toBe('@nats-io/nats-core');
    expect(ownerOf('node:internal/streams', 'f')).toBe('node');
    expect(ownerOf('', 'writev')).toBe('(native)');
  });
});

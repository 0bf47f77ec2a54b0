import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Registry } from '@chat/telemetry';
import { createGatewayMetrics } from '../../services/gateway/src/metrics.ts';
import { createMessagesMetrics } from '../../services/messages/src/metrics.ts';
import { createUploadsMetrics } from '../../services/uploads/src/metrics.ts';

const dashboard = JSON.parse(
  readFileSync(new URL('../../deploy/compose/grafana/dashboards/realtime-chat.json', import.meta.url), 'utf8'),
) as {
  uid: string;
  panels: Array<{ title: string; targets: Array<{ expr: string }> }>;
};

/** Every metric name a registry exposes, with the series Prometheus derives from histograms. */
async function exposedNames(metrics: { registry: Registry }) {
  const all = (await metrics.registry.getMetricsAsJSON()) as unknown as Array<{ name: string; type: string }>;
  return all.flatMap(({ name, type }) => (type === 'histogram' ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name]));
}

describe('the Grafana dashboard', () => {
  it('only charts metrics the services expose, and covers the spec monitoring list', async () => {
    const exposed = new Set([
      ...(await exposedNames(createGatewayMetrics())),
      ...(await exposedNames(createMessagesMetrics({ consumerLag: async () => [] }))),
      ...(await exposedNames(createUploadsMetrics())),
      // presence: chat_rpc_requests_total (as messages) and its own flips counter.
      'chat_presence_changes_total',
    ]);
    const used = new Set(
      dashboard.panels.flatMap((p) => p.targets.flatMap((t) => t.expr.match(/\b(chat_|process_|nodejs_)[a-z0-9_]+/g) ?? [])),
    );
    expect([...used].filter((name) => !exposed.has(name))).toEqual([]);
    for (const name of [
      'chat_socket_connections',
      'chat_messages_sent_total',
      'chat_message_delivery_seconds_bucket',
      'chat_messages_failed_total',
      'chat_socket_connection_errors_total',
      'chat_jetstream_consumer_pending',
    ]) {
      expect(used).toContain(name);
    }
  });
});

/**
 * The alert rules (deploy/compose/prometheus/alerts.yml): valid for Prometheus and unit-tested on input series
 * (promtool check rules / test rules, offline), loaded by compose's Prometheus (promtool check config), and
 * written only against metrics and labels that the chat services expose; the Grafana dashboard likewise, uploads
 * included. Each check is also shown to fail on a broken copy.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { Counter, createMetricsRegistry, type Registry, requestCounter } from '@chat/telemetry';
import { createGatewayMetrics } from '../../services/gateway/src/metrics.ts';
import { createMessagesMetrics } from '../../services/messages/src/metrics.ts';
import { createUploadsMetrics } from '../../services/uploads/src/metrics.ts';
import { chatServices, type Manifest, readYaml, ROOT, run, tools } from './deploy-files.ts';

const PROMETHEUS_DIR = join(ROOT, 'deploy/compose/prometheus');
const ALERTS = join(PROMETHEUS_DIR, 'alerts.yml');
const ALERTS_TEST = join(PROMETHEUS_DIR, 'alerts.test.yml');
const DASHBOARD = join(ROOT, 'deploy/compose/grafana/dashboards/realtime-chat.json');

const scratch = mkdtempSync(join(tmpdir(), 'deploy-alerts-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const promtool = (...args: string[]) => run(tools().promtool, args);

/** Copies the rules and their tests into a folder of their own, the rules changed. */
function brokenCopy(change: (rules: string) => string): { rules: string; tests: string } {
  const dir = mkdtempSync(join(scratch, 'copy-'));
  writeFileSync(join(dir, 'alerts.yml'), change(readFileSync(ALERTS, 'utf8')));
  copyFileSync(ALERTS_TEST, join(dir, 'alerts.test.yml'));
  return { rules: join(dir, 'alerts.yml'), tests: join(dir, 'alerts.test.yml') };
}

/** Every series each service exposes, with its label names (the registry's default `service` label included). */
async function exposedSeries(): Promise<Map<string, Set<string>>> {
  // presence registers its one counter in its service (services/presence/src/service.ts), with the shared registry.
  const presence = createMetricsRegistry('presence');
  new Counter({ name: 'chat_presence_changes_total', help: 'Users going online or offline', registers: [presence] });
  requestCounter(presence);
  const registries: Registry[] = [
    createGatewayMetrics().registry,
    createMessagesMetrics({ consumerLag: async () => [] }).registry,
    createUploadsMetrics().registry,
    presence,
  ];
  const series = new Map<string, Set<string>>();
  const add = (name: string, labels: string[]) =>
    series.set(name, new Set([...(series.get(name) ?? []), ...labels, 'service', 'instance', 'job']));
  for (const registry of registries) {
    for (const metric of registry.getMetricsAsArray() as unknown as Array<{
      name: string;
      labelNames?: string[];
      constructor: { name: string };
    }>) {
      const labels = metric.labelNames ?? [];
      if (metric.constructor.name === 'Histogram') {
        add(`${metric.name}_bucket`, [...labels, 'le']);
        add(`${metric.name}_sum`, labels);
        add(`${metric.name}_count`, labels);
      } else add(metric.name, labels);
    }
  }
  // Prometheus's own series per target.
  add('up', []);
  return series;
}

/** The series a PromQL expression reads, with the labels it matches or groups by (a plain reading, enough here). */
function seriesUsed(expr: string): Array<{ name: string; labels: string[] }> {
  const used: Array<{ name: string; labels: string[] }> = [];
  const grouping = [...expr.matchAll(/\b(?:by|without)\s*\(([^)]*)\)/g)].flatMap((m) =>
    m[1]!
      .split(',')
      .map((l) => l.trim())
      .filter(Boolean),
  );
  for (const m of expr.matchAll(/\b((?:chat|process|nodejs)_[a-z0-9_]+|up)\b(\{[^}]*\})?/g)) {
    const matchers = [...(m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)/g)].map((l) => l[1]!);
    used.push({ name: m[1]!, labels: [...matchers, ...grouping] });
  }
  return used;
}

function unknownSeries(expressions: Array<{ where: string; expr: string }>, exposed: Map<string, Set<string>>): string[] {
  const problems: string[] = [];
  for (const { where, expr } of expressions) {
    for (const { name, labels } of seriesUsed(expr)) {
      const known = exposed.get(name);
      if (!known) problems.push(`${where}: ${name} is not a metric any chat service exposes`);
      else for (const label of labels.filter((l) => !known.has(l))) problems.push(`${where}: ${name} has no label ${label}`);
    }
  }
  return problems;
}

const alertExpressions = (groups: Manifest[]) =>
  groups.flatMap((g) => (g.rules as Manifest[]).map((r) => ({ where: r.alert ?? r.record, expr: String(r.expr) })));
const dashboardExpressions = (dashboard: Manifest) =>
  (dashboard.panels as Manifest[]).flatMap((p) => (p.targets as Manifest[]).map((t) => ({ where: p.title, expr: t.expr })));

const exposed = await exposedSeries();
const groups = () => readYaml(ALERTS)[0]!.groups as Manifest[];

describe('alert rules', () => {
  it('are valid Prometheus rules (promtool check rules)', () => {
    const result = promtool('check', 'rules', ALERTS);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/SUCCESS: \d+ rules found/);
    expect(result.status).toBe(0);
  });

  it('fire on the series they are for, and only on them (promtool test rules alerts.test.yml)', () => {
    const result = promtool('test', 'rules', ALERTS_TEST);
    expect(result.stdout + result.stderr).toContain('SUCCESS');
    expect(result.status).toBe(0);
    // Every alert has a unit test.
    const tested = new Set(
      readFileSync(ALERTS_TEST, 'utf8')
        .match(/alertname: \w+/g)!
        .map((m) => m.slice('alertname: '.length)),
    );
    expect(
      alertExpressions(groups())
        .map((r) => r.where)
        .filter((name) => !tested.has(name)),
    ).toEqual([]);
  });

  it('are loaded by the compose Prometheus (promtool check config, rule file beside it)', () => {
    const config = readYaml(join(ROOT, 'deploy/compose/prometheus.yml'))[0]!;
    const compose = readYaml(join(ROOT, 'docker-compose.yml'))[0]!;
    expect(compose.services.prometheus.volumes).toContain('./deploy/compose/prometheus/alerts.yml:/etc/prometheus/alerts.yml:ro');
    expect(config.rule_files).toEqual(['/etc/prometheus/alerts.yml']);
    const dir = mkdtempSync(join(scratch, 'config-'));
    copyFileSync(ALERTS, join(dir, 'alerts.yml'));
    writeFileSync(join(dir, 'prometheus.yml'), stringify({ ...config, rule_files: [join(dir, 'alerts.yml')] }));
    const result = promtool('check', 'config', '--syntax-only', join(dir, 'prometheus.yml'));
    expect(result.stdout + result.stderr).toContain('SUCCESS');
    expect(result.status).toBe(0);
  });

  it('use only metrics and labels that the services expose, and cover what pages on-call', async () => {
    expect(unknownSeries(alertExpressions(groups()), exposed)).toEqual([]);
    const used = new Set(alertExpressions(groups()).flatMap(({ expr }) => seriesUsed(expr).map((s) => s.name)));
    for (const name of [
      'chat_jetstream_consumer_pending',
      'chat_message_delivery_seconds_bucket',
      'chat_messages_failed_total',
      'chat_commands_processed_total',
      'chat_socket_connection_errors_total',
      'chat_rate_limited_total',
      'up',
    ]) {
      expect(used, name).toContain(name);
    }
    // The absence alert names every chat service.
    const absent = groups()[0]!.rules.find((r: Manifest) => r.alert === 'ChatServiceAbsent').expr as string;
    expect([...absent.matchAll(/service="([a-z-]+)"/g)].map((m) => m[1]).sort()).toEqual((await chatServices()).map((s) => s.name).sort());
    for (const rule of alertExpressions(groups()))
      expect(rule.where, 'every alert documented in deploy/README.md').toSatisfy((name: string) =>
        readFileSync(join(ROOT, 'deploy/README.md'), 'utf8').includes(`\`${name}\``),
      );
  });

  it('the dashboard charts only exposed metrics and labels, uploads included', () => {
    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Manifest;
    expect(unknownSeries(dashboardExpressions(dashboard), exposed)).toEqual([]);
    const used = new Set(dashboardExpressions(dashboard).flatMap(({ expr }) => seriesUsed(expr).map((s) => s.name)));
    expect(used).toContain('chat_uploads_total');
    expect(used).toContain('chat_uploaded_bytes_total');
  });
});

describe('the alert checks fail on broken copies', () => {
  it('a rule that does not parse', () => {
    const copy = brokenCopy((rules) => rules.replace('expr: up{job="realtime-chat"} == 0', 'expr: up{job="realtime-chat" == 0'));
    const result = promtool('check', 'rules', copy.rules);
    expect(result.status).toBe(1);
    expect(result.stdout + result.stderr).toMatch(/ChatTargetDown|unexpected|parse error/);
  });

  it('a rule whose threshold no longer pages on the tested series', () => {
    const copy = brokenCopy((rules) =>
      rules.replace('rate(chat_socket_connection_errors_total[5m])) > 5', 'rate(chat_socket_connection_errors_total[5m])) > 50'),
    );
    const result = promtool('test', 'rules', copy.tests);
    expect(result.status).toBe(1);
    expect(result.stdout + result.stderr).toContain('alertname: ChatConnectionErrorsHigh');
  });

  it('a metric no service exposes, and a label a metric does not have', () => {
    expect(
      unknownSeries(
        [
          { where: 'Lag', expr: 'max by (consumer) (chat_consumer_pending) > 1000' },
          { where: 'Failed', expr: 'sum by (reason) (rate(chat_messages_failed_total{kind="x"}[5m])) > 0' },
        ],
        exposed,
      ),
    ).toEqual([
      'Lag: chat_consumer_pending is not a metric any chat service exposes',
      'Failed: chat_messages_failed_total has no label kind',
      'Failed: chat_messages_failed_total has no label reason',
    ]);
  });
});

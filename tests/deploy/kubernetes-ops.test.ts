/**
 * deploy/k8s, what operating it needs: the gateway scales on connections as well as CPU, every Deployment spreads
 * over zones and nodes, each chat pod may open only the connections its configuration needs (egress policies),
 * prod runs release images only, and prod ships the scraping and the alert rules for the prometheus-operator.
 * Each check is also shown to fail on a broken copy.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  chatServices,
  checkK8s,
  K8S_DIR,
  kustomizeBuild,
  type Manifest,
  OVERLAYS,
  parseYamlDocuments,
  readYaml,
  ROOT,
  SECRET_TEMPLATE,
  toYaml,
} from './deploy-files.ts';
import { type Environment, k8sEnvironments } from './environments.ts';
import { type Destination, egressAllows, type Labels } from './network-policies.ts';

type Overlay = (typeof OVERLAYS)[number];
const services = (await chatServices()).map((service) => service.name);
const built = new Map(OVERLAYS.map((overlay) => [overlay, kustomizeBuild(join(K8S_DIR, 'overlays', overlay))]));
const manifestsOf = (overlay: Overlay) => parseYamlDocuments(built.get(overlay)!);
const find = (manifests: Manifest[], kind: string, name: string) => manifests.find((m) => m.kind === kind && m.metadata.name === name);
const podLabels = (workload: Manifest): Labels => workload.spec.template.metadata.labels;

/** The gateway's autoscaler: connected sockets per pod (prometheus-adapter) and CPU, whichever asks for more. */
function autoscalerProblems(hpa: Manifest): string[] {
  const problems: string[] = [];
  const metrics = (hpa.spec.metrics ?? []) as Manifest[];
  const connections = metrics.find((m) => m.type === 'Pods' && m.pods?.metric?.name === 'chat_socket_connections');
  if (connections?.pods.target.type !== 'AverageValue' || !(Number(connections.pods.target.averageValue) > 0)) {
    problems.push('gateway autoscaler: no Pods metric chat_socket_connections with an AverageValue target');
  }
  if (!metrics.some((m) => m.type === 'Resource' && m.resource?.name === 'cpu'))
    problems.push('gateway autoscaler: no CPU metric to fall back on');
  return problems;
}

/** Every Deployment spreads its own pods over zones and nodes, and never stays Pending for it. */
function spreadProblems(manifests: Manifest[]): string[] {
  const problems: string[] = [];
  for (const d of manifests.filter((m) => m.kind === 'Deployment')) {
    const constraints = (d.spec.template.spec.topologySpreadConstraints ?? []) as Manifest[];
    for (const key of ['topology.kubernetes.io/zone', 'kubernetes.io/hostname']) {
      const constraint = constraints.find((c) => c.topologyKey === key);
      if (!constraint) problems.push(`Deployment ${d.metadata.name}: not spread over ${key}`);
      else if (constraint.whenUnsatisfiable !== 'ScheduleAnyway')
        problems.push(`Deployment ${d.metadata.name}: ${key} spread is not ScheduleAnyway`);
      else if (JSON.stringify(constraint.labelSelector.matchLabels) !== JSON.stringify({ 'app.kubernetes.io/name': d.metadata.name })) {
        problems.push(`Deployment ${d.metadata.name}: ${key} spread does not count its own pods`);
      }
    }
  }
  return problems;
}

const NAME = 'kubernetes.io/metadata.name';
const DNS: Destination = { pod: { 'k8s-app': 'kube-dns' }, namespace: { [NAME]: 'kube-system' }, port: 53, protocol: 'UDP' };
// Somewhere outside on a port that no chat pod needs (S3 is any address on 443 in prod).
const INTERNET: Destination = { ip: '93.184.215.14', port: 25 };

/** Where each dependency is, per overlay: dev's in-cluster pods (their own labels), prod's namespaces and addresses. */
function destinations(overlay: Overlay, manifests: Manifest[]): Record<string, Destination> {
  const pod = (kind: string, name: string) => podLabels(find(manifests, kind, name)!);
  const inCluster = {
    dns: DNS,
    collector: { pod: pod('Deployment', 'otel-collector'), port: 4318 },
    uploads: { pod: pod('Deployment', 'uploads'), port: 4300 },
    internet: INTERNET,
  };
  return overlay === 'dev'
    ? {
        ...inCluster,
        nats: { pod: pod('StatefulSet', 'nats'), port: 4222 },
        mongodb: { pod: pod('StatefulSet', 'mongodb'), port: 27017 },
        redis: { pod: pod('Deployment', 'redis'), port: 6379 },
        s3: { ip: '52.216.0.1', port: 443 },
        tracing: { pod: { 'app.kubernetes.io/name': 'jaeger' }, namespace: { [NAME]: 'observability' }, port: 4317 },
      }
    : {
        ...inCluster,
        // The Helm chart's pods in namespace nats; a managed MongoDB and Redis in the private network; S3 on the internet.
        nats: {
          pod: { 'app.kubernetes.io/name': 'nats', 'app.kubernetes.io/instance': 'nats' },
          namespace: { [NAME]: 'nats' },
          port: 4222,
        },
        mongodb: { ip: '10.20.0.5', port: 27017 },
        redis: { ip: '10.20.0.6', port: 6379 },
        s3: { ip: '52.216.0.1', port: 443 },
        tracing: { pod: { 'app.kubernetes.io/name': 'jaeger' }, namespace: { [NAME]: 'observability' }, port: 4317 },
      };
}

const template = readYaml(SECRET_TEMPLATE)[0]!;
const templateKeys = new Set(Object.keys({ ...template.data, ...template.stringData }));
const devSecret = manifestsOf('dev').find((m) => m.kind === 'Secret' && m.metadata.name.startsWith('chat-secrets'))!;
const devSecretValues: Environment = Object.fromEntries(
  Object.entries(devSecret.data as Record<string, string>).map(([key, value]) => [key, Buffer.from(value, 'base64').toString()]),
);

/** What a chat service's configuration makes it dial: read from the environment the overlay gives it. */
function needs(env: Environment): Set<string> {
  const needed = new Set(['dns', 'nats']);
  if (env.MONGO_URL) needed.add('mongodb');
  if (env.REDIS_URL) needed.add('redis');
  if (env.S3_BUCKET) needed.add('s3');
  if (env.UPLOADS_URL) needed.add('uploads');
  if (env.OTEL_EXPORTER_OTLP_ENDPOINT) needed.add('collector');
  return needed;
}

/**
 * Each chat pod (and the collector) may reach exactly what it needs, nothing else: every destination is either
 * needed and allowed, or neither.
 */
function egressProblems(overlay: Overlay, manifests: Manifest[]): string[] {
  const policies = manifests.filter((m) => m.kind === 'NetworkPolicy');
  const { environments } = k8sEnvironments(manifests, templateKeys, devSecretValues);
  const where = destinations(overlay, manifests);
  const problems: string[] = [];
  const pods: [string, Set<string>][] = [
    ...services.map((name): [string, Set<string>] => [name, needs(environments.get(name) ?? {})]),
    // The collector: DNS, and the tracing backend where the overlay sends traces (prod's otel-collector-config).
    ['otel-collector', new Set(overlay === 'prod' ? ['dns', 'tracing'] : ['dns'])],
  ];
  for (const [name, needed] of pods) {
    const labels = podLabels(find(manifests, 'Deployment', name)!);
    for (const [target, destination] of Object.entries(where)) {
      const allowed = egressAllows(policies, labels, destination);
      if (needed.has(target) && !allowed) problems.push(`${name} → ${target}: needed but not allowed`);
      if (!needed.has(target) && allowed) problems.push(`${name} → ${target}: allowed but not needed`);
    }
  }
  return problems;
}

/** An exact release (X.Y.Z, optionally -suffix) or a digest: a tag that cannot move under a running Deployment. */
const IMMUTABLE = /(:v?\d+\.\d+\.\d+(-[0-9A-Za-z.]+)?(@sha256:[0-9a-f]{64})?|@sha256:[0-9a-f]{64})$/;

function imageProblems(manifests: Manifest[]): string[] {
  return manifests
    .filter((m) => ['Deployment', 'StatefulSet', 'Job'].includes(m.kind))
    .flatMap((m) =>
      [...m.spec.template.spec.containers, ...(m.spec.template.spec.initContainers ?? [])]
        .filter((c: Manifest) => !IMMUTABLE.test(c.image))
        .map((c: Manifest) => `${m.kind} ${m.metadata.name}: image ${c.image} is not a release tag or a digest`),
    );
}

describe('Kubernetes operations', () => {
  it('prod: the gateway scales on connected sockets per pod, and on CPU', () => {
    expect(autoscalerProblems(find(manifestsOf('prod'), 'HorizontalPodAutoscaler', 'gateway')!)).toEqual([]);
  });

  it('dev: the gateway scales on CPU alone (no prometheus-adapter in a dev cluster, so no metric it cannot read)', () => {
    const metrics = find(manifestsOf('dev'), 'HorizontalPodAutoscaler', 'gateway')!.spec.metrics as Manifest[];
    expect(metrics.map((m) => m.type)).toEqual(['Resource']);
  });

  it.each(OVERLAYS)('%s: every Deployment spreads over zones and nodes, ScheduleAnyway', (overlay) => {
    const manifests = manifestsOf(overlay);
    expect(manifests.filter((m) => m.kind === 'Deployment').length).toBeGreaterThanOrEqual(services.length + 1);
    expect(spreadProblems(manifests)).toEqual([]);
  });

  it.each(OVERLAYS)('%s: each chat pod may open only the connections its configuration needs', (overlay) => {
    expect(egressProblems(overlay, manifestsOf(overlay))).toEqual([]);
  });

  it('prod runs release images only (exact tags or digests, no latest), as its kustomization pins them', () => {
    const manifests = manifestsOf('prod');
    expect(imageProblems(manifests)).toEqual([]);
    const [kustomization] = readYaml(join(K8S_DIR, 'overlays/prod/kustomization.yaml'));
    for (const name of services) {
      const entry = (kustomization!.images as Manifest[]).find((image) => image.name === `realtime-chat/${name}`);
      expect(entry?.digest ?? entry?.newTag, name).toMatch(/^(v?\d+\.\d+\.\d+(-[0-9A-Za-z.]+)?|sha256:[0-9a-f]{64})$/);
    }
  });

  it("dev runs NATS, MongoDB and Redis at compose's exact versions", () => {
    const manifests = manifestsOf('dev');
    const compose = readYaml(join(ROOT, 'docker-compose.yml'))[0]!.services as Record<string, Manifest>;
    const images = [
      find(manifests, 'StatefulSet', 'nats'),
      find(manifests, 'StatefulSet', 'mongodb'),
      find(manifests, 'Deployment', 'redis'),
    ];
    expect(images.map((m) => m!.spec.template.spec.containers[0].image)).toEqual([
      compose.nats!.image,
      compose.mongodb!.image,
      compose.redis!.image,
    ]);
    expect(imageProblems(images as Manifest[])).toEqual([]);
  });

  it('prod scrapes every chat pod as job realtime-chat and loads the alert rules of compose, unchanged', () => {
    const manifests = manifestsOf('prod');
    const monitor = find(manifests, 'PodMonitor', 'realtime-chat')!;
    for (const name of services) {
      const labels = podLabels(find(manifests, 'Deployment', name)!);
      expect(
        Object.entries(monitor.spec.selector.matchLabels).every(([k, v]) => labels[k] === v),
        name,
      ).toBe(true);
      expect(labels[monitor.spec.jobLabel], `${name}: the job the alerts name`).toBe('realtime-chat');
      expect(find(manifests, 'Deployment', name)!.spec.template.spec.containers[0].ports.map((p: Manifest) => p.name)).toContain(
        monitor.spec.podMetricsEndpoints[0].port,
      );
    }
    const alerts = readYaml(join(ROOT, 'deploy/compose/prometheus/alerts.yml'))[0]!;
    expect(find(manifests, 'PrometheusRule', 'realtime-chat')!.spec.groups).toEqual(alerts.groups);
  });
});

describe('the operations checks fail on broken copies', () => {
  it('an autoscaler on CPU alone, or on connections alone', () => {
    const hpa = find(manifestsOf('prod'), 'HorizontalPodAutoscaler', 'gateway')!;
    const cpuOnly = structuredClone(hpa);
    cpuOnly.spec.metrics = cpuOnly.spec.metrics.filter((m: Manifest) => m.type !== 'Pods');
    expect(autoscalerProblems(cpuOnly)).toEqual(['gateway autoscaler: no Pods metric chat_socket_connections with an AverageValue target']);
    hpa.spec.metrics = hpa.spec.metrics.filter((m: Manifest) => m.type !== 'Resource');
    expect(autoscalerProblems(hpa)).toEqual(['gateway autoscaler: no CPU metric to fall back on']);
  });

  it('a Deployment that does not spread, or refuses to schedule for it, or counts other pods', () => {
    const manifests = manifestsOf('dev');
    delete find(manifests, 'Deployment', 'redis')!.spec.template.spec.topologySpreadConstraints;
    find(manifests, 'Deployment', 'gateway')!.spec.template.spec.topologySpreadConstraints[1].whenUnsatisfiable = 'DoNotSchedule';
    find(manifests, 'Deployment', 'messages')!.spec.template.spec.topologySpreadConstraints[0].labelSelector.matchLabels = {
      'app.kubernetes.io/part-of': 'realtime-chat',
    };
    expect(spreadProblems(manifests)).toEqual([
      'Deployment gateway: kubernetes.io/hostname spread is not ScheduleAnyway',
      'Deployment messages: topology.kubernetes.io/zone spread does not count its own pods',
      'Deployment redis: not spread over topology.kubernetes.io/zone',
      'Deployment redis: not spread over kubernetes.io/hostname',
    ]);
  });

  it('a missing egress policy, a rule open to any port or to everything, a pod without the label its policy selects', () => {
    const dev = manifestsOf('dev').filter((m) => !(m.kind === 'NetworkPolicy' && m.metadata.name === 'egress-redis'));
    expect(egressProblems('dev', dev)).toEqual(['gateway → redis: needed but not allowed', 'presence → redis: needed but not allowed']);

    const prod = manifestsOf('prod');
    find(prod, 'NetworkPolicy', 'egress-s3')!.spec.egress[0].ports = undefined;
    delete podLabels(find(prod, 'Deployment', 'messages')!)['realtime-chat/mongodb-client'];
    expect(egressProblems('prod', prod)).toEqual([
      'messages → mongodb: needed but not allowed',
      'uploads → internet: allowed but not needed',
    ]);

    const open = manifestsOf('dev');
    // A rule with neither destinations nor ports admits everything.
    find(open, 'NetworkPolicy', 'egress-dns')!.spec.egress[0] = {};
    expect(egressProblems('dev', open)).toEqual(
      expect.arrayContaining(['messages → internet: allowed but not needed', 'otel-collector → mongodb: allowed but not needed']),
    );
  });

  it('a PrometheusRule or PodMonitor with an unknown field or a wrong type (deploy-check knows their Go types)', () => {
    const manifests = manifestsOf('prod');
    const rule = find(manifests, 'PrometheusRule', 'realtime-chat')!;
    rule.spec.groups[0].rules[0].alrt = rule.spec.groups[0].rules[0].alert;
    const monitor = find(manifests, 'PodMonitor', 'realtime-chat')!;
    monitor.spec.podMetricsEndpoints = { port: 'ops' };
    const result = checkK8s({ yaml: toYaml([rule, monitor]) });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(
      /document 1 \(PrometheusRule realtime-chat\): \/spec\/groups\/0\/rules\/0: additional properties 'alrt' not allowed/,
    );
    expect(result.stderr).toMatch(/document 2 \(PodMonitor realtime-chat\): \/spec\/podMetricsEndpoints: got object, want array/);
  });

  it('prod images on latest, on no tag, or on a floating version', () => {
    const manifests = manifestsOf('prod');
    find(manifests, 'Deployment', 'gateway')!.spec.template.spec.containers[0].image = 'registry.example.com/realtime-chat/gateway:latest';
    find(manifests, 'Deployment', 'messages')!.spec.template.spec.containers[0].image = 'registry.example.com/realtime-chat/messages';
    find(manifests, 'Deployment', 'otel-collector')!.spec.template.spec.containers[0].image = 'otel/opentelemetry-collector-contrib:0.127';
    find(manifests, 'Deployment', 'presence')!.spec.template.spec.containers[0].image =
      `registry.example.com/realtime-chat/presence@sha256:${'a'.repeat(64)}`;
    expect(imageProblems(manifests)).toEqual([
      'Deployment gateway: image registry.example.com/realtime-chat/gateway:latest is not a release tag or a digest',
      'Deployment messages: image registry.example.com/realtime-chat/messages is not a release tag or a digest',
      'Deployment otel-collector: image otel/opentelemetry-collector-contrib:0.127 is not a release tag or a digest',
    ]);
  });
});

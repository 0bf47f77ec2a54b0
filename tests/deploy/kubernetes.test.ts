/**
 * deploy/k8s: each overlay builds with kustomize, and its output and every manifest file validate against the
 * Kubernetes schemas (deploy-check, offline); the objects the deployment promises are there and locked down.
 * Each check is also shown to fail on a broken copy.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  chatServices,
  checkK8s,
  K8S_DIR,
  kustomizeBuild,
  manifestFiles,
  type Manifest,
  OVERLAYS,
  parseYamlDocuments,
  toYaml,
} from './deploy-files.ts';

const services = (await chatServices()).map((service) => service.name);
const built = new Map(OVERLAYS.map((overlay) => [overlay, kustomizeBuild(join(K8S_DIR, 'overlays', overlay))]));
const manifestsOf = (overlay: (typeof OVERLAYS)[number]) => parseYamlDocuments(built.get(overlay)!);
const find = (manifests: Manifest[], kind: string, name: string) => manifests.find((m) => m.kind === kind && m.metadata.name === name);

const scratch = mkdtempSync(join(tmpdir(), 'deploy-k8s-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** What every workload must have: probes where it serves, resources, and the restrictive security context. */
function workloadProblems(manifests: Manifest[]): string[] {
  const problems: string[] = [];
  for (const m of manifests.filter((m) => ['Deployment', 'StatefulSet', 'Job'].includes(m.kind))) {
    const where = `${m.kind} ${m.metadata.name}`;
    const pod = m.spec.template.spec;
    if (pod.securityContext?.runAsNonRoot !== true) problems.push(`${where}: pod securityContext.runAsNonRoot is not true`);
    if (pod.securityContext?.seccompProfile?.type !== 'RuntimeDefault') problems.push(`${where}: no RuntimeDefault seccomp profile`);
    if (pod.automountServiceAccountToken !== false) problems.push(`${where}: mounts a service account token`);
    for (const c of pod.containers) {
      const at = `${where} container ${c.name}`;
      const sc = c.securityContext ?? {};
      if (sc.allowPrivilegeEscalation !== false) problems.push(`${at}: allowPrivilegeEscalation is not false`);
      if (sc.readOnlyRootFilesystem !== true) problems.push(`${at}: root filesystem is writable`);
      if (!sc.capabilities?.drop?.includes('ALL')) problems.push(`${at}: capabilities are not all dropped`);
      if (!c.resources?.requests?.cpu || !c.resources?.requests?.memory || !c.resources?.limits?.memory) {
        problems.push(`${at}: cpu/memory requests and a memory limit are required`);
      }
      // A container that serves a port must say when it is ready and alive.
      if (m.kind !== 'Job' && (c.ports ?? []).length > 0 && (!c.readinessProbe || !c.livenessProbe)) {
        problems.push(`${at}: serves ports but lacks a readiness or liveness probe`);
      }
    }
  }
  return problems;
}

/** nginx's size syntax: bytes, or k/m/g (powers of 1024). */
const nginxSize = (value: string): number => {
  const match = /^(\d+)([kmg]?)$/i.exec(value.trim());
  if (!match) return Number.NaN;
  return Number(match[1]) * 1024 ** ' kmg'.indexOf((match[2] || ' ').toLowerCase());
};
/** Multipart framing of one file part: boundaries and part headers, a few hundred bytes; 64 KiB is ample. */
const MULTIPART_OVERHEAD = 64 * 1024;

/**
 * The Ingress's proxy-body-size against the uploads' MAX_FILE_SIZE: above it (plus the multipart framing), or
 * nginx refuses uploads the service takes, with HTML; not far above (2 MiB), or it has drifted from it.
 */
function bodySizeProblems(manifests: Manifest[]): string[] {
  const annotation = find(manifests, 'Ingress', 'gateway')?.metadata.annotations?.['nginx.ingress.kubernetes.io/proxy-body-size'];
  const config = manifests.find((m) => m.kind === 'ConfigMap' && m.metadata.name.startsWith('uploads-config'));
  const maxFileSize = Number(config?.data?.MAX_FILE_SIZE);
  if (annotation === undefined) return ['the gateway Ingress has no proxy-body-size (nginx would refuse uploads over 1 MiB)'];
  if (!Number.isInteger(maxFileSize)) return ['uploads-config has no MAX_FILE_SIZE'];
  const limit = nginxSize(String(annotation));
  if (Number.isNaN(limit)) return [`proxy-body-size ${annotation} is not an nginx size`];
  if (limit < maxFileSize + MULTIPART_OVERHEAD)
    return [
      `proxy-body-size ${annotation} (${limit} B) is below MAX_FILE_SIZE ${maxFileSize} + multipart overhead: nginx would refuse uploads the service takes`,
    ];
  if (limit > maxFileSize + 2 * 1024 * 1024)
    return [
      `proxy-body-size ${annotation} (${limit} B) is more than 2 MiB over MAX_FILE_SIZE ${maxFileSize}: derive it from MAX_FILE_SIZE`,
    ];
  return [];
}

describe('kustomize overlays', () => {
  it.each(OVERLAYS)('%s: the build validates against the Kubernetes schemas', (overlay) => {
    const result = checkK8s({ yaml: built.get(overlay)! });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('every manifest file validates against the Kubernetes schemas', () => {
    const files = manifestFiles();
    expect(files.length).toBeGreaterThan(5);
    const result = checkK8s({ files });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it.each(OVERLAYS)('%s: every chat service, autoscaled and with a disruption budget', (overlay) => {
    const manifests = manifestsOf(overlay);
    expect(services).toEqual(expect.arrayContaining(['gateway', 'messages']));
    for (const name of services) {
      expect(find(manifests, 'Deployment', name), name).toBeDefined();
      expect(find(manifests, 'HorizontalPodAutoscaler', name)?.spec.scaleTargetRef.name).toBe(name);
      expect(find(manifests, 'PodDisruptionBudget', name)).toBeDefined();
      expect(find(manifests, 'Deployment', name)?.spec.replicas, 'the autoscaler owns the replica count').toBeUndefined();
    }
    expect(find(manifests, 'Service', 'gateway')).toBeDefined();
    expect(find(manifests, 'Deployment', 'otel-collector')).toBeDefined();
    const messagesMax = find(manifests, 'HorizontalPodAutoscaler', 'messages')!.spec.maxReplicas;
    const partitions = Number(
      manifests.find((m) => m.kind === 'ConfigMap' && m.metadata.name.startsWith('message-partitions'))!.data.MESSAGE_PARTITIONS,
    );
    expect(messagesMax, 'messages replicas beyond MESSAGE_PARTITIONS would idle').toBeLessThanOrEqual(partitions);
  });

  it.each(OVERLAYS)('%s: websocket timeouts and affinity by client address on the Ingress', (overlay) => {
    const ingress = find(manifestsOf(overlay), 'Ingress', 'gateway')!;
    const annotations = ingress.metadata.annotations;
    expect(Number(annotations['nginx.ingress.kubernetes.io/proxy-read-timeout'])).toBeGreaterThanOrEqual(3600);
    expect(Number(annotations['nginx.ingress.kubernetes.io/proxy-send-timeout'])).toBeGreaterThanOrEqual(3600);
    // Not cookie affinity: the spec's web client sends no cookie cross-origin (tests/browser/multi-gateway.test.ts).
    expect(annotations['nginx.ingress.kubernetes.io/upstream-hash-by']).toBe('$remote_addr');
    expect(annotations['nginx.ingress.kubernetes.io/affinity']).toBeUndefined();
    expect(ingress.spec.rules[0].http.paths[0].backend.service.name).toBe('gateway');
  });

  it.each(OVERLAYS)('%s: the Ingress takes every upload the uploads service takes, so that the service refuses larger ones', (overlay) => {
    expect(bodySizeProblems(manifestsOf(overlay))).toEqual([]);
  });

  it.each(OVERLAYS)('%s: only the gateway is open to traffic from outside the chat pods', (overlay) => {
    const policies = manifestsOf(overlay).filter((m) => m.kind === 'NetworkPolicy');
    const denyAll = policies.find((p) => Object.keys(p.spec.podSelector).length === 0);
    expect(denyAll?.spec.policyTypes).toEqual(['Ingress']);
    expect(denyAll?.spec.ingress).toBeUndefined();
    // A rule without `from` admits any source: only the gateway's policy may have one.
    const open = policies.filter((p) => (p.spec.ingress ?? []).some((rule: Manifest) => !rule.from));
    expect(open.map((p) => p.spec.podSelector.matchLabels)).toEqual([{ 'app.kubernetes.io/name': 'gateway' }]);
  });

  it.each(OVERLAYS)('%s: every workload is locked down, sized, and probed where it serves', (overlay) => {
    expect(workloadProblems(manifestsOf(overlay))).toEqual([]);
  });

  it('dev runs NATS (3 nodes, JetStream on volumes), a MongoDB replica set and Redis in the cluster', () => {
    const manifests = manifestsOf('dev');
    const nats = find(manifests, 'StatefulSet', 'nats')!;
    expect(nats.spec.replicas).toBe(3);
    expect(nats.spec.volumeClaimTemplates[0].metadata.name).toBe('data');
    expect(find(manifests, 'ConfigMap', 'nats-config')!.data['nats.conf']).toMatch(/jetstream\s*\{[^}]*store_dir: \/data/);
    expect(find(manifests, 'StatefulSet', 'mongodb')!.spec.template.spec.containers[0].args).toContain('--replSet');
    expect(find(manifests, 'Job', 'mongodb-init-replica-set')).toBeDefined();
    expect(find(manifests, 'Deployment', 'redis')).toBeDefined();
  });

  it('prod brings no infrastructure and no Secret: those are made outside the overlay', () => {
    const kinds = manifestsOf('prod').map((m) => `${m.kind}/${m.metadata.name}`);
    expect(kinds.filter((k) => /^(StatefulSet|Secret)\//.test(k) || /\/(nats|mongodb|redis)$/.test(k))).toEqual([]);
  });
});

describe('the checks fail on broken copies', () => {
  const deployment = () => find(manifestsOf('prod'), 'Deployment', 'gateway')!;

  it('an unknown field, a wrong type and a missing required field are each reported', () => {
    const typo = deployment();
    typo.spec.template.spec.containers[0].readinesProbe = typo.spec.template.spec.containers[0].readinessProbe;
    const wrongType = deployment();
    wrongType.spec.replicas = 'two';
    const missing = deployment();
    delete missing.spec.template.spec.containers[0].name;
    const result = checkK8s({ yaml: toYaml([typo, wrongType, missing]) });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("additional properties 'readinesProbe' not allowed");
    expect(result.stderr).toMatch(/document 2 \(Deployment gateway\): \/spec\/replicas: got string, want integer/);
    expect(result.stderr).toMatch(/document 3 \(Deployment gateway\): \/spec\/template\/spec\/containers\/0: missing property 'name'/);
  });

  it('a kind that Kubernetes does not have, and a malformed quantity, are reported', () => {
    const unknown = { apiVersion: 'apps/v1', kind: 'Deploymnet', metadata: { name: 'x' } };
    const quantity = deployment();
    quantity.spec.template.spec.containers[0].resources.limits.memory = '1GB';
    const result = checkK8s({ yaml: toYaml([unknown, quantity]) });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('unknown kind apps/v1, Kind=Deploymnet');
    expect(result.stderr).toContain('/resources/limits/memory');
  });

  it('a proxy body size that drifted from MAX_FILE_SIZE, either way, is reported', () => {
    const raised = manifestsOf('prod');
    raised.find((m) => m.kind === 'ConfigMap' && m.metadata.name.startsWith('uploads-config'))!.data.MAX_FILE_SIZE = String(
      20 * 1024 * 1024,
    );
    expect(bodySizeProblems(raised)).toEqual([
      expect.stringMatching(/^proxy-body-size 11m \(11534336 B\) is below MAX_FILE_SIZE 20971520/),
    ]);
    const oversized = manifestsOf('prod');
    find(oversized, 'Ingress', 'gateway')!.metadata.annotations['nginx.ingress.kubernetes.io/proxy-body-size'] = '100m';
    expect(bodySizeProblems(oversized)).toEqual([expect.stringMatching(/more than 2 MiB over MAX_FILE_SIZE/)]);
    const exact = manifestsOf('dev');
    find(exact, 'Ingress', 'gateway')!.metadata.annotations['nginx.ingress.kubernetes.io/proxy-body-size'] = '10m';
    expect(bodySizeProblems(exact)).toEqual([expect.stringMatching(/below MAX_FILE_SIZE 10485760 \+ multipart overhead/)]);
  });

  it('a manifest file that is broken fails the files check', () => {
    const file = join(scratch, 'broken-service.yaml');
    writeFileSync(file, 'apiVersion: v1\nkind: Service\nmetadata: { name: gateway }\nspec:\n  ports: [{ port: "http" }]\n');
    const result = checkK8s({ files: [...manifestFiles(), file] });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`${file}: document 1 (Service gateway): /spec/ports/0/port: got string, want integer`);
  });

  it('an overlay that lists a missing resource does not build', () => {
    const copy = join(scratch, 'k8s');
    cpSync(K8S_DIR, copy, { recursive: true });
    const kustomization = join(copy, 'overlays/dev/kustomization.yaml');
    writeFileSync(kustomization, readFileSync(kustomization, 'utf8').replace('  - redis.yaml', '  - rediss.yaml'));
    expect(() => kustomizeBuild(join(copy, 'overlays/dev'))).toThrow(/rediss\.yaml/);
  });

  it('a workload without its security context or probes is reported', () => {
    const broken = deployment();
    delete broken.spec.template.spec.containers[0].securityContext;
    delete broken.spec.template.spec.containers[0].readinessProbe;
    broken.spec.template.spec.automountServiceAccountToken = true;
    expect(workloadProblems([broken])).toEqual([
      'Deployment gateway: mounts a service account token',
      'Deployment gateway container gateway: allowPrivilegeEscalation is not false',
      'Deployment gateway container gateway: root filesystem is writable',
      'Deployment gateway container gateway: capabilities are not all dropped',
      'Deployment gateway container gateway: serves ports but lacks a readiness or liveness probe',
    ]);
  });
});

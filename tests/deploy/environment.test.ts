/**
 * The configuration each chat service gets in docker-compose.yml and in each Kubernetes overlay, checked against
 * the service's own zod schema (services/<name>/src/config.ts): every chat service deployed, everything the
 * schema requires set and valid, nothing set that it does not know, no default left pointing at the local
 * machine, production mode, and the values that must agree (MESSAGE_PARTITIONS, …) equal.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  chatServices,
  COMPOSE_FILE,
  K8S_DIR,
  kustomizeBuild,
  type Manifest,
  OVERLAYS,
  parseYamlDocuments,
  readYaml,
  SECRET_TEMPLATE,
} from './deploy-files.ts';
import {
  composeDurationMs,
  composeEnvironments,
  type Environment,
  environmentProblems,
  interpolate,
  k8sEnvironments,
  shutdownBudgetProblems,
} from './environments.ts';

const services = await chatServices();
const COMPOSE_ENV = { JWT_SECRET: 'compose-test-secret-0123456789', GRAFANA_ADMIN_PASSWORD: 'compose-test-password' };
const compose = () => readYaml(COMPOSE_FILE)[0]!;
const overlay = (name: string) => parseYamlDocuments(kustomizeBuild(join(K8S_DIR, 'overlays', name)));
const template = readYaml(SECRET_TEMPLATE)[0]!;
const templateKeys = new Set(Object.keys({ ...template.data, ...template.stringData }));
// A Secret made outside an overlay (prod) is assumed to hold values like the ones dev generates.
const devSecret = overlay('dev').find((m) => m.kind === 'Secret' && m.metadata.name.startsWith('chat-secrets'))!;
const devSecretValues: Environment = Object.fromEntries(
  Object.entries(devSecret.data as Record<string, string>).map(([key, value]) => [key, Buffer.from(value, 'base64').toString()]),
);

const k8sProblems = (manifests: Manifest[]) => {
  const { environments, problems } = k8sEnvironments(manifests, templateKeys, devSecretValues);
  return [...problems, ...environmentProblems(services, environments)];
};
const composeProblems = (file: Manifest) => environmentProblems(services, composeEnvironments(file, COMPOSE_ENV));

describe('service configuration in the deployments', () => {
  it('reads the schema of every service', () => {
    expect(services.map((s) => s.name)).toEqual(expect.arrayContaining(['gateway', 'messages']));
  });

  it('docker-compose.yml gives every service a configuration its schema accepts', () => {
    expect(composeProblems(compose())).toEqual([]);
  });

  it.each(OVERLAYS)('%s overlay gives every service a configuration its schema accepts', (name) => {
    expect(k8sProblems(overlay(name))).toEqual([]);
  });

  it('the Secret template lists every key that the dev overlay generates', () => {
    expect([...templateKeys].sort()).toEqual(Object.keys(devSecretValues).sort());
  });

  it('compose interpolation as docker compose does it', () => {
    // biome-ignore-start lint/suspicious/noTemplateCurlyInString: compose's own ${...} syntax, not a template
    expect(interpolate('${A:-x}/${B-y}/${C:-z}/$$', { A: 'a', B: '', C: '' })).toBe('a//z/$');
    expect(() => interpolate('${S:?set S}', {})).toThrow('compose needs S: set S');
    // biome-ignore-end lint/suspicious/noTemplateCurlyInString: compose's own syntax
  });
});

/** The stop against the grace period: Kubernetes' terminationGracePeriodSeconds (30 s unset), compose's stop_grace_period (10 s unset). */
const k8sStopProblems = (manifests: Manifest[]) => {
  const grace = new Map(
    manifests
      .filter((m) => m.kind === 'Deployment')
      .map((m) => [m.metadata.name as string, 1000 * (m.spec.template.spec.terminationGracePeriodSeconds ?? 30)]),
  );
  return shutdownBudgetProblems(services, k8sEnvironments(manifests, templateKeys, devSecretValues).environments, grace);
};
const composeStopProblems = (file: Manifest) => {
  const grace = new Map(
    Object.entries(file.services as Record<string, Manifest>).map(([name, service]) => [
      name,
      composeDurationMs(service.stop_grace_period ?? '10s'),
    ]),
  );
  return shutdownBudgetProblems(services, composeEnvironments(file, COMPOSE_ENV), grace);
};

describe('a stop fits the grace period', () => {
  it('docker-compose.yml: shutdown delay + stop budget + margin within stop_grace_period', () => {
    expect(composeStopProblems(compose())).toEqual([]);
  });

  it.each(OVERLAYS)('%s: shutdown delay + stop budget + margin within terminationGracePeriodSeconds', (name) => {
    expect(k8sStopProblems(overlay(name))).toEqual([]);
  });

  it('compose durations', () => {
    expect([composeDurationMs('30s'), composeDurationMs('1m30s'), composeDurationMs('500ms'), composeDurationMs('30')]).toEqual([
      30_000,
      90_000,
      500,
      Number.NaN,
    ]);
  });

  it('fails on a grace period too short, a budget too long, a longer delay', () => {
    const short = overlay('prod');
    short.find((m) => m.kind === 'Deployment' && m.metadata.name === 'gateway')!.spec.template.spec.terminationGracePeriodSeconds = 20;
    expect(k8sStopProblems(short)).toEqual([
      'gateway: SHUTDOWN_DELAY_MS 5000 + SHUTDOWN_TIMEOUT_MS 20000 + 2000 ms margin exceeds its grace period of 20000 ms',
    ]);
    const long = compose();
    long.services.messages.environment.SHUTDOWN_TIMEOUT_MS = '25000';
    long.services.presence.environment.SHUTDOWN_DELAY_MS = '10000';
    expect(composeStopProblems(long)).toEqual([
      'messages: SHUTDOWN_DELAY_MS 5000 + SHUTDOWN_TIMEOUT_MS 25000 + 2000 ms margin exceeds its grace period of 30000 ms',
      'presence: SHUTDOWN_DELAY_MS 10000 + SHUTDOWN_TIMEOUT_MS 20000 + 2000 ms margin exceeds its grace period of 30000 ms',
    ]);
  });
});

describe('the cross-check fails on broken copies', () => {
  it('compose: a service without a variable its schema requires, or with one left at a local default', () => {
    const broken = compose();
    delete broken.services.gateway.environment.JWT_SECRET;
    delete broken.services.messages.environment.MONGO_URL;
    expect(composeProblems(broken)).toEqual([
      'gateway: JWT_SECRET: set exactly one of JWT_SECRET (HS256) and JWT_JWKS_URL (RS256/ES256)',
      'messages: MONGO_URL is not set, and its default ("mongodb://127.0.0.1:27017/chat") is this machine',
    ]);
  });

  it('compose: an unknown variable, an invalid value, a development NODE_ENV, unequal partitions', () => {
    const broken = compose();
    broken.services.messages.environment.CLIENT_URL = '*';
    broken.services.gateway.environment.SOCKET_PORT = 'http';
    broken.services.messages.environment.NODE_ENV = 'development';
    broken.services.messages.environment.MESSAGE_PARTITIONS = '8';
    const problems = composeProblems(broken);
    expect(problems).toContain('messages: CLIENT_URL is set but the configuration schema has no such variable');
    expect(problems.some((p) => p.startsWith('gateway: SOCKET_PORT:'))).toBe(true);
    expect(problems).toContain('messages: NODE_ENV must be production, not development');
    expect(problems).toContain('MESSAGE_PARTITIONS differs between services: gateway=16, messages=8');
  });

  it('compose: a chat service that is not deployed', () => {
    const broken = compose();
    delete broken.services.messages;
    expect(composeProblems(broken)).toContain('messages: not deployed (no service/Deployment named messages); add one (deploy/README.md)');
  });

  it('k8s: a Deployment that loses a variable, references a missing key, or sets an unknown one', () => {
    const manifests = overlay('dev');
    const gateway = manifests.find((m) => m.kind === 'Deployment' && m.metadata.name === 'gateway')!.spec.template.spec.containers[0];
    gateway.env = gateway.env.filter((v: Manifest) => v.name !== 'JWT_SECRET');
    gateway.env.push({ name: 'MONGO_URL', value: 'mongodb://mongodb:27017/chat' });
    const messages = manifests.find((m) => m.kind === 'Deployment' && m.metadata.name === 'messages')!.spec.template.spec.containers[0];
    messages.env.find((v: Manifest) => v.name === 'MONGO_URL').valueFrom.secretKeyRef.key = 'MONGO_URI';
    expect(k8sProblems(manifests)).toEqual([
      expect.stringMatching(/^messages: MONGO_URL: Secret chat-secrets-\w+ has no key MONGO_URI$/),
      'gateway: MONGO_URL is set but the configuration schema has no such variable',
      'gateway: JWT_SECRET: set exactly one of JWT_SECRET (HS256) and JWT_JWKS_URL (RS256/ES256)',
      'messages: MONGO_URL is not set, and its default ("mongodb://127.0.0.1:27017/chat") is this machine',
    ]);
  });

  it('k8s: a secret made outside the overlay must be in the template', () => {
    const manifests = overlay('prod');
    const gateway = manifests.find((m) => m.kind === 'Deployment' && m.metadata.name === 'gateway')!.spec.template.spec.containers[0];
    gateway.env.find((v: Manifest) => v.name === 'JWT_SECRET').valueFrom.secretKeyRef.key = 'JWT_KEY';
    expect(k8sProblems(manifests)).toContain(
      'gateway: JWT_SECRET: Secret chat-secrets (or the Secret template) with key JWT_KEY is not defined',
    );
  });
});

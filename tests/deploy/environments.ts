/**
 * The environment each chat service gets from docker-compose.yml or from an overlay's manifests, and the problems
 * its configuration schema finds in it.
 */
import type { ChatService, Manifest } from './deploy-files.ts';

export type Environment = Record<string, string>;

/** Variables whose values must be equal in every service of one deployment (see the schemas' comments). */
const SHARED = ['MESSAGE_PARTITIONS', 'CHAT_NAMESPACE', 'NATS_URL'];

/** Compose interpolation: `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?error}`, `$$`. */
export function interpolate(value: string, env: Environment): string {
  return value.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?])([^}]*))?\}/g,
    (_match, name?: string, colon?: string, op?: string, arg?: string) => {
      if (!name) return '$';
      const set = name in env && (colon !== ':' || env[name] !== '');
      if (set) return env[name]!;
      if (op === '-') return arg!;
      if (op === '?') throw new Error(`compose needs ${name}: ${arg}`);
      return '';
    },
  );
}

/** Each compose service's environment, interpolated with `env` (what .env would hold). */
export function composeEnvironments(compose: Manifest, env: Environment): Map<string, Environment> {
  const result = new Map<string, Environment>();
  for (const [name, service] of Object.entries((compose.services ?? {}) as Record<string, Manifest>)) {
    const raw = service.environment ?? {};
    const entries: [string, unknown][] = Array.isArray(raw)
      ? raw.map((item: string) => {
          const [key, ...rest] = item.split('=');
          return [key!, rest.join('=')];
        })
      : Object.entries(raw);
    result.set(name, Object.fromEntries(entries.map(([key, value]) => [key, interpolate(String(value ?? ''), env)])));
  }
  return result;
}

const decode = (data: Record<string, string> = {}) =>
  Object.fromEntries(Object.entries(data).map(([key, value]) => [key, Buffer.from(value, 'base64').toString('utf8')]));

/**
 * Each Deployment's environment (its first container), resolved against the ConfigMaps and Secrets of the same
 * build. A Secret that is not in the build is created outside it: its keys must be in `externalSecretKeys` (the
 * template's), and the value used is the one `externalSecretValues` gives (the dev overlay's).
 */
export function k8sEnvironments(
  manifests: Manifest[],
  externalSecretKeys: Set<string>,
  externalSecretValues: Environment,
): { environments: Map<string, Environment>; problems: string[] } {
  const problems: string[] = [];
  const configMaps = new Map<string, Environment>();
  const secrets = new Map<string, Environment>();
  for (const m of manifests) {
    if (m.kind === 'ConfigMap') configMaps.set(m.metadata.name, { ...m.data });
    if (m.kind === 'Secret') secrets.set(m.metadata.name, { ...decode(m.data), ...m.stringData });
  }
  const lookup = (where: string, kind: 'ConfigMap' | 'Secret', name: string, key: string): string | undefined => {
    const source = (kind === 'ConfigMap' ? configMaps : secrets).get(name);
    if (source) {
      if (!(key in source)) problems.push(`${where}: ${kind} ${name} has no key ${key}`);
      return source[key];
    }
    if (kind === 'Secret' && externalSecretKeys.has(key)) return externalSecretValues[key];
    problems.push(`${where}: ${kind} ${name}${kind === 'Secret' ? ` (or the Secret template) with key ${key}` : ''} is not defined`);
    return undefined;
  };

  const environments = new Map<string, Environment>();
  for (const deployment of manifests.filter((m) => m.kind === 'Deployment')) {
    const name: string = deployment.metadata.name;
    const container = deployment.spec.template.spec.containers[0];
    const env: Environment = {};
    for (const from of container.envFrom ?? []) {
      if (from.configMapRef) {
        const source = configMaps.get(from.configMapRef.name);
        if (source) Object.assign(env, source);
        else problems.push(`${name}: envFrom ConfigMap ${from.configMapRef.name} is not defined`);
      }
      if (from.secretRef) {
        const source = secrets.get(from.secretRef.name);
        if (source) Object.assign(env, source);
        else problems.push(`${name}: envFrom Secret ${from.secretRef.name} is not in the build; reference its keys one by one`);
      }
    }
    for (const variable of container.env ?? []) {
      const ref = variable.valueFrom;
      const where = `${name}: ${variable.name}`;
      const value = ref?.configMapKeyRef
        ? lookup(where, 'ConfigMap', ref.configMapKeyRef.name, ref.configMapKeyRef.key)
        : ref?.secretKeyRef
          ? lookup(where, 'Secret', ref.secretKeyRef.name, ref.secretKeyRef.key)
          : ref
            ? `<${Object.keys(ref)[0]}>`
            : variable.value;
      if (value !== undefined) env[variable.name] = value;
    }
    environments.set(name, env);
  }
  return { environments, problems };
}

/** The OpenTelemetry SDK's own variables: libs/telemetry hands them to the SDK, no service schema lists them. */
const OTEL = /^OTEL_[A-Z0-9_]+$/;

/** What a default names the local machine: in a container that is never where the other party is. */
const LOCAL = /\b(127\.0\.0\.1|localhost)\b/;

/**
 * What each chat service's schema says of the environment a deployment gives it: every chat service deployed,
 * no variable the schema does not know (but the OpenTelemetry SDK's OTEL_*), the schema accepts the values (so everything it requires is set),
 * nothing left at a default that points at the local machine, production mode, and the shared values equal.
 */
export function environmentProblems(services: ChatService[], environments: Map<string, Environment>): string[] {
  const problems: string[] = [];
  for (const { name, schema, shape } of services) {
    const env = environments.get(name);
    if (!env) {
      problems.push(`${name}: not deployed (no service/Deployment named ${name}); add one (deploy/README.md)`);
      continue;
    }
    for (const key of Object.keys(env)) {
      if (!(key in shape) && !OTEL.test(key)) problems.push(`${name}: ${key} is set but the configuration schema has no such variable`);
    }
    // As loadConfig does: empty values count as unset.
    const set = Object.fromEntries(Object.entries(env).filter(([, value]) => value.trim() !== ''));
    const parsed = schema.safeParse(set);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) problems.push(`${name}: ${issue.path.join('.') || '(environment)'}: ${issue.message}`);
    }
    for (const [key, field] of Object.entries(shape)) {
      const fallback = field.safeParse(undefined);
      if (!(key in set) && fallback.success && LOCAL.test(JSON.stringify(fallback.data ?? ''))) {
        problems.push(`${name}: ${key} is not set, and its default (${JSON.stringify(fallback.data)}) is this machine`);
      }
    }
    if (set.NODE_ENV !== 'production') problems.push(`${name}: NODE_ENV must be production, not ${set.NODE_ENV ?? 'unset'}`);
  }
  for (const key of SHARED) {
    const values = new Map<string, string>();
    for (const { name, shape } of services) {
      if (key in shape && environments.get(name)?.[key] !== undefined) values.set(name, environments.get(name)![key]!);
    }
    if (new Set(values.values()).size > 1) {
      problems.push(`${key} differs between services: ${[...values].map(([name, value]) => `${name}=${value}`).join(', ')}`);
    }
  }
  return problems;
}

/** Compose durations (`30s`, `1m30s`, `500ms`) in milliseconds. */
export function composeDurationMs(value: string): number {
  const parts = [...value.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== value.trim()) return Number.NaN;
  const unit = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 } as const;
  return parts.reduce((sum, [, amount, name]) => sum + Number(amount) * unit[name as keyof typeof unit], 0);
}

/** What a stopping process needs beside its stop: closing the ops port, flushing traces, exiting. */
const STOP_MARGIN_MS = 2000;

/**
 * Each service's stop against the time the orchestrator gives it after SIGTERM (`graceMs`, before SIGKILL):
 * SHUTDOWN_DELAY_MS (still serving, not ready) + SHUTDOWN_TIMEOUT_MS (the stop's budget) + a margin must fit.
 */
export function shutdownBudgetProblems(
  services: ChatService[],
  environments: Map<string, Environment>,
  graceMs: Map<string, number>,
): string[] {
  const problems: string[] = [];
  for (const { name, schema } of services) {
    const env = environments.get(name);
    if (!env) continue;
    const parsed = schema.safeParse(Object.fromEntries(Object.entries(env).filter(([, value]) => value.trim() !== '')));
    if (!parsed.success) continue; // environmentProblems reports it
    const config = parsed.data as { NODE_ENV: string; SHUTDOWN_DELAY_MS?: number; SHUTDOWN_TIMEOUT_MS?: number };
    const delay = config.SHUTDOWN_DELAY_MS ?? (config.NODE_ENV === 'production' ? 5000 : 0);
    const budget = config.SHUTDOWN_TIMEOUT_MS;
    const grace = graceMs.get(name);
    if (budget === undefined) problems.push(`${name}: its configuration has no SHUTDOWN_TIMEOUT_MS: its stop is unbounded`);
    else if (grace === undefined || Number.isNaN(grace)) problems.push(`${name}: no grace period to check its stop against`);
    else if (delay + budget + STOP_MARGIN_MS > grace) {
      problems.push(
        `${name}: SHUTDOWN_DELAY_MS ${delay} + SHUTDOWN_TIMEOUT_MS ${budget} + ${STOP_MARGIN_MS} ms margin exceeds its grace period of ${grace} ms`,
      );
    }
  }
  return problems;
}

/**
 * docker-compose.yml loads as `docker compose config` would (deploy-check compose: compose-go's loader, which
 * validates against the compose-spec schema and checks references), and publishes what the README promises.
 * Each check is also shown to fail on a broken copy.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { checkCompose, COMPOSE_FILE, type Manifest, readYaml } from './deploy-files.ts';

const ENV = { JWT_SECRET: 'compose-test-secret-0123456789' };
const compose = () => readYaml(COMPOSE_FILE)[0]!;

const scratch = mkdtempSync(join(tmpdir(), 'deploy-compose-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Writes a changed copy beside nothing else; references to ./deploy stay unresolved files, which is fine. */
function brokenCopy(change: (compose: Manifest) => void): string {
  const copy = compose();
  change(copy);
  const file = join(scratch, `compose-${Math.random().toString(36).slice(2)}.yml`);
  writeFileSync(file, stringify(copy));
  return file;
}

describe('docker-compose.yml', () => {
  it('validates against the compose specification and loads', () => {
    const result = checkCompose(COMPOSE_FILE, ENV);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('refuses to start without JWT_SECRET, saying where to set it', () => {
    const result = checkCompose(COMPOSE_FILE, {});
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('required variable JWT_SECRET is missing a value: set JWT_SECRET');
  });

  it('publishes chat on :4000, traces on :16686 and dashboards on :3000, and nothing else publicly', () => {
    const published = Object.entries(compose().services as Record<string, Manifest>).flatMap(([name, service]) =>
      ((service.ports ?? []) as string[]).map((port) => `${name} ${port}`),
    );
    expect(published.sort()).toEqual(['gateway 4000:4000', 'grafana 3000:3000', 'jaeger 16686:16686', 'prometheus 127.0.0.1:9090:9090']);
  });

  it('runs the infrastructure the deployment needs, NATS with JetStream on a volume', () => {
    const services = compose().services as Record<string, Manifest>;
    for (const name of ['nats', 'mongodb', 'redis', 's3', 'jaeger', 'prometheus', 'grafana', 'otel-collector']) {
      expect(services[name], name).toBeDefined();
    }
    // JetStream on /data comes from deploy/compose/nats.conf (tests/deploy/nats-config.test.ts).
    expect(services.nats!.command).toEqual(['--config', '/etc/nats/nats.conf']);
    expect(services.nats!.volumes).toContain('nats-data:/data');
  });

  it('runs the chat services from the Dockerfile, read-only, without capabilities, stopped by SIGTERM', () => {
    const services = compose().services as Record<string, Manifest>;
    for (const name of ['gateway', 'messages']) {
      expect(services[name]!.build.args.SERVICE).toBe(name);
      expect(services[name]).toMatchObject({ read_only: true, cap_drop: ['ALL'], stop_signal: 'SIGTERM' });
    }
    expect(readFileSync(join(COMPOSE_FILE, '../Dockerfile'), 'utf8')).toMatch(/^USER 1000:1000$/m);
  });
});

describe('the compose check fails on broken copies', () => {
  it('an unknown key', () => {
    const file = brokenCopy((c) => {
      c.services.gateway.restart_policy = 'always';
    });
    const result = checkCompose(file, ENV);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^validating .*: services\.gateway\.restart_policy /);
  });

  it('a value of the wrong type', () => {
    const file = brokenCopy((c) => {
      c.services.gateway.ports = { public: 4000 };
    });
    const result = checkCompose(file, ENV);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^validating .*: services\.gateway\.ports must be a array/);
  });

  it('a reference to a volume that is not declared', () => {
    const file = brokenCopy((c) => {
      delete c.volumes['nats-data'];
    });
    const result = checkCompose(file, ENV);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('service "nats" refers to undefined volume nats-data');
  });
});

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
import { checkCompose, COMPOSE_FILE, type Manifest, readYaml, type Run, run } from './deploy-files.ts';

const ENV = { JWT_SECRET: 'compose-test-secret-0123456789', GRAFANA_ADMIN_PASSWORD: 'compose-test-password' };
const compose = () => readYaml(COMPOSE_FILE)[0]!;

/** Services that anyone may reach: the chat edge (a gateway, or the scale profile's load balancer in front of two). */
const PUBLIC = new Set(['gateway', 'gateway-lb']);
/** Release numbering that is exact with two parts (SeaweedFS numbers its releases 3.80, 3.81, ...). */
const TWO_PART_RELEASES = new Set(['chrislusf/seaweedfs']);

/**
 * The rules every compose service follows: a third-party image on an exact version (our own images are built here
 * and tagged CHAT_VERSION), published ports bound to 127.0.0.1 but the chat edge's, cpu and memory limits, and
 * rotated json-file logs.
 */
function composeRuleProblems(file: Manifest): string[] {
  const problems: string[] = [];
  for (const [name, service] of Object.entries(file.services as Record<string, Manifest>)) {
    const limits = service.deploy?.resources?.limits;
    if (!limits?.cpus || !limits?.memory) problems.push(`${name}: no deploy.resources.limits (cpus and memory)`);
    const image = String(service.image ?? '');
    if (!image.startsWith('realtime-chat/')) {
      const [repository, tag = ''] = image.split('@')[0]!.split(':');
      const exact =
        /@sha256:[0-9a-f]{64}$/.test(image) ||
        /^v?\d+\.\d+\.\d+(-[a-z0-9.]+)?$/.test(tag) ||
        (TWO_PART_RELEASES.has(repository!) && /^\d+\.\d+$/.test(tag));
      if (!exact) problems.push(`${name}: image ${image} is not on an exact version`);
    }
    const logging = service.logging;
    if (logging?.driver !== 'json-file' || !logging.options?.['max-size'] || !logging.options?.['max-file']) {
      problems.push(`${name}: logs are not rotated (logging: *logging: json-file with max-size and max-file)`);
    }
    for (const port of (service.ports ?? []) as string[]) {
      if (!PUBLIC.has(name) && !String(port).startsWith('127.0.0.1:'))
        problems.push(`${name}: publishes ${port} beyond this machine (bind it to 127.0.0.1)`);
    }
  }
  return problems;
}

/**
 * `nginx -t` on the scale profile's configuration (nginx as .ci/run installs it for the browser tests), the
 * gateways' compose names replaced by local addresses since only compose's DNS knows them.
 */
function nginxTest(config: string): Run {
  const dir = mkdtempSync(join(scratch, 'nginx-'));
  let port = 4000;
  writeFileSync(
    join(dir, 'nginx.conf'),
    config.replace(/server gateway(-2)?:4000;/g, () => `server 127.0.0.1:${++port};`),
  );
  return run('nginx', [
    '-t',
    '-e',
    'stderr',
    '-p',
    dir,
    '-c',
    join(dir, 'nginx.conf'),
    '-g',
    `pid ${join(dir, 'nginx.pid')}; error_log stderr;`,
  ]);
}

/** The scale profile's nginx: sticky by client address, over both gateways. */
function nginxProblems(config: string): string[] {
  const problems: string[] = [];
  if (!/^\s*hash \$remote_addr consistent;$/m.test(config)) {
    problems.push('nginx-scale.conf: the upstream is not sticky by client address (hash $remote_addr consistent;)');
  }
  for (const gateway of ['gateway', 'gateway-2']) {
    if (!new RegExp(`^\\s*server ${gateway}:4000;$`, 'm').test(config))
      problems.push(`nginx-scale.conf: the upstream lacks ${gateway}:4000`);
  }
  return problems;
}

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
    const result = checkCompose(COMPOSE_FILE, { GRAFANA_ADMIN_PASSWORD: ENV.GRAFANA_ADMIN_PASSWORD });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('required variable JWT_SECRET is missing a value: set JWT_SECRET');
  });

  it('refuses to start without a Grafana admin password (no admin/admin), which env.example asks for', () => {
    for (const env of [{ JWT_SECRET: ENV.JWT_SECRET }, { ...ENV, GRAFANA_ADMIN_PASSWORD: '' }]) {
      const result = checkCompose(COMPOSE_FILE, env);
      expect(result.status).toBe(1);
      expect(result.stderr).toContain('required variable GRAFANA_ADMIN_PASSWORD is missing a value: set GRAFANA_ADMIN_PASSWORD');
    }
    expect(readFileSync(join(COMPOSE_FILE, '../deploy/compose/env.example'), 'utf8')).toMatch(/^GRAFANA_ADMIN_PASSWORD=$/m);
  });

  it('publishes chat on :4000 (and :4080 in the scale profile); ops and observability only on 127.0.0.1', () => {
    const published = Object.entries(compose().services as Record<string, Manifest>).flatMap(([name, service]) =>
      ((service.ports ?? []) as string[]).map((port) => `${name} ${port}`),
    );
    expect(published.sort()).toEqual([
      'gateway 4000:4000',
      'gateway-lb 4080:4080',
      'grafana 127.0.0.1:3000:3000',
      'jaeger 127.0.0.1:16686:16686',
      'prometheus 127.0.0.1:9090:9090',
      's3 127.0.0.1:8333:8333',
    ]);
    expect(composeRuleProblems(compose())).toEqual([]);
  });

  it('runs uploads on the compose S3 store, with its bucket made before uploads starts', () => {
    const services = compose().services as Record<string, Manifest>;
    expect(services.uploads!.environment).toMatchObject({
      S3_BUCKET: 'chat-uploads',
      AWS_ENDPOINT_URL_S3: 'http://s3:8333',
      S3_FORCE_PATH_STYLE: 'true',
    });
    expect(services.uploads!.environment.UPLOAD_DIR).toBeUndefined();
    expect(services.uploads!.depends_on['s3-bucket']).toEqual({ condition: 'service_completed_successfully' });
    expect(services['s3-bucket']!.environment).toMatchObject({ S3_BUCKET: 'chat-uploads', AWS_ENDPOINT_URL_S3: 'http://s3:8333' });
    expect(services['s3-bucket']!.volumes).toEqual(['./deploy/compose/create-bucket.mjs:/app/create-bucket.mjs:ro']);
  });

  it('the scale profile runs two gateways behind nginx, sticky by client address like the Ingress', () => {
    const services = compose().services as Record<string, Manifest>;
    expect(services['gateway-2']).toMatchObject({
      profiles: ['scale'],
      ports: [],
      environment: services.gateway!.environment,
      image: services.gateway!.image,
    });
    expect(services['gateway-lb']!.profiles).toEqual(['scale']);
    expect(services['gateway-lb']!.volumes).toEqual(['./deploy/compose/nginx-scale.conf:/etc/nginx/nginx.conf:ro']);
    const nginx = readFileSync(join(COMPOSE_FILE, '../deploy/compose/nginx-scale.conf'), 'utf8');
    expect(nginxProblems(nginx)).toEqual([]);
    const test = nginxTest(nginx);
    expect(test.stderr).toContain('test is successful');
    expect(test.status).toBe(0);
    // Prometheus scrapes the second gateway too.
    const prometheus = readYaml(join(COMPOSE_FILE, '../deploy/compose/prometheus.yml'))[0]!;
    expect(prometheus.scrape_configs[0].dns_sd_configs[0].names).toContain('gateway-2');
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

describe('the compose rules fail on broken copies', () => {
  it('a floating or missing tag, a public ops port, a service without limits or rotated logs', () => {
    const broken = compose();
    broken.services.redis.image = 'redis:7.4-alpine';
    broken.services.mongodb.image = 'mongo';
    broken.services.jaeger.image = 'jaegertracing/jaeger:latest';
    broken.services.grafana.ports = ['3000:3000'];
    delete broken.services.presence.deploy;
    broken.services.nats.deploy.resources.limits = { memory: '512M' };
    delete broken.services.s3.logging;
    broken.services.prometheus.logging = { driver: 'json-file' };
    expect(composeRuleProblems(broken)).toEqual([
      'presence: no deploy.resources.limits (cpus and memory)',
      'nats: no deploy.resources.limits (cpus and memory)',
      'mongodb: image mongo is not on an exact version',
      'redis: image redis:7.4-alpine is not on an exact version',
      's3: logs are not rotated (logging: *logging: json-file with max-size and max-file)',
      'jaeger: image jaegertracing/jaeger:latest is not on an exact version',
      'prometheus: logs are not rotated (logging: *logging: json-file with max-size and max-file)',
      'grafana: publishes 3000:3000 beyond this machine (bind it to 127.0.0.1)',
    ]);
  });

  it('an nginx configuration that balances round-robin, or misses a gateway', () => {
    const nginx = readFileSync(join(COMPOSE_FILE, '../deploy/compose/nginx-scale.conf'), 'utf8');
    expect(nginxProblems(nginx.replace('hash $remote_addr consistent;', ''))).toEqual([
      'nginx-scale.conf: the upstream is not sticky by client address (hash $remote_addr consistent;)',
    ]);
    expect(nginxProblems(nginx.replace('server gateway-2:4000;', ''))).toEqual(['nginx-scale.conf: the upstream lacks gateway-2:4000']);
    const invalid = nginxTest(nginx.replace('hash $remote_addr consistent;', 'hash $remote_addr sticky;'));
    expect(invalid.status).toBe(1);
    expect(invalid.stderr).toContain('invalid parameter "sticky"');
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

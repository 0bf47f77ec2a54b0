/**
 * The NATS configurations the deployments bring: each parses (`nats-server -t`, the server's own check), JetStream
 * fsyncs every write where one host holds every copy (compose: one server; dev: three nodes on one machine), prod's
 * Helm values say which sync policy they chose and include the per-service users, and the services connect with
 * credentials in prod. Each check is also shown to fail on a broken copy.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createUser } from '@nats-io/nkeys';
import { natsServerBin } from '@chat/testing';
import { COMPOSE_FILE, K8S_DIR, kustomizeBuild, type Manifest, parseYamlDocuments, readYaml, ROOT } from './deploy-files.ts';

const scratch = mkdtempSync(join(tmpdir(), 'deploy-nats-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const COMPOSE_NATS_CONF = join(ROOT, 'deploy/compose/nats.conf');
const AUTH_CONF = join(ROOT, 'deploy/nats/chat-auth.conf');
const PROD_VALUES = join(K8S_DIR, 'overlays/prod/nats-values.yaml');
const devNatsConf = () =>
  parseYamlDocuments(kustomizeBuild(join(K8S_DIR, 'overlays/dev'))).find(
    (m) => m.kind === 'ConfigMap' && m.metadata.name.startsWith('nats-config'),
  )!.data['nats.conf'] as string;
/** What the auth configuration reads from its environment: the services' NKey public keys. */
const nkeyEnv = Object.fromEntries(
  ['GATEWAY', 'MESSAGES', 'PRESENCE', 'UPLOADS'].map((s) => [`CHAT_${s}_NKEY`, createUser().getPublicKey()]),
);

/** `nats-server -t` on a configuration text: its verdict and what it said. */
function natsCheck(name: string, text: string, env: Record<string, string> = {}): { ok: boolean; output: string } {
  const file = join(scratch, name);
  writeFileSync(file, text);
  const result = spawnSync(natsServerBin(), ['-t', '-c', file], { encoding: 'utf8', env: { ...process.env, POD_NAME: 'nats-0', ...env } });
  if (result.error) throw new Error(`${natsServerBin()} did not run (.ci/nats-server.sh builds it): ${result.error.message}`);
  return { ok: result.status === 0, output: `${result.stdout}${result.stderr}` };
}

/** The `sync_interval` of a configuration's jetstream block, or undefined. */
const syncInterval = (text: string) => /jetstream\s*\{[^}]*\bsync_interval:\s*(\S+)/.exec(text)?.[1];

describe('NATS configurations', () => {
  it('compose: one server, its configuration mounted, valid, every JetStream write fsynced', () => {
    const nats = (readYaml(COMPOSE_FILE)[0]!.services as Record<string, Manifest>).nats!;
    expect(nats.command).toEqual(['--config', '/etc/nats/nats.conf']);
    expect(nats.volumes).toEqual(['nats-data:/data', './deploy/compose/nats.conf:/etc/nats/nats.conf:ro']);
    const text = readFileSync(COMPOSE_NATS_CONF, 'utf8');
    expect(natsCheck('compose.conf', text)).toMatchObject({ ok: true });
    expect(text).toMatch(/store_dir: \/data/);
    expect(syncInterval(text)).toBe('always');
  });

  it('dev: the cluster configuration is valid and fsyncs every write (its nodes share one machine)', () => {
    const text = devNatsConf();
    expect(natsCheck('dev.conf', text)).toMatchObject({ ok: true });
    expect(syncInterval(text)).toBe('always');
  });

  it('deploy/nats/chat-auth.conf is valid, a user per chat service', () => {
    const text = readFileSync(AUTH_CONF, 'utf8');
    expect(natsCheck('auth.conf', `port: 4222\njetstream { store_dir: /data }\n${text}`, nkeyEnv)).toMatchObject({ ok: true });
    expect([...text.matchAll(/nkey: \$(CHAT_\w+_NKEY)/g)].map((m) => m[1]).sort()).toEqual(Object.keys(nkeyEnv).sort());
  });

  it('prod: the Helm values choose a sync policy, include the per-service users, and every service has credentials', () => {
    const values = readYaml(PROD_VALUES)[0]!;
    expect(values.config.jetstream.enabled).toBe(true);
    expect(values.config.jetstream.merge.sync_interval).toBeDefined();
    expect(values.config.cluster.replicas).toBeGreaterThanOrEqual(3);
    expect(values.config.merge.$include).toMatch(/chat-auth\.conf$/);
    for (const key of Object.keys(nkeyEnv)) expect(values.container.env[key], key).toBeDefined();
    const deployments = parseYamlDocuments(kustomizeBuild(join(K8S_DIR, 'overlays/prod'))).filter(
      (m) => m.kind === 'Deployment' && m.metadata.name !== 'otel-collector',
    );
    expect(deployments.length).toBeGreaterThanOrEqual(4);
    for (const d of deployments) {
      const env = d.spec.template.spec.containers[0].env as Manifest[];
      expect(
        env.find((v) => v.name === 'NATS_NKEY_SEED'),
        d.metadata.name,
      ).toBeDefined();
      expect(
        d.spec.template.spec.volumes.find((v: Manifest) => v.secret?.secretName === `nats-nkey-${d.metadata.name}`),
        d.metadata.name,
      ).toBeDefined();
    }
  });
});

describe('the NATS checks fail on broken copies', () => {
  it('a misspelt setting, an unknown permission field, a missing key variable', () => {
    const typo = natsCheck('typo.conf', readFileSync(COMPOSE_NATS_CONF, 'utf8').replace('sync_interval: always', 'sync_intervall: always'));
    expect(typo.ok).toBe(false);
    expect(typo.output).toContain('unknown field "sync_intervall"');
    const auth = `port: 4222\njetstream { store_dir: /data }\n${readFileSync(AUTH_CONF, 'utf8')}`;
    const misplaced = natsCheck(
      'misplaced.conf',
      auth.replace('        allow_responses: true\n', '').replace(/(\n\s*)permissions: \{/, '$1allow_response: true$1permissions: {'),
      nkeyEnv,
    );
    expect(misplaced.ok).toBe(false);
    const { CHAT_UPLOADS_NKEY: _, ...withoutUploads } = nkeyEnv;
    const unset = natsCheck('unset.conf', auth, withoutUploads);
    expect(unset.ok).toBe(false);
    expect(unset.output).toContain('CHAT_UPLOADS_NKEY');
  });

  it('a configuration without sync_interval is told apart', () => {
    expect(syncInterval(readFileSync(COMPOSE_NATS_CONF, 'utf8').replace(/\n\s*sync_interval: always/, ''))).toBeUndefined();
  });
});

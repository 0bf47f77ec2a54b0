/**
 * What the deployment tests share: the offline checkers that deploy/tools/install.sh builds (kustomize, promtool
 * and deploy-check), the deployment files parsed as YAML, and the chat services with their configuration schemas.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import type { ZodObject, ZodType } from 'zod';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const K8S_DIR = join(ROOT, 'deploy/k8s');
export const OVERLAYS = ['dev', 'prod'] as const;
export const COMPOSE_FILE = join(ROOT, 'docker-compose.yml');
export const SECRET_TEMPLATE = join(K8S_DIR, 'secret.template.yaml');

const TOOLS_DIR = join(ROOT, 'deploy/tools');
const INSTALL = 'bash deploy/tools/install.sh';

export type Manifest = Record<string, any>;

/** The checkers' paths, as install.sh names them; a clear failure (never a skip) when they are not built. */
export function tools(): { kustomize: string; deployCheck: string; promtool: string } {
  const cache = join(process.env.CHAT_CACHE_DIR ?? join(homedir(), '.cache/realtime-chat'), 'deploy-tools');
  const install = readFileSync(join(TOOLS_DIR, 'install.sh'), 'utf8');
  const version = (name: string) => new RegExp(`^${name}=(\\S+)$`, 'm').exec(install)?.[1];
  const sources = [
    'go.mod',
    'go.sum',
    ...readdirSync(TOOLS_DIR)
      .filter((name) => name.endsWith('.go'))
      .sort(),
  ];
  const hash = createHash('sha256');
  for (const name of sources) hash.update(readFileSync(join(TOOLS_DIR, name)));
  const kustomize = join(cache, `kustomize-${version('KUSTOMIZE_VERSION')}`, 'kustomize');
  const promtool = join(cache, `promtool-${version('PROMTOOL_VERSION')}`, 'promtool');
  const deployCheck = join(cache, `deploy-check-${hash.digest('hex').slice(0, 16)}`, 'deploy-check');
  for (const tool of [kustomize, deployCheck, promtool]) {
    if (!existsSync(tool)) throw new Error(`${tool} is missing: run \`${INSTALL}\` (.ci/run does) to build it`);
  }
  return { kustomize, deployCheck, promtool };
}

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function run(command: string, args: string[], options: { input?: string; env?: NodeJS.ProcessEnv } = {}): Run {
  const result = spawnSync(command, args, { cwd: ROOT, encoding: 'utf8', input: options.input, env: options.env ?? process.env });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** `kustomize build DIR`; throws with kustomize's message when it fails. */
export function kustomizeBuild(dir: string): string {
  const result = run(tools().kustomize, ['build', dir]);
  if (result.status !== 0) throw new Error(`kustomize build ${dir} failed:\n${result.stderr}`);
  return result.stdout;
}

/** `deploy-check k8s` on YAML text (stdin) or on files. */
export const checkK8s = (input: { yaml: string } | { files: string[] }): Run =>
  'yaml' in input ? run(tools().deployCheck, ['k8s', '-'], { input: input.yaml }) : run(tools().deployCheck, ['k8s', ...input.files]);

/** `deploy-check compose FILE` with only the given environment (plus PATH). */
export const checkCompose = (file: string, env: Record<string, string>): Run =>
  run(tools().deployCheck, ['compose', file], { env: { PATH: process.env.PATH, ...env } });

export function parseYamlDocuments(text: string): Manifest[] {
  return parseAllDocuments(text, { merge: true })
    .map((document) => {
      if (document.errors.length > 0) throw document.errors[0];
      return document.toJS() as Manifest | null;
    })
    .filter((manifest): manifest is Manifest => manifest !== null);
}

export const readYaml = (file: string): Manifest[] => parseYamlDocuments(readFileSync(file, 'utf8'));

export const toYaml = (manifests: Manifest[]): string => manifests.map((m) => JSON.stringify(m)).join('\n---\n');

/**
 * Every Kubernetes manifest in deploy/k8s: the files that a kustomization lists as resources, and the Secret
 * template. Patches and generator inputs are checked through the overlays' output instead.
 */
export function manifestFiles(): string[] {
  const files = new Set<string>([SECRET_TEMPLATE]);
  const visit = (dir: string) => {
    const [kustomization] = readYaml(join(dir, 'kustomization.yaml'));
    for (const entry of (kustomization?.resources ?? []) as string[]) {
      const path = resolve(dir, entry);
      if (existsSync(join(path, 'kustomization.yaml'))) visit(path);
      else files.add(path);
    }
  };
  for (const overlay of OVERLAYS) visit(join(K8S_DIR, 'overlays', overlay));
  return [...files].sort();
}

export interface ChatService {
  name: string;
  /** The whole schema, refinements and transforms included: what the service parses its environment with. */
  schema: ZodType;
  /** Its variables: the object schema under any transform. */
  shape: ZodObject['shape'];
}

/** The object schema under a `.transform()` (a pipe) or a wrapper. */
function objectOf(schema: ZodType, where: string): ZodObject {
  let current: any = schema;
  while (current && !current.shape) current = current.in ?? current._zod?.def?.innerType;
  if (!current) throw new Error(`${where}: the configuration schema is not an object schema`);
  return current as ZodObject;
}

/** Every folder of services/ and its configuration schema (the `…ConfigSchema` export of src/config.ts). */
export async function chatServices(): Promise<ChatService[]> {
  const services: ChatService[] = [];
  for (const name of readdirSync(join(ROOT, 'services')).sort()) {
    const configFile = join(ROOT, 'services', name, 'src/config.ts');
    if (!existsSync(configFile)) continue;
    const module = (await import(configFile)) as Record<string, unknown>;
    const schema = Object.entries(module).find(([key]) => key.endsWith('ConfigSchema'))?.[1];
    if (!schema) throw new Error(`${configFile} exports no …ConfigSchema`);
    services.push({ name, schema: schema as ZodType, shape: objectOf(schema as ZodType, configFile).shape });
  }
  return services;
}

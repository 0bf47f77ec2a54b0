import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('../../../scripts/local-infra.sh', import.meta.url));

export interface LocalInfraUrls {
  NATS_URL: string;
  MONGO_URL: string;
  REDIS_URL: string;
}

/** Whether a Docker engine is there for testcontainers. */
export function hasDockerEngine(env: Record<string, string | undefined> = process.env): boolean {
  return Boolean(env.DOCKER_HOST) || existsSync('/var/run/docker.sock');
}

/**
 * NATS, Redis and a MongoDB-wire server on this machine, started (or reused) by `scripts/local-infra.sh`, which
 * says on stderr what it started and where: the path `.ci/run` takes too.
 */
export function localInfra(): LocalInfraUrls {
  const output = execFileSync('bash', [SCRIPT], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const urls = Object.fromEntries(
    output
      .split('\n')
      .map((line) => /^([A-Z_]+)=(.*)$/.exec(line.trim()))
      .filter((match): match is RegExpExecArray => match !== null)
      .map((match) => [match[1], match[2]]),
  ) as Partial<LocalInfraUrls>;
  if (!urls.NATS_URL || !urls.MONGO_URL || !urls.REDIS_URL) throw new Error(`scripts/local-infra.sh gave no URLs: ${output}`);
  return urls as LocalInfraUrls;
}

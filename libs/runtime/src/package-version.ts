import { readFileSync } from 'node:fs';

/**
 * The `version` of the package a module belongs to: the one version source of a service (its package.json),
 * for NATS service discovery, `/openapi.json` and `/asyncapi.json`. `moduleUrl` is the module's
 * `import.meta.url`, one folder below the package (`src/` when run from the sources, `dist/` when built).
 */
export function packageVersion(moduleUrl: string): string {
  const { version } = JSON.parse(readFileSync(new URL('../package.json', moduleUrl), 'utf8')) as { version?: unknown };
  if (typeof version !== 'string') throw new Error(`no version in the package.json above ${moduleUrl}`);
  return version;
}

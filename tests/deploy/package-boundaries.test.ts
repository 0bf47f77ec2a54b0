import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The packages' boundaries, from their sources: each declares what it imports (and nothing else is reached
 * through the workspace's hoisting), no service imports another, and services reach NATS only through
 * `@chat/bus` (the one door: subjects, validation, tracing and counting are there).
 */
const ROOT = new URL('../../', import.meta.url).pathname;
const packages = ['libs', 'services', 'apps'].flatMap((group) =>
  readdirSync(join(ROOT, group), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => `${group}/${entry.name}`),
);

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' || entry.name === 'dist' ? [] : sources(path);
    return /\.ts$/.test(entry.name) && !/\.test\.ts$/.test(entry.name) && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** The packages a source file imports (bare specifiers, reduced to the package name). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specifiers = [...text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+'([^']+)'|import\(\s*'([^']+)'\s*\)/g)].map(
    (m) => m[1] ?? m[2]!,
  );
  return specifiers
    .filter((s) => !s.startsWith('.') && !s.startsWith('node:') && !builtinModules.includes(s))
    .map((s) => (s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0]!));
}

describe('package boundaries', () => {
  for (const pkg of packages) {
    const manifest = JSON.parse(readFileSync(join(ROOT, pkg, 'package.json'), 'utf8')) as { name: string } & Record<
      string,
      Record<string, string> | undefined
    >;
    const declared = new Set(Object.keys({ ...manifest.dependencies, ...manifest.peerDependencies, ...manifest.devDependencies }));
    const files = sources(join(ROOT, pkg, 'src'));
    const imported = new Set(files.flatMap(importsOf));

    it(`${pkg} declares every package it imports`, () => {
      expect([...imported].filter((name) => !declared.has(name) && name !== manifest.name)).toEqual([]);
    });

    if (pkg.startsWith('services/')) {
      it(`${pkg} imports no other service and reaches NATS only through @chat/bus`, () => {
        expect(
          [...imported].filter(
            (name) =>
              name.startsWith('@nats-io/') ||
              (name.startsWith('@chat/') && packages.some((p) => p.startsWith('services/') && `@chat/${p.split('/')[1]}` === name)),
          ),
        ).toEqual([]);
      });
    }
  }
});

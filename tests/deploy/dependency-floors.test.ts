/**
 * `npm audit` needs an advisory database this build cannot always reach, so the fixes that matter most to a
 * Socket.IO edge are pinned here as floors: every installed copy (hoisted or nested) in package-lock.json must be
 * at least the first version without the advisory.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/** Package → the lowest version without the advisory. */
const FLOORS: Record<string, string> = {
  ws: '8.17.1', // GHSA-3h5v-q93c-6h6q: DoS by many HTTP headers
  'socket.io': '4.6.2', // GHSA-25hc-qcg6-38wj: uncaught exception on a crafted packet
  'socket.io-parser': '4.2.7', // crafted packets could crash or exhaust the server before it
  'engine.io': '6.6.2', // crafted requests could crash the server before it
};

interface Lockfile {
  packages: Record<string, { version?: string }>;
}

/** -1, 0 or 1 as `a` is below, equal to or above `b`; a pre-release is below its release. */
function compareVersions(a: string, b: string): number {
  const parse = (v: string) => {
    const [core = '', pre] = v.split('+')[0]!.split('-', 2);
    return { parts: core.split('.').map((n) => Number.parseInt(n, 10) || 0), pre };
  };
  const x = parse(a);
  const y = parse(b);
  for (let i = 0; i < 3; i++) {
    const d = (x.parts[i] ?? 0) - (y.parts[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  if (x.pre === y.pre) return 0;
  if (x.pre === undefined) return 1;
  if (y.pre === undefined) return -1;
  return x.pre < y.pre ? -1 : 1;
}

/** Every installed copy below its floor, as `path@version`. */
function copiesBelowFloors(lockfile: Lockfile, floors: Record<string, string> = FLOORS): string[] {
  const low: string[] = [];
  for (const [path, entry] of Object.entries(lockfile.packages)) {
    const name = path.split('node_modules/').pop();
    if (!name || !path.includes('node_modules/') || entry.version === undefined) continue;
    const floor = floors[name];
    if (floor !== undefined && compareVersions(entry.version, floor) < 0) low.push(`${path}@${entry.version} (needs ≥ ${floor})`);
  }
  return low;
}

const lockfile = JSON.parse(readFileSync(new URL('../../package-lock.json', import.meta.url), 'utf8')) as Lockfile;

describe('dependency floors', () => {
  it('every installed ws, socket.io, socket.io-parser and engine.io is at least its fixed version', () => {
    expect(copiesBelowFloors(lockfile)).toEqual([]);
    // Each of them is actually installed, so the check above is not vacuous.
    const installed = new Set(Object.keys(lockfile.packages).map((path) => path.split('node_modules/').pop()));
    for (const name of Object.keys(FLOORS)) expect(installed).toContain(name);
  });

  it('finds a low copy, hoisted or nested', () => {
    const tampered: Lockfile = {
      packages: {
        ...lockfile.packages,
        'node_modules/engine.io-client/node_modules/ws': { version: '8.17.0' },
        'node_modules/socket.io-parser': { version: '4.2.6' },
      },
    };
    expect(copiesBelowFloors(tampered)).toEqual([
      'node_modules/socket.io-parser@4.2.6 (needs ≥ 4.2.7)',
      'node_modules/engine.io-client/node_modules/ws@8.17.0 (needs ≥ 8.17.1)',
    ]);
  });

  it('compares versions numerically, a pre-release below its release', () => {
    expect(compareVersions('8.17.1', '8.17.1')).toBe(0);
    expect(compareVersions('8.9.0', '8.17.1')).toBe(-1);
    expect(compareVersions('10.0.0', '8.17.1')).toBe(1);
    expect(compareVersions('6.6.2-rc.1', '6.6.2')).toBe(-1);
  });
});

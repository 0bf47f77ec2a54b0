import { defaultServerConditions } from 'vite';
import { defineConfig } from 'vitest/config';

// Workspace packages export their TypeScript sources under the `source` condition. Not `module`, which Node never
// uses: the AWS SDK's `module` builds have extension-less imports that only a bundler resolves.
const conditions = ['source', ...defaultServerConditions.filter((condition) => condition !== 'module')];
const shared = { resolve: { conditions }, ssr: { resolve: { conditions } } };
const timeouts = { testTimeout: 30_000, hookTimeout: 60_000, pool: 'forks' as const };
// NATS, MongoDB and Redis: given, or started (libs/testing/src/infra.ts), once for every project of a run.
const withServers = { globalSetup: ['libs/testing/src/global-setup.ts'], ...timeouts };

/** One project per service (`npm test -w @chat/<service>`), the libraries, the system tests, the deploy files. */
const service = (name: string) => ({
  ...shared,
  test: { name, include: [`services/${name}/src/**/*.test.ts`, `services/${name}/test/**/*.test.ts`], ...withServers },
});

export default defineConfig({
  ...shared,
  test: {
    projects: [
      service('gateway'),
      service('messages'),
      service('presence'),
      service('uploads'),
      { ...shared, test: { name: 'libs', include: ['libs/*/src/**/*.test.ts', 'bench/**/*.test.ts'], ...withServers } },
      {
        ...shared,
        // The system as its users see it: real servers, in-process services, a browser, the fuzzer.
        test: { name: 'system', include: ['tests/**/*.test.ts'], exclude: ['tests/deploy/**', '**/node_modules/**'], ...withServers },
      },
      {
        ...shared,
        // Files only (manifests, compose, lockfile, generated docs, the checkers built by deploy/tools/install.sh): no servers.
        test: { name: 'deploy', include: ['tests/deploy/**/*.test.ts'], ...timeouts },
      },
    ],
  },
});

import { defaultServerConditions } from 'vite';
import { defineConfig } from 'vitest/config';

// Workspace packages export their TypeScript sources under the `source` condition. Not `module`, which Node never
// uses: the AWS SDK's `module` builds have extension-less imports that only a bundler resolves.
const conditions = ['source', ...defaultServerConditions.filter((condition) => condition !== 'module')];
const shared = { resolve: { conditions }, ssr: { resolve: { conditions } } };
const timeouts = { testTimeout: 30_000, hookTimeout: 60_000, pool: 'forks' as const };

export default defineConfig({
  ...shared,
  test: {
    projects: [
      {
        ...shared,
        test: {
          name: 'system',
          include: ['libs/*/src/**/*.test.ts', 'bench/**/*.test.ts', 'services/*/src/**/*.test.ts', 'services/*/test/**/*.test.ts', 'tests/**/*.test.ts'],
          exclude: ['tests/deploy/**', '**/node_modules/**'],
          // NATS, MongoDB and Redis: given, or started (libs/testing/src/infra.ts).
          globalSetup: ['libs/testing/src/global-setup.ts'],
          ...timeouts,
        },
      },
      {
        ...shared,
        // Files only (manifests, compose, lockfile, the checkers built by deploy/tools/install.sh): no servers.
        test: { name: 'deploy', include: ['tests/deploy/**/*.test.ts'], ...timeouts },
      },
    ],
  },
});

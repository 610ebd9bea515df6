import { defineConfig } from 'vitest/config';

/**
 * Two projects (style practice 18): `unit` (pure, fast) and `integration` (real docker-registry
 * processes started once by test/global-setup.ts; test/cli spawns the built bin/rulesctl.cjs).
 */
export default defineConfig({
  test: {
    teardownTimeout: 30_000,
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts', 'test/cli/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});

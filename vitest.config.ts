import { defineConfig } from 'vitest/config';

/**
 * `npm test` runs two projects side by side:
 * - unit: every test file except the chaos runs, as many at a time as vitest's workers allow;
 * - chaos: the named chaos scenarios and the short randomised run against real
 *   clusters behind fault proxies, ONE file at a time (each starts its own
 *   cluster of 3 or 5 node processes; two at once on a 2-core machine starve
 *   each other's timers and elections). `npm run test:chaos` runs this project alone.
 */
export const CHAOS_RUNS = ['test/chaos/scenarios/**/*.test.ts', 'test/chaos/randomized.test.ts'];

export default defineConfig({
  test: {
    pool: 'forks',
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['**/node_modules/**', ...CHAOS_RUNS],
          testTimeout: 120_000,
          pool: 'forks',
        },
      },
      {
        test: {
          name: 'chaos',
          include: CHAOS_RUNS,
          testTimeout: 300_000,
          hookTimeout: 120_000,
          pool: 'forks',
          fileParallelism: false,
        },
      },
    ],
  },
});

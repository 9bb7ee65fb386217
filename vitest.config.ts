import { defineConfig } from 'vitest/config';

/**
 * `npm test`: everything except the chaos runs against real clusters, which
 * take minutes and run with `npm run test:chaos` (vitest.chaos.config.ts).
 */
export const CHAOS_RUNS = ['test/chaos/scenarios/**/*.test.ts', 'test/chaos/randomized.test.ts'];

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['**/node_modules/**', ...CHAOS_RUNS],
    testTimeout: 120_000,
    pool: 'forks',
  },
});

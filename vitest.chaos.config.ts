import { defineConfig } from 'vitest/config';
import { CHAOS_RUNS } from './vitest.config.js';

/** `npm run test:chaos`: the named chaos scenarios and the short randomised run, one file at a time (each starts its own cluster). */
export default defineConfig({
  test: {
    include: CHAOS_RUNS,
    testTimeout: 300_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: false,
  },
});

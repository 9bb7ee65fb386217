import { describe, expect, it } from 'vitest';
import { REGRESSION_SEEDS } from './regressionSeeds.js';
import { replayCommand, runSeed, type SimResult } from './run.js';

/**
 * The simulator as a test: fixed regression seeds, a few hundred fresh seeds
 * from a time-derived base (each run explores new ground; the base is in the
 * test name and every failure names its replay command), and determinism.
 */

const FRESH_SEEDS = 400;
// A base far from the small regression seeds, different on every run.
const FRESH_BASE = 1_000_000 + (Date.now() % 2_000_000_000);

function failureReport(r: SimResult, nodes?: 3 | 5): string {
  return `seed ${r.seed} failed: ${r.failure}\nreplay: ${replayCommand(r.seed, nodes)}\n${r.trace}`;
}

describe('simulator: regression seeds', () => {
  for (const { seed, nodes, note } of REGRESSION_SEEDS) {
    it(`seed ${seed}${nodes === undefined ? '' : ` (${nodes} nodes)`}: ${note}`, () => {
      const r = runSeed(seed, nodes === undefined ? {} : { nodes });
      expect(r.ok, failureReport(r, nodes)).toBe(true);
    });
  }
});

describe('simulator: fresh seeds', () => {
  it(`${FRESH_SEEDS} seeds from ${FRESH_BASE} (replay any with npm run sim -- --seed N)`, () => {
    console.log(`simulator: fresh seeds ${FRESH_BASE}..${FRESH_BASE + FRESH_SEEDS - 1}`);
    const failures: string[] = [];
    for (let seed = FRESH_BASE; seed < FRESH_BASE + FRESH_SEEDS; seed++) {
      const r = runSeed(seed);
      if (!r.ok) failures.push(failureReport(r));
    }
    expect(failures.length, `${failures.length} of ${FRESH_SEEDS} seeds failed; first:\n${failures[0] ?? ''}`).toBe(0);
  });
});

describe('simulator: determinism', () => {
  it('replays a seed to identical statistics and outcome', () => {
    for (const seed of [3, 4, 13]) {
      const a = runSeed(seed);
      const b = runSeed(seed);
      expect(b.stats).toEqual(a.stats);
      expect(b.ok).toBe(a.ok);
      expect(b.failure).toBe(a.failure);
      expect(b.profile).toBe(a.profile);
    }
  });

  it('different seeds explore different schedules', () => {
    expect(runSeed(5).stats).not.toEqual(runSeed(6).stats);
  });
});

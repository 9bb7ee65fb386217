import { describe, expect, it } from 'vitest';
import { checkAll, formatReport } from './checkers/index.js';
import { runChaos } from './harness/runChaos.js';

/**
 * A short randomised chaos run in `npm test`: 3 real nodes behind fault
 * proxies, the seeded nemesis schedule and workload, then every checker and
 * the harness's own sanity checks. Fixed seeds, so a failure replays with
 * `npm run chaos -- --nodes 3 --duration 20 --seed N`. runChaos destroys the
 * cluster (processes, proxies, temp dir) whether the run passes or throws.
 */
const SEEDS = [20261122, 7];
const DURATION_MS = 20_000;

describe('randomised chaos on 3 nodes', () => {
  for (const seed of SEEDS) {
    it(`seed ${seed}: every checker passes`, async () => {
      const run = await runChaos({ nodes: 3, durationMs: DURATION_MS, seed, log: (line) => process.stdout.write(`${line}\n`) });
      const results = checkAll(run.history);
      const report = formatReport(results, run.history);
      const failed = results.filter((r) => !r.ok).map((r) => r.checker);
      if (failed.length > 0 || run.sanity.length > 0) process.stderr.write(`${report}${run.sanity.join('\n')}\n${run.nodeLogs}`);
      expect(run.sanity).toEqual([]);
      expect(failed, report).toEqual([]);
      // Not a vacuous pass: faults were injected, clients held locks and wrote, ops had every outcome kind.
      expect(run.history.nemesis.filter((e) => e.kind !== 'heal' && e.kind !== 'heal-client').length).toBeGreaterThan(0);
      expect(run.history.ops.filter((op) => op.kind === 'acquire' && op.outcome === 'ok').length).toBeGreaterThan(0);
      expect(run.history.writes.filter((w) => w.accepted).length).toBeGreaterThan(0);
      expect(run.history.final).not.toBeNull();
    }, 240_000);
  }
});

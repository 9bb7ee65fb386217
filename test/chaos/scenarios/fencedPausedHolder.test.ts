import { describe, expect, it } from 'vitest';
import type { RecordedClient, RecordedLease } from '../harness/index.js';
import { must, runScenario, waitFor, type ScenarioContext } from './scenarioRun.js';

/**
 * Scenario 5: a holder stalls past its TTL in the middle of a write (its
 * keepalives stop, and the write it decided to make while it still held the
 * lock arrives late), while the next holder writes with a newer token.
 * With fencing the late write is refused: zero stale or lost writes, and
 * every checker passes. The same run with fencing switched off in the store
 * accepts the stale write, and the mutual-exclusion checker must catch it:
 * proof that the test can see one.
 */

/** TTL_MS: long enough that the holder's lease survives until the stall on a heavily loaded machine (1.5 s did not, at load 30). */
const TTL_MS = 4_000;
const LATE_WRITE_FLIGHT_MS = TTL_MS + 2_500;

async function stallHolderMidWrite({ cluster, client, store }: ScenarioContext): Promise<{ late: boolean; holder: RecordedClient; lease: RecordedLease }> {
  const holder = await client('holder');
  const next = await client('next');
  const observer = await client('observer');
  const lease = must('holder grant', await holder.grant(TTL_MS));
  const held = must('holder acquire', await holder.acquire(lease, 'lock-5', { mode: 'exclusive', waitMs: 0 }));
  await holder.holdAndWrite(store, lease, 'lock-5', held.token, 'exclusive', 300);
  const nextLease = must('next grant', await next.grant(3_000));
  const waiting = next.acquire(nextLease, 'lock-5', { mode: 'exclusive', waitMs: 20_000 });
  await waitFor('the next client to be queued', 5_000, async () => {
    const seen = await observer.get('lock-5');
    return seen.outcome === 'ok' && seen.value.waiters.includes(nextLease.id);
  });

  // The stall: the holder's keepalives stop and its in-flight write is delayed past the TTL.
  cluster.cutClient('holder', { kind: 'blackhole' });
  expect(lease.lost).toBe(false);
  const lateWrite = store.write({ client: 'holder', lock: 'lock-5', leaseId: lease.id, token: held.token, mode: 'exclusive', flightMs: LATE_WRITE_FLIGHT_MS });
  const granted = must('next acquire', await waiting);
  await next.holdAndWrite(store, nextLease, 'lock-5', granted.token, 'exclusive', LATE_WRITE_FLIGHT_MS, { gapMs: 100 });
  const late = await lateWrite;
  cluster.healClient('holder');
  expect(BigInt(granted.token)).toBeGreaterThan(BigInt(held.token));
  return { late, holder, lease };
}

describe('chaos scenario 5: a holder stalled past its TTL, against the fenced resource', () => {
  it('with fencing, the stale write is refused and nothing is lost', async () => {
    await runScenario({ name: 'fenced-paused-holder', seed: 5, fencing: true }, async (ctx) => {
      const { late, lease } = await stallHolderMidWrite(ctx);
      expect(late).toBe(false);
      expect(lease.lost).toBe(true);
      expect(ctx.store.stats.staleAccepted).toBe(0);
      expect(ctx.store.stats.rejected).toBe(1);
      return ['lock-5'];
    });
  });

  it('without fencing, the store accepts the stale write and the checker reports it', async () => {
    const { results } = await runScenario(
      { name: 'unfenced-paused-holder', seed: 5, fencing: false },
      async (ctx) => {
        const { late } = await stallHolderMidWrite(ctx);
        expect(late).toBe(true);
        expect(ctx.store.stats.staleAccepted).toBe(1);
        return ['lock-5'];
      },
      { expectViolations: true },
    );
    const mutex = results.find((r) => r.checker === 'mutual-exclusion')!;
    expect(mutex.ok).toBe(false);
    expect(mutex.violations).toEqual([expect.stringMatching(/^stale write: \[holder\] write to "lock-5" lease \S+ token \d+ \(exclusive\) .* accepted although the store had accepted token \d+$/)]);
    expect(results.filter((r) => !r.ok).map((r) => r.checker)).toEqual(['mutual-exclusion']);
  });
});

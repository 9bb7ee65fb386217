import { describe, expect, it } from 'vitest';
import { must, runScenario, waitFor } from './scenarioRun.js';

/**
 * Scenario 4: a waiter's lease expires while it is queued, then the holder
 * releases: the waiter is never granted, and its client is told promptly
 * (its acquire ends because the lease expired, long before its wait would
 * have run out).
 */
describe('chaos scenario 4: a queued waiter whose lease expires', () => {
  it('is dropped from the queue and told, and the release grants nobody', async () => {
    await runScenario({ name: 'waiter-expires', seed: 4 }, async ({ client, recorder }) => {
      const holder = await client('holder');
      // The waiter's lease is kept alive by one client; the wait runs on another, so the
      // keepalives can stop while the wait stays open.
      const waiterLeases = await client('waiter-leases');
      const waiter = await client('waiter');
      const observer = await client('observer');
      const lease = must('holder grant', await holder.grant(3_000));
      const held = must('holder acquire', await holder.acquire(lease, 'lock-4', { mode: 'exclusive', waitMs: 0 }));
      const waiterLease = must('waiter grant', await waiterLeases.grant(1_000));
      const waitMs = 30_000;
      const waiting = waiter.acquire(waiterLease, 'lock-4', { mode: 'exclusive', waitMs });
      await waitFor('the waiter to be queued', 5_000, async () => {
        const seen = await observer.get('lock-4');
        return seen.outcome === 'ok' && seen.value.waiters.includes(waiterLease.id);
      });

      await waiterLeases.lapse();
      const outcome = await waiting;
      expect(outcome.outcome).not.toBe('ok');
      const waitOp = outcome.op;
      expect(waitOp.completeMs ?? Infinity).toBeLessThan(waitOp.invokeMs + waitMs);
      const queue = must('get after the expiry', await observer.get('lock-4'));
      expect(queue.waiters).toEqual([]);

      must('holder release', await holder.release(lease, 'lock-4', held.token));
      const after = must('get after the release', await observer.get('lock-4'));
      expect(after).toEqual({ holders: [], waiters: [] });
      expect(recorder.history.ops.filter((op) => op.leaseId === waiterLease.id && op.kind === 'acquire' && op.outcome === 'ok')).toEqual([]);
      return ['lock-4'];
    });
  });
});

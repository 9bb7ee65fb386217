import { describe, expect, it } from 'vitest';
import { must, runScenario, waitFor } from './scenarioRun.js';

/**
 * Scenario 1: a holder with a 3 s TTL is cut off from the whole cluster. Its
 * client reports the lock lost no later than TTL after it sent its last
 * acknowledged keepalive; the lock goes to the waiting client only after
 * that, with a higher token.
 */
describe('chaos scenario 1: a holder cut off from the cluster', () => {
  it('loses the lock within its TTL, before the next client gets it with a higher token', async () => {
    await runScenario({ name: 'holder-cut-off', seed: 1 }, async ({ cluster, client, recorder, store }) => {
      const holder = await client('holder');
      const next = await client('next');
      const observer = await client('observer');
      const lease = must('holder grant', await holder.grant(3_000));
      const held = must('holder acquire', await holder.acquire(lease, 'lock-1', { mode: 'exclusive', waitMs: 0 }));
      await holder.holdAndWrite(store, lease, 'lock-1', held.token, 'exclusive', 300);
      const nextLease = must('next grant', await next.grant(3_000));
      const waiting = next.acquire(nextLease, 'lock-1', { mode: 'exclusive', waitMs: 20_000 });
      await waitFor('the next client to be queued', 5_000, async () => {
        const seen = await observer.get('lock-1');
        return seen.outcome === 'ok' && seen.value.waiters.includes(nextLease.id);
      });

      cluster.cutClient('holder', { kind: 'blackhole' });
      const writing = holder.holdAndWrite(store, lease, 'lock-1', held.token, 'exclusive', 10_000, { gapMs: 100 });
      await waitFor('the holder to be told its lease is lost', 10_000, () => lease.lost);
      await writing;
      const granted = must('next acquire', await waiting);
      // The library's belief reads the clock: when the next grant arrives, the holder must already have let go.
      expect(lease.lost).toBe(true);
      await next.holdAndWrite(store, nextLease, 'lock-1', granted.token, 'exclusive', 300);
      cluster.healClient('holder');

      const loss = recorder.history.leaseLosses.find((l) => l.leaseId === lease.id);
      expect(loss).toBeDefined();
      expect(loss!.atMs).toBeLessThanOrEqual(loss!.lastAckedKeepAliveSentMs + 3_000);
      const grantOp = recorder.history.ops.find((op) => op.kind === 'acquire' && op.client === 'next')!;
      expect(grantOp.completeMs!).toBeGreaterThan(loss!.atMs);
      expect(BigInt(granted.token)).toBeGreaterThan(BigInt(held.token));
      return ['lock-1'];
    });
  });
});

import { describe, expect, it } from 'vitest';
import type { ChaosCluster } from '../harness/index.js';
import { PASS, sleep } from '../harness/index.js';
import { must, runScenario, waitFor } from './scenarioRun.js';

/**
 * Scenario 6: replies are lost after the server applied the request. The
 * retrying client reaches the cluster only through one follower, whose
 * forwarding link to the leader is slowed past the client's attempt timeout:
 * every attempt is applied by the leader, and every reply arrives after the
 * client gave up on it, so the client retries. Retries must never
 * double-acquire (a retried acquire reports the one grant, existing), and a
 * late duplicate of a release must never free the newer grant the same lease
 * got in the meantime.
 */
const SLOW_LINK_MS = 1_500;

function slowPath(cluster: ChaosCluster, follower: string, leader: string): void {
  cluster.cutClient('retrier', { kind: 'refuse' }, cluster.ids.filter((id) => id !== follower));
  cluster.latency(follower, leader, SLOW_LINK_MS);
}

function fastPath(cluster: ChaosCluster, follower: string, leader: string): void {
  cluster.setLink(follower, leader, PASS);
  cluster.healClient('retrier');
}

describe('chaos scenario 6: replies dropped after the server applied the request', () => {
  it('never double-acquires on retry, and a late release never frees a newer grant', async () => {
    await runScenario({ name: 'dropped-replies', seed: 6 }, async ({ cluster, client }) => {
      const retrier = await client('retrier', { attemptTimeoutMs: SLOW_LINK_MS - 500, requestTimeoutMs: 4_000 });
      const fast = await client('fast');
      const observer = await client('observer');
      const lease = must('grant', await retrier.grant(10_000));
      const leader = await cluster.leader();
      const follower = cluster.ids.find((id) => id !== leader)!;

      slowPath(cluster, follower, leader);
      const first = await retrier.acquire(lease, 'lock-6', { mode: 'exclusive', waitMs: 0 });
      await sleep(SLOW_LINK_MS + 500); // let every delayed attempt land
      fastPath(cluster, follower, leader);
      const retried = must('acquire retried after the lost replies', await retrier.acquire(lease, 'lock-6', { mode: 'exclusive', waitMs: 0 }));
      expect(retried.existing).toBe(true);
      // The set-up guarantees the lost reply: every attempt's reply comes back after the attempt timed out.
      expect(first.outcome).toBe('unknown');
      const once = must('get', await observer.get('lock-6'));
      expect(once.holders).toEqual([{ leaseId: lease.id, token: retried.token, mode: 'exclusive' }]);

      slowPath(cluster, follower, leader);
      const releasing = retrier.release(lease, 'lock-6', retried.token);
      // As soon as the first delayed release lands, the same lease takes the lock again on a fast path.
      await waitFor('the delayed release to land', 10_000, async () => {
        const seen = await observer.get('lock-6');
        return seen.outcome === 'ok' && seen.value.holders.length === 0;
      });
      const newer = must('re-acquire on the fast path', await fast.acquire(lease, 'lock-6', { mode: 'exclusive', waitMs: 0 }));
      expect(newer.existing).toBe(false);
      expect(BigInt(newer.token)).toBeGreaterThan(BigInt(retried.token));
      expect((await releasing).outcome).toBe('unknown');
      await sleep(SLOW_LINK_MS + 500); // every duplicate of the release has landed by now
      fastPath(cluster, follower, leader);
      const after = must('get after the late duplicates', await observer.get('lock-6'));
      expect(after.holders).toEqual([{ leaseId: lease.id, token: newer.token, mode: 'exclusive' }]);
      must('release the newer grant', await fast.release(lease, 'lock-6', newer.token));
      return ['lock-6'];
    });
  });
});

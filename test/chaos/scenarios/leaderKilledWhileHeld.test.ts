import { describe, expect, it } from 'vitest';
import { must, runScenario } from './scenarioRun.js';

/**
 * Scenario 2: SIGKILL the leader while a lock is held. The holder's
 * keepalives resume on the new leader within the TTL: the lease is never
 * lost, the lock never released, and its token never changes.
 */
describe('chaos scenario 2: the leader is killed while a lock is held', () => {
  it('keeps the lease alive through the new leader, with the lock and its token unchanged', async () => {
    await runScenario({ name: 'leader-killed-while-held', seed: 2 }, async ({ cluster, client, recorder, store }) => {
      const holder = await client('holder');
      const observer = await client('observer');
      const lease = must('grant', await holder.grant(3_000));
      const held = must('acquire', await holder.acquire(lease, 'lock-2', { mode: 'exclusive', waitMs: 0 }));
      await holder.holdAndWrite(store, lease, 'lock-2', held.token, 'exclusive', 300);

      const oldLeader = await cluster.leader();
      await cluster.kill(oldLeader);
      const newLeader = await cluster.leader({ notId: oldLeader });
      // Two TTLs of critical section under the new leader: the lease must survive them.
      const writes = await holder.holdAndWrite(store, lease, 'lock-2', held.token, 'exclusive', 6_000, { gapMs: 100 });

      expect(newLeader).not.toBe(oldLeader);
      expect(lease.lost).toBe(false);
      expect(writes.rejected).toBe(0);
      expect(recorder.history.leaseLosses).toEqual([]);
      const seen = must('get', await observer.get('lock-2'));
      expect(seen.holders).toEqual([{ leaseId: lease.id, token: held.token, mode: 'exclusive' }]);
      await cluster.restart(oldLeader);
      const again = must('get after the old leader rejoined', await observer.get('lock-2'));
      expect(again.holders).toEqual([{ leaseId: lease.id, token: held.token, mode: 'exclusive' }]);
      return ['lock-2'];
    });
  });
});

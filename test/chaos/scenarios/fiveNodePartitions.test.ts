import { describe, expect, it } from 'vitest';
import { sleep } from '../harness/index.js';
import { must, runScenario } from './scenarioRun.js';

/**
 * Scenario 7: five nodes under a majority/minority split, a majorities ring
 * and leader isolation. A client that can reach only the minority side (or
 * only the isolated old leader) can neither acquire, nor renew its lease,
 * nor read linearizably; the majority side keeps serving; and the whole
 * history checks linearizable.
 */
const TTL_MS = 2_000;

describe('chaos scenario 7: five nodes split, ringed and with the leader isolated', () => {
  it('refuses grants, renewals and reads on the minority side, and stays linearizable', async () => {
    await runScenario({ name: 'five-node-partitions', seed: 7, nodes: 5 }, async ({ cluster, client }) => {
      const minority = await client('minority', { requestTimeoutMs: 2_000 });
      const majority = await client('majority');
      const ring = await client('ring', { requestTimeoutMs: 2_000 });
      const minorityLease = must('minority grant', await minority.grant(TTL_MS));
      const majorityLease = must('majority grant', await majority.grant(5_000));
      const ringLease = must('ring grant', await ring.grant(5_000));

      // 1. Majority/minority: the leader stays with the majority.
      const leader = await cluster.leader();
      const others = cluster.ids.filter((id) => id !== leader);
      const small = others.slice(0, 2);
      const big = cluster.ids.filter((id) => !small.includes(id));
      cluster.partition([big, small]);
      cluster.cutClient('minority', { kind: 'refuse' }, big);
      cluster.cutClient('majority', { kind: 'refuse' }, small);
      const minorityAcquire = await minority.acquire(minorityLease, 'lock-7', { mode: 'exclusive', waitMs: 0 });
      const minorityGet = await minority.get('lock-7');
      expect(minorityAcquire.outcome).not.toBe('ok');
      expect(minorityGet.outcome).not.toBe('ok');
      const held = must('majority acquire', await majority.acquire(majorityLease, 'lock-7', { mode: 'exclusive', waitMs: 0 }));
      await sleep(TTL_MS);
      expect(minorityLease.lost).toBe(true); // no renewal could be acknowledged from the minority side
      cluster.healNetwork();
      cluster.healClients();

      // 2. Majorities ring: each node reaches only its two neighbours (a majority each, no two the same).
      const index = new Map(cluster.ids.map((id, i) => [id, i]));
      cluster.topology((a, b) => {
        const d = Math.abs(index.get(a)! - index.get(b)!);
        return d === 1 || d === cluster.ids.length - 1;
      }, { kind: 'refuse' }, 'majorities ring');
      for (let i = 0; i < 4; i++) {
        const got = await ring.acquire(ringLease, 'lock-7b', { mode: 'exclusive', waitMs: 0 });
        if (got.outcome === 'ok') await ring.release(ringLease, 'lock-7b', got.value.token);
        await ring.get('lock-7');
      }
      cluster.healNetwork();

      // 3. Leader isolation: a client that reaches only the isolated old leader gets nothing.
      const isolated = await cluster.leader();
      cluster.isolate(isolated);
      cluster.cutClient('minority', { kind: 'refuse' }, cluster.ids.filter((id) => id !== isolated));
      await cluster.leader({ notId: isolated });
      const staleGet = await minority.get('lock-7');
      expect(staleGet.outcome).not.toBe('ok');
      const majorityGet = must('majority get while the old leader is isolated', await majority.get('lock-7'));
      expect(majorityGet.holders).toEqual([{ leaseId: majorityLease.id, token: held.token, mode: 'exclusive' }]);
      cluster.healNetwork();
      cluster.healClients();
      must('release', await majority.release(majorityLease, 'lock-7', held.token));
      return ['lock-7', 'lock-7b'];
    });
  });
});

import { describe, expect, it } from 'vitest';
import { connect } from '../../../src/client/index.js';
import { must, runScenario, waitFor } from './scenarioRun.js';

/**
 * Scenario 8: every node is SIGKILLed mid-load and restarted from LevelDB.
 * Holders, waiters and leases recover; tokens never go backwards; and no
 * lease comes back with an earlier deadline than it had (the new leader
 * restarts every lease at its full TTL).
 */
const TTL_MS = 20_000;

describe('chaos scenario 8: every node killed and restarted from its data', () => {
  it('recovers holders, waiters and leases, with tokens and deadlines never going backwards', async () => {
    await runScenario({ name: 'every-node-killed', seed: 8 }, async ({ cluster, client }) => {
      const holder = await client('holder');
      const waiter = await client('waiter');
      const observer = await client('observer');
      const lease = must('holder grant', await holder.grant(TTL_MS));
      const held = must('holder acquire', await holder.acquire(lease, 'lock-8', { mode: 'exclusive', waitMs: 0 }));
      const waiterLease = must('waiter grant', await waiter.grant(TTL_MS));
      const waiting = waiter.acquire(waiterLease, 'lock-8', { mode: 'exclusive', waitMs: 120_000 });
      await waitFor('the waiter to be queued', 10_000, async () => {
        const seen = await observer.get('lock-8');
        return seen.outcome === 'ok' && seen.value.waiters.includes(waiterLease.id);
      });
      const before = must('get before', await observer.get('lock-8'));

      // A lease nobody renews: its deadline must not move earlier across the restart.
      const quiet = await connect({ endpoints: await cluster.clientEndpoints('quiet'), discoverMembers: false, connectTimeoutMs: 30_000 });
      let quietId: string;
      try {
        quietId = (await quiet.grant(TTL_MS)).id;
      } finally {
        await quiet.close();
      }
      const ttlClient = await connect({ endpoints: await cluster.clientEndpoints('ttl'), discoverMembers: false, connectTimeoutMs: 30_000, requestTimeoutMs: 10_000 });
      try {
        const sentMs = performance.now();
        const quietBefore = { sentMs, remainingMs: (await ttlClient.timeToLive(quietId)).remainingMs };

        await cluster.killAll();
        await cluster.restartAll();
        await cluster.leader();

        const quietAfter = await ttlClient.timeToLive(quietId);
        const afterDoneMs = performance.now();
        // Deadline before >= sentMs + remaining; after <= doneMs + remaining: compare the bounds that favour "earlier".
        expect(afterDoneMs + quietAfter.remainingMs).toBeGreaterThanOrEqual(quietBefore.sentMs + quietBefore.remainingMs);
      } finally {
        await ttlClient.close();
      }

      const after = must('get after the restart', await observer.get('lock-8'));
      expect(after).toEqual(before);
      expect(lease.lost).toBe(false);
      expect(waiterLease.lost).toBe(false);

      must('holder release', await holder.release(lease, 'lock-8', held.token));
      const granted = must('waiter granted after the restart', await waiting);
      expect(BigInt(granted.token)).toBeGreaterThan(BigInt(held.token));
      must('waiter release', await waiter.release(waiterLease, 'lock-8', granted.token));
      return ['lock-8'];
    });
  });
});

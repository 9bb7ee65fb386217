import { describe, expect, it } from 'vitest';
import { connect } from '../../../src/client/index.js';
import { sleep } from '../harness/index.js';
import { must, runScenario, waitFor } from './scenarioRun.js';

/**
 * Scenario 9: leadership is forced to move faster than the TTL for a while
 * (the leader is isolated, a new one elected, the network healed for one
 * renewal interval, again and again). Held leases survive; a lease with no keepalives still expires; and
 * the mass expiry of many unrenewed leases does not starve the keepalives of
 * the live one.
 */
const TTL_MS = 3_000;
const SHORT_TTL_MS = 1_000;
const CHURN_ROUNDS = 5;
const ABANDONED_LEASES = 30;

describe('chaos scenario 9: leadership moving faster than the TTL', () => {
  it('keeps held leases, still expires unrenewed ones, and mass expiry starves nobody', async () => {
    await runScenario({ name: 'leadership-churn', seed: 9 }, async ({ cluster, client, store }) => {
      const holder = await client('holder');
      const idle = await client('idle');
      const observer = await client('observer');
      const lease = must('holder grant', await holder.grant(TTL_MS));
      const held = must('acquire', await holder.acquire(lease, 'lock-9', { mode: 'exclusive', waitMs: 0 }));
      const idleLease = must('idle grant', await idle.grant(SHORT_TTL_MS));
      must('idle acquire', await idle.acquire(idleLease, 'lock-9b', { mode: 'exclusive', waitMs: 0 }));

      // Many leases nobody renews, all expiring during the churn.
      const abandon = await connect({ endpoints: await cluster.clientEndpoints('abandon'), discoverMembers: false, connectTimeoutMs: 30_000 });
      try {
        for (let i = 0; i < ABANDONED_LEASES; i++) await abandon.grant(SHORT_TTL_MS);
      } finally {
        await abandon.close();
      }
      await idle.lapse();

      const writing = holder.holdAndWrite(store, lease, 'lock-9', held.token, 'exclusive', 60_000, { gapMs: 100 });
      const leaders: string[] = [];
      for (let round = 0; round < CHURN_ROUNDS && !lease.lost; round++) {
        const leader = await cluster.leader();
        leaders.push(leader);
        cluster.isolate(leader);
        await cluster.leader({ notId: leader });
        cluster.healNetwork();
        // Each leader lives one renewal interval (TTL/3) after the heal, so leadership still moves
        // faster than the TTL (an election plus TTL/3, about 2 s against 3 s) while every leader is
        // reachable long enough for one keepalive round.
        await sleep(TTL_MS / 3);
      }
      expect(lease.lost).toBe(false);
      expect(new Set(leaders).size).toBeGreaterThan(1);

      // The idle lease had no keepalives: it expires and frees its lock.
      await waitFor('the unrenewed lease to expire and free lock-9b', 30_000, async () => {
        const seen = await observer.get('lock-9b');
        return seen.outcome === 'ok' && seen.value.holders.length === 0;
      });
      expect(lease.lost).toBe(false);
      // Revoking ends the critical section: the client stops believing first, then the cluster frees the lock.
      must('holder revoke', await holder.revoke(lease));
      const writes = await writing;
      expect(writes.rejected).toBe(0);
      return ['lock-9', 'lock-9b'];
    });
  });
});

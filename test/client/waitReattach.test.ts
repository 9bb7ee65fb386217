import { afterAll, describe, expect, it } from 'vitest';
import { connect, type LockHandle, type RaftlockClient } from '../../src/client/index.js';
import { startRealCluster, useRealClusters } from './realCluster.js';

useRealClusters();

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** WAITERS_THROUGH_DOOMED: waiters that queue through the follower that gets SIGKILLed. */
const WAITERS_THROUGH_DOOMED = 4;
/**
 * HELD_PAST_GRACE_MS: well past the test cluster's re-attach grace (leaderWaitMs
 * (2 x 10 + 4) x 20 ms = 480 ms, plus 1 s): a wait nobody re-attached would
 * be withdrawn by then, so the queue seen afterwards is the one the retries kept.
 */
const HELD_PAST_GRACE_MS = 3_000;

describe('a queued wait keeps its place when the follower that forwarded it dies', () => {
  const clients: RaftlockClient[] = [];
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close({ revoke: true }).catch(() => undefined)));
  });

  it('waiters queued through a SIGKILLed follower are granted in their original order, before a later waiter', async () => {
    const cluster = await startRealCluster();
    const leader = await cluster.waitForLeader();
    const [doomed, survivor] = cluster.ids.filter((id) => id !== leader) as [string, string];
    const open = async (endpoints: string[]): Promise<RaftlockClient> => {
      // discoverMembers false: the calls go to the first endpoint, a follower, which forwards them.
      const c = await connect({ endpoints, discoverMembers: false });
      clients.push(c);
      return c;
    };
    const holderClient = await open([cluster.address(leader)]);
    const holderLease = await holderClient.grant(10_000);
    const held = await holderClient.acquire('reattach/queue', { lease: holderLease, waitMs: 0 });

    // Queue the waiters one at a time, through the doomed follower (the survivor is their fallback).
    const grants: string[] = [];
    const waiting: Array<Promise<void>> = [];
    const queueOrder: string[] = [];
    const enqueue = async (client: RaftlockClient): Promise<void> => {
      const lease = await client.grant(10_000);
      queueOrder.push(lease.id);
      waiting.push(
        client.acquire('reattach/queue', { lease, waitMs: 60_000 }).then(async (handle: LockHandle) => {
          grants.push(lease.id);
          await handle.release();
        }),
      );
      for (let i = 0; i < 200; i++) {
        const state = await holderClient.get('reattach/queue');
        if (state.waiters.some((w) => w.leaseId === lease.id)) return;
        await sleep(25);
      }
      throw new Error(`lease ${lease.id} never showed up in the queue`);
    };
    for (let i = 0; i < WAITERS_THROUGH_DOOMED; i++) await enqueue(await open([cluster.address(doomed), cluster.address(survivor)]));

    await cluster.kill(doomed);
    // A waiter that queues after the kill, through the surviving follower: the first ones must stay ahead of it.
    await enqueue(await open([cluster.address(survivor)]));
    await sleep(HELD_PAST_GRACE_MS);
    expect(cluster.isRunning(leader)).toBe(true);
    expect((await holderClient.get('reattach/queue')).waiters.map((w) => w.leaseId)).toEqual(queueOrder);

    await held.release();
    await Promise.all(waiting);
    expect(grants).toEqual(queueOrder);
  });
});

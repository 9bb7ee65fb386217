import { afterAll, describe, expect, it } from 'vitest';
import { connect, type RaftlockClient } from '../../src/client/index.js';
import { startRealCluster, useRealClusters } from './realCluster.js';

useRealClusters();

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('failover while holding a lock', () => {
  const clients: RaftlockClient[] = [];
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
  });

  it('SIGKILL the leader: the handle stays valid with the same token, keepalives move to the new leader, the signal never aborts', async () => {
    const cluster = await startRealCluster();
    const oldLeader = await cluster.waitForLeader();
    const client = await connect({ endpoints: cluster.addresses() });
    clients.push(client);
    expect(client.leaderAddress).toBe(cluster.address(oldLeader));

    const ttlMs = 2_000;
    const lease = await client.grant(ttlMs);
    let lostCalls = 0;
    lease.onLost(() => lostCalls++);
    const handle = await client.acquire('failover/a', { lease });
    expect(client.keepAliveAddress).toBe(cluster.address(oldLeader));

    await cluster.kill(oldLeader);
    const newLeader = await cluster.waitForLeader({ notId: oldLeader });

    // Stay well past two TTLs: only renewals acknowledged by the new leader can keep the lease.
    await sleep(2 * ttlMs + 500);
    expect(lease.signal.aborted).toBe(false);
    expect(lostCalls).toBe(0);
    expect(client.keepAliveAddress).toBe(cluster.address(newLeader));
    expect(client.leaderAddress).toBe(cluster.address(newLeader));

    // The cluster agrees: same holder, same token, lease alive on the new leader.
    expect((await client.get('failover/a')).holders).toEqual([{ leaseId: lease.id, token: handle.token, mode: 'exclusive' }]);
    const ttl = await lease.timeToLive();
    expect(ttl.locks).toEqual(['failover/a']);
    expect(ttl.remainingMs).toBeGreaterThan(0);
    expect((await client.status()).id).toBe(newLeader);

    // Acquiring again by the same lease is a retry: same token. A release still works.
    expect((await client.acquire('failover/a', { lease, waitMs: 0 })).token).toBe(handle.token);
    await handle.release();
    const next = await client.tryAcquire('failover/a');
    expect(next.token > handle.token).toBe(true);
    await next.release();
    await lease.revoke();
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, LeaseLostError, LeaseNotFoundError, type RaftlockClient } from '../../src/client/index.js';
import { startRealCluster, useRealClusters, type RealCluster } from './realCluster.js';

useRealClusters();

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('round trips against a real 3-node cluster', () => {
  let cluster: RealCluster;
  let leaderId: string;
  let followerId: string;
  const clients: RaftlockClient[] = [];
  const open = async (endpoints: string[], discoverMembers = true): Promise<RaftlockClient> => {
    const c = await connect({ endpoints, discoverMembers });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    cluster = await startRealCluster();
    leaderId = await cluster.waitForLeader();
    followerId = cluster.followerOf(leaderId);
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
  });

  it('grant / acquire / get / timeToLive / release through a follower endpoint only', async () => {
    const follower = cluster.address(followerId);
    const client = await open([follower], false);
    expect(client.leaderAddress).toBeNull(); // it only talks to the follower, which forwards

    // 2 s, not less: on a loaded 2-core machine a shorter lease can be lost for real (its renewals starved of CPU).
    const lease = await client.grant(2_000);
    expect(lease.id).toMatch(/^[1-9][0-9]*$/);
    expect(lease.ttlMs).toBe(2_000);
    expect(client.keepAliveAddress).toBe(follower);

    const handle = await client.acquire('rt/a', { lease });
    expect(typeof handle.token).toBe('bigint');
    expect(handle.token > 0n).toBe(true);
    expect(handle.tokenString).toBe(handle.token.toString());
    expect(handle.signal).toBe(lease.signal);
    expect(handle.mode).toBe('exclusive');

    // Acquiring a lock the lease already holds returns the same token.
    expect((await client.acquire('rt/a', { lease, waitMs: 0 })).token).toBe(handle.token);

    expect(await client.get('rt/a')).toEqual({ name: 'rt/a', holders: [{ leaseId: lease.id, token: handle.token, mode: 'exclusive' }], waiters: [] });
    const ttl = await client.timeToLive(lease);
    expect(ttl).toMatchObject({ id: lease.id, ttlMs: 2_000, locks: ['rt/a'] });
    expect(ttl.remainingMs).toBeGreaterThan(0);
    expect((await client.leases()).map((l) => l.id)).toContain(lease.id);

    // Kept alive through the follower's proxied KeepAlive stream well past its TTL.
    await sleep(5_000);
    expect(lease.signal.aborted).toBe(false);
    expect(lease.remainingMs()).toBeGreaterThan(0);
    expect((await lease.timeToLive()).locks).toEqual(['rt/a']);

    await handle.release();
    expect(handle.released).toBe(true);
    expect(await client.get('rt/a')).toEqual({ name: 'rt/a', holders: [], waiters: [] });
    expect(lease.signal.aborted).toBe(false); // a lease passed in outlives its locks

    const status = await client.status();
    expect(status).toMatchObject({ endpoint: follower, id: followerId, role: 'follower', leader: leaderId });
    expect(status.members.map((m) => m.id).sort()).toEqual(['n1', 'n2', 'n3']);
    expect(typeof status.commitIndex).toBe('bigint');

    await lease.revoke();
    expect(lease.signal.reason).toBeInstanceOf(LeaseLostError);
    expect((lease.signal.reason as LeaseLostError).reason).toBe('revoked');
    expect((await client.leases()).map((l) => l.id)).not.toContain(lease.id);
  });

  it('finds the leader when given only a follower (and talks to it directly)', async () => {
    const client = await open([cluster.address(followerId)]);
    expect(client.leaderAddress).toBe(cluster.address(leaderId));
    const lease = await client.grant(1_000);
    expect(client.keepAliveAddress).toBe(cluster.address(leaderId));
    expect((await client.status()).role).toBe('leader');
    await lease.revoke();
  });

  it('acquire without a lease grants a private lease and revokes it on release', async () => {
    const client = await open(cluster.addresses());
    const handle = await client.acquire('rt/private', { leaseTtlMs: 1_000 });
    expect(handle.privateLease).toBe(true);
    expect((await client.leases()).map((l) => l.id)).toContain(handle.lease.id);
    expect((await client.get('rt/private')).holders.map((h) => h.leaseId)).toEqual([handle.lease.id]);
    await handle.release();
    await handle.release(); // idempotent
    expect((await client.leases()).map((l) => l.id)).not.toContain(handle.lease.id);
    expect((await client.get('rt/private')).holders).toEqual([]);
  });

  it('withLock runs fn with the token and signal and always releases, even when fn throws', async () => {
    const client = await open(cluster.addresses());
    const seen = await client.withLock('rt/with', async ({ token, signal, name }) => {
      expect(signal.aborted).toBe(false);
      expect((await client.get(name)).holders[0]?.token).toBe(token);
      return token;
    });
    expect(typeof seen).toBe('bigint');
    expect((await client.get('rt/with')).holders).toEqual([]);

    const boom = new Error('boom');
    await expect(
      client.withLock('rt/with', () => {
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect((await client.get('rt/with')).holders).toEqual([]);
  });

  it('keepAlive adopts a lease granted by another client and keeps it alive', async () => {
    const granter = await connect({ endpoints: cluster.addresses() });
    const lease = await granter.grant(2_000);
    const handle = await granter.acquire('rt/adopted', { lease });
    const keeper = await open(cluster.addresses());
    const adopted = await keeper.keepAlive(lease.id);
    expect(adopted.id).toBe(lease.id);
    expect(adopted.ttlMs).toBe(2_000);
    expect(await keeper.keepAlive(lease.id)).toBe(adopted);
    await granter.close(); // the granter stops renewing; the keeper carries on
    await sleep(5_000);
    expect(adopted.signal.aborted).toBe(false);
    expect((await keeper.get('rt/adopted')).holders).toEqual([{ leaseId: lease.id, token: handle.token, mode: 'exclusive' }]);
    await adopted.revoke();
    expect((await keeper.get('rt/adopted')).holders).toEqual([]);
    await expect(keeper.keepAlive('4242424242')).rejects.toBeInstanceOf(LeaseNotFoundError);
  });

  it('fencing tokens strictly increase; shared holders coexist; a queued waiter is granted on release', async () => {
    const a = await open(cluster.addresses());
    const b = await open(cluster.addresses());
    const [la, lb] = await Promise.all([a.grant(2_000), b.grant(2_000)]);
    const h1 = await a.acquire('rt/shared', { lease: la, mode: 'shared' });
    const h2 = await b.acquire('rt/shared', { lease: lb, mode: 'shared' });
    expect(h2.token > h1.token).toBe(true);
    const state = await a.get('rt/shared');
    expect(state.holders.map((h) => [h.leaseId, h.token, h.mode])).toEqual([
      [la.id, h1.token, 'shared'],
      [lb.id, h2.token, 'shared'],
    ]);

    // An exclusive request queues behind both, and is granted when both release.
    const lc = await a.grant(2_000);
    const waiting = a.acquire('rt/shared', { lease: lc, waitMs: 10_000 });
    await sleep(200);
    expect((await a.get('rt/shared')).waiters).toEqual([{ leaseId: lc.id, mode: 'exclusive' }]);
    await h1.release();
    await h2.release();
    const h3 = await waiting;
    expect(h3.token > h2.token).toBe(true);
    await Promise.all([la.revoke(), lb.revoke(), lc.revoke()]);
  });
});

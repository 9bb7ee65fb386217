import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { failure, HOLDERS_METADATA } from './apiClient.js';
import { eventually, startCluster, useClusterHarness } from './cluster.js';

/**
 * Issue test 2: SIGKILL the leader. A new leader serves; a held lock stays
 * held by the same lease with the same token while the holder renews over a
 * KeepAlive stream that reconnects to the new leader; the killed node
 * restarts and catches up (its commit and applied reach the leader's).
 */

useClusterHarness();

describe('SIGKILL of the leader', () => {
  it('a new leader serves; locks and leases survive; the killed node catches up after restart', async () => {
    const c = await startCluster({ nodes: 3 });
    const oldLeader = await c.leader();
    const api = c.client();

    // A holder with a lock, renewing its lease over a stream connected to the leader itself.
    const ttlMs = 2_000;
    const holder = await api.grant(ttlMs);
    const held = await api.acquire('resource', holder.leaseId);
    const ka = api.keepAlive(holder.leaseId, 200, { endpoint: c.spec(oldLeader).clientAddress });
    await eventually('the first keepalive acks', async () => (ka.acks.length >= 2 ? true : null));
    expect(ka.acks.every((a) => a.endpoint === c.spec(oldLeader).clientAddress)).toBe(true);
    // A second lease with no locks, not renewed during the failover (its TTL is long).
    const idle = await api.grant(60_000);

    await c.kill(oldLeader);
    const killedAt = performance.now();
    const newLeader = await c.leader({ notId: oldLeader });
    expect(newLeader).not.toBe(oldLeader);

    // The keepalive stream broke with the old leader and reconnected elsewhere.
    await eventually('keepalive acks after the kill', async () => (ka.acksSince(killedAt).length >= 3 ? true : null));
    expect(ka.reconnects).toBeGreaterThanOrEqual(1);
    expect(ka.acksSince(killedAt).every((a) => a.endpoint !== c.spec(oldLeader).clientAddress)).toBe(true);

    // The held lock is still held by the same lease with the same token, on the new leader.
    const onNew = c.clientFor(newLeader);
    expect((await onNew.get('resource')).holders).toEqual([{ leaseId: holder.leaseId, token: held.token, mode: 'EXCLUSIVE' }]);
    expect(await onNew.timeToLive(holder.leaseId)).toMatchObject({ leaseId: holder.leaseId, locks: ['resource'] });
    expect(await onNew.timeToLive(idle.leaseId)).toMatchObject({ leaseId: idle.leaseId, ttlMs: '60000', locks: [] });

    // Renewed across the failover, the lease outlives several TTLs after the kill.
    await eventually('three TTLs of renewals after the kill', async () =>
      ka.lastAck !== null && ka.lastAck.sentAt > killedAt + 3 * ttlMs ? true : null, 30_000, 100);
    expect(ka.lost).toBe(false);
    expect((await api.get('resource')).holders).toEqual([{ leaseId: holder.leaseId, token: held.token, mode: 'EXCLUSIVE' }]);

    // Others still cannot take it; the refusal names the holder.
    const other = await api.grant(60_000);
    const refused = await failure(api.acquire('resource', other.leaseId));
    expect(refused.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(JSON.parse(refused.meta(HOLDERS_METADATA) ?? '[]')).toEqual([{ leaseId: Number(holder.leaseId), token: Number(held.token), mode: 'exclusive' }]);
    // A new grant after the failover gets a higher token.
    const fresh = await api.acquire('after-failover', other.leaseId);
    expect(Number(fresh.token)).toBeGreaterThan(Number(held.token));

    // The old leader restarts and catches up with the new leader's commit index.
    await c.start(oldLeader);
    const { node, leader } = await c.waitCaughtUp(oldLeader);
    expect(node.appliedIndex).toBeGreaterThanOrEqual(leader.commitIndex);
    await eventually(`${oldLeader} follows the new leader`, async () => {
      const s = await c.status(oldLeader);
      return s.role === 'follower' && s.leader !== '' ? s : null;
    });
    // And serves (forwarding) with the state it caught up on.
    const viaOld = c.clientFor(oldLeader);
    expect((await viaOld.get('resource')).holders).toEqual([{ leaseId: holder.leaseId, token: held.token, mode: 'EXCLUSIVE' }]);

    await ka.stop();
    expect(ka.lost).toBe(false);
  }, 90_000);
});

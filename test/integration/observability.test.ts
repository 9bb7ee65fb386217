import { describe, expect, it } from 'vitest';
import type { StatusView } from '../../src/observability/statusView.js';
import { eventually, startCluster, useClusterHarness, type Cluster } from './cluster.js';
import { httpGet, metricValue } from '../support/observability.js';

/**
 * Each member serves Prometheus metrics and its status data on its
 * httpAddress: the figures follow what the cluster does (a lock taken, a
 * try-lock refused, keepalives, an expiry), and a follower's /status.json
 * relays the leader's view of the cluster.
 */

useClusterHarness();

function http(c: Cluster, id: string): string {
  const address = c.spec(id).httpAddress;
  if (address === undefined) throw new Error(`${id} has no httpAddress`);
  return `http://${address}`;
}

async function metrics(c: Cluster, id: string): Promise<string> {
  const r = await httpGet(`${http(c, id)}/metrics`);
  expect(r.status).toBe(200);
  expect(r.contentType).toMatch(/^text\/plain/);
  return r.body;
}

describe('metrics and status on the HTTP port', () => {
  it('count what the cluster does and show the leader\'s view from any member', async () => {
    const c = await startCluster({ nodes: 3, http: true });
    const leader = await c.leader();
    const followers = c.ids.filter((id) => id !== leader);
    const api = c.client();
    const lease = await api.grant(30_000);
    const name = 'jobs/<img src=x onerror=alert(1)>';
    const held = await api.acquire(name, lease.leaseId);
    const other = await api.grant(30_000);
    await expect(api.acquire(name, other.leaseId)).rejects.toMatchObject({ code: 9 }); // FAILED_PRECONDITION: a try-lock on a held lock
    const ka = api.keepAlive(lease.leaseId, 100);
    await eventually('a keepalive acknowledged', async () => (ka.acks.length >= 2 ? true : null));
    await ka.stop();
    // A short lease left to expire.
    await api.grant(500);
    await Promise.all(followers.map((id) => c.waitCaughtUp(id)));

    const status = await c.status(leader);
    const byNode = new Map<string, string>();
    await eventually('every member counted the expiry and the leader measured round trips', async () => {
      for (const id of c.ids) byNode.set(id, await metrics(c, id));
      const expired = c.ids.every((id) => (metricValue(byNode.get(id) as string, 'raftlock_lease_expiries_total') ?? 0) >= 1);
      const rtt = followers.every((f) => (metricValue(byNode.get(leader) as string, 'raftlock_peer_round_trip_seconds_count', { peer: f }) ?? 0) > 0);
      return expired && rtt ? true : null;
    });
    const lm = byNode.get(leader) as string;
    expect(c.ids.filter((id) => metricValue(byNode.get(id) as string, 'raftlock_is_leader') === 1)).toEqual([leader]);
    expect(metricValue(lm, 'raftlock_role', { role: 'leader' })).toBe(1);
    for (const f of followers) expect(metricValue(byNode.get(f) as string, 'raftlock_role', { role: 'follower' })).toBe(1);
    expect(metricValue(lm, 'raftlock_term')).toBe(status.term);
    expect(metricValue(lm, 'raftlock_commit_index')).toBeGreaterThanOrEqual(status.commitIndex);
    for (const id of c.ids) {
      const m = byNode.get(id) as string;
      expect(metricValue(m, 'raftlock_locks'), id).toBe(1);
      expect(metricValue(m, 'raftlock_lock_holders'), id).toBe(1);
      expect(metricValue(m, 'raftlock_leases'), id).toBe(2);
      expect(metricValue(m, 'raftlock_storage_fsync_duration_seconds_count'), id).toBeGreaterThan(0);
      expect(metricValue(m, 'raftlock_leader_changes_total'), id).toBeGreaterThanOrEqual(1);
      expect(metricValue(m, 'raftlock_members'), id).toBe(3);
      for (const peer of c.ids.filter((p) => p !== id)) {
        expect(metricValue(m, 'raftlock_peer_send_queue_messages', { peer }), `${id} -> ${peer}`).not.toBeNull();
        // Links to and from the leader carry traffic; two followers may never have had anything to say to each other.
        if (id === leader || peer === leader) expect(metricValue(m, 'raftlock_peer_connected', { peer }), `${id} -> ${peer}`).toBe(1);
      }
    }
    // Grants (3), the acquire and the expiry committed on the leader, each timed.
    expect(metricValue(lm, 'raftlock_proposals_total', { outcome: 'committed' })).toBeGreaterThanOrEqual(5);
    expect(metricValue(lm, 'raftlock_proposal_duration_seconds_count')).toBe(metricValue(lm, 'raftlock_proposals_total', { outcome: 'committed' }));
    expect(metricValue(lm, 'raftlock_keepalives_total')).toBeGreaterThanOrEqual(2);
    expect(metricValue(lm, 'raftlock_grpc_requests_total', { method: '/raftlock.v1.Lock/Acquire', code: 'OK' })).toBeGreaterThanOrEqual(1);
    expect(metricValue(lm, 'raftlock_grpc_requests_total', { method: '/raftlock.v1.Lock/Acquire', code: 'FAILED_PRECONDITION' })).toBeGreaterThanOrEqual(1);
    expect(metricValue(lm, 'raftlock_grpc_requests_total', { method: '/raftlock.v1.Lease/Grant', code: 'OK' })).toBeGreaterThanOrEqual(3);

    // A follower's /status.json is the leader's view; ?local=1 is its own.
    const follower = followers[0] as string;
    const relayed = JSON.parse((await httpGet(`${http(c, follower)}/status.json`)).body) as StatusView;
    expect(relayed).toMatchObject({ view: 'leader', node: leader, servedBy: follower, leader, note: null, clusterId: 'raftlock-it' });
    expect(relayed.members.map((m) => [m.id, m.role])).toEqual(c.ids.map((id) => [id, id === leader ? 'leader' : 'follower']));
    for (const m of relayed.members) {
      expect(m.matchIndex, m.id).toBeGreaterThan(0);
      expect(m.lagEntries, m.id).toBeGreaterThanOrEqual(0);
    }
    expect(relayed.locks).toEqual([{
      name, mode: 'exclusive', holders: [{ leaseId: String(lease.leaseId), token: String(held.token), mode: 'exclusive' }], holdersTotal: 1, waiters: [], waitersTotal: 0,
    }]);
    const own = JSON.parse((await httpGet(`${http(c, follower)}/status.json?local=1`)).body) as StatusView;
    expect(own).toMatchObject({ view: 'local', node: follower, servedBy: follower, role: 'follower', leader });
    expect(own.members.find((m) => m.id === follower)?.role).toBe('follower');

    // The page itself, and what this port refuses.
    const page = await httpGet(`${http(c, follower)}/`);
    expect(page.status).toBe(200);
    expect(page.contentType).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toMatch(/script-src 'sha256-/);
    expect((await httpGet(`${http(c, follower)}/nothing-here`)).status).toBe(404);
    expect((await httpGet(`${http(c, follower)}/metrics`, { method: 'POST' })).status).toBe(405);
  });

  it('a follower shows its own view, and says why, when the leader\'s page does not answer', async () => {
    const c = await startCluster({ nodes: 3, http: true });
    const leader = await c.leader();
    const follower = c.ids.find((id) => id !== leader) as string;
    c.pause(leader);
    const view = JSON.parse((await httpGet(`${http(c, follower)}/status.json`)).body) as StatusView;
    c.resume(leader);
    expect(view.node).toBe(follower);
    expect(view.view).toBe('local');
    expect(view.note).toMatch(new RegExp(`^this is ${follower}'s own view: (no leader is known|the leader's page at .* did not answer)`));
  });
});

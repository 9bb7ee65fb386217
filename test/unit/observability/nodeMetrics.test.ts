import { describe, expect, it } from 'vitest';
import { NodeMetrics, type MetricsSource } from '../../../src/observability/nodeMetrics.js';
import { metricValue } from '../../support/observability.js';

function source(role: string): MetricsSource & { peers: Map<string, { queued: number; connected: boolean; sent: number; dropped: number }> } {
  const peers = new Map([['n2', { queued: 3, connected: true, sent: 10, dropped: 0 }], ['n3', { queued: 0, connected: false, sent: 4, dropped: 7 }]]);
  return {
    peers,
    status: () => ({ id: 'n1', role, term: 7, leader: role === 'leader' ? 'n1' : 'n2', commitIndex: 42, appliedIndex: 41, snapshotIndex: 10, members: [] }),
    lockCounts: () => ({ leases: 5, locks: 3, holders: 4, waiters: 2 }),
    peerStats: () => peers,
  };
}

describe('NodeMetrics', () => {
  it('reads levels from the node at scrape time, labelled with cluster and node', async () => {
    const src = source('leader');
    const m = new NodeMetrics(src, { clusterId: 'c1', nodeId: 'n1' });
    const text = await m.render();
    expect(metricValue(text, 'raftlock_role', { role: 'leader', cluster: 'c1', node: 'n1' })).toBe(1);
    expect(metricValue(text, 'raftlock_role', { role: 'follower' })).toBe(0);
    expect(metricValue(text, 'raftlock_is_leader')).toBe(1);
    expect(metricValue(text, 'raftlock_term')).toBe(7);
    expect(metricValue(text, 'raftlock_commit_index')).toBe(42);
    expect(metricValue(text, 'raftlock_applied_index')).toBe(41);
    expect(metricValue(text, 'raftlock_leases')).toBe(5);
    expect(metricValue(text, 'raftlock_lock_holders')).toBe(4);
    expect(metricValue(text, 'raftlock_lock_waiters')).toBe(2);
    expect(metricValue(text, 'raftlock_peer_send_queue_messages', { peer: 'n2' })).toBe(3);
    expect(metricValue(text, 'raftlock_peer_connected', { peer: 'n3' })).toBe(0);
    expect(metricValue(text, 'raftlock_peer_messages_dropped_total', { peer: 'n3' })).toBe(7);
    expect(metricValue(text, 'process_resident_memory_bytes')).toBeGreaterThan(0);
  });

  it('exports the transport\'s cumulative counts as counters that grow by what grew', async () => {
    const src = source('follower');
    const m = new NodeMetrics(src, { clusterId: 'c1', nodeId: 'n1' });
    expect(metricValue(await m.render(), 'raftlock_peer_messages_sent_total', { peer: 'n2' })).toBe(10);
    src.peers.set('n2', { queued: 0, connected: true, sent: 25, dropped: 0 });
    expect(metricValue(await m.render(), 'raftlock_peer_messages_sent_total', { peer: 'n2' })).toBe(25);
    expect(metricValue(await m.render(), 'raftlock_peer_messages_sent_total', { peer: 'n2' })).toBe(25);
  });

  it('counts what the node reports through its hooks', async () => {
    const m = new NodeMetrics(source('leader'), { clusterId: 'c1', nodeId: 'n1' });
    m.proposalFinished('committed', 0.003);
    m.proposalFinished('committed', 0.2);
    m.proposalFinished('lost', 1);
    m.proposalRefused();
    m.storageSynced(0.002);
    m.leaderChanged();
    m.peerRoundTrip('n2', 0.0004);
    m.peerRoundTrip('n2', 0.0006);
    m.leaseExpired();
    m.keepAlive();
    m.keepAlive();
    const text = await m.render();
    expect(metricValue(text, 'raftlock_proposals_total', { outcome: 'committed' })).toBe(2);
    expect(metricValue(text, 'raftlock_proposals_total', { outcome: 'lost' })).toBe(1);
    expect(metricValue(text, 'raftlock_proposals_total', { outcome: 'refused' })).toBe(1);
    expect(metricValue(text, 'raftlock_proposal_duration_seconds_count')).toBe(2);
    expect(metricValue(text, 'raftlock_proposal_duration_seconds_bucket', { le: '0.005' })).toBe(1);
    expect(metricValue(text, 'raftlock_proposal_duration_seconds_bucket', { le: '0.25' })).toBe(2);
    expect(metricValue(text, 'raftlock_storage_fsync_duration_seconds_count')).toBe(1);
    expect(metricValue(text, 'raftlock_leader_changes_total')).toBe(1);
    expect(metricValue(text, 'raftlock_peer_round_trip_seconds_count', { peer: 'n2' })).toBe(2);
    expect(metricValue(text, 'raftlock_peer_round_trip_seconds_sum', { peer: 'n2' })).toBeCloseTo(0.001, 9);
    expect(metricValue(text, 'raftlock_lease_expiries_total')).toBe(1);
    expect(metricValue(text, 'raftlock_keepalives_total')).toBe(2);
  });

  it('counts gRPC calls by method and status name, with a bounded number of methods', async () => {
    const m = new NodeMetrics(source('leader'), { clusterId: 'c1', nodeId: 'n1' });
    m.countRequest('/raftlock.v1.Lock/Acquire', 0);
    m.countRequest('/raftlock.v1.Lock/Acquire', 0);
    m.countRequest('/raftlock.v1.Lock/Acquire', 9);
    m.countRequest('/raftlock.v1.Lease/Grant', 14);
    for (let i = 0; i < 100; i++) m.countRequest(`/junk/M${i}`, 12);
    const text = await m.render();
    expect(metricValue(text, 'raftlock_grpc_requests_total', { method: '/raftlock.v1.Lock/Acquire', code: 'OK' })).toBe(2);
    expect(metricValue(text, 'raftlock_grpc_requests_total', { method: '/raftlock.v1.Lock/Acquire', code: 'FAILED_PRECONDITION' })).toBe(1);
    expect(metricValue(text, 'raftlock_grpc_requests_total', { method: '/raftlock.v1.Lease/Grant', code: 'UNAVAILABLE' })).toBe(1);
    const methods = new Set([...text.matchAll(/^raftlock_grpc_requests_total\{method="([^"]+)"/gm)].map((x) => x[1]));
    expect(methods.size).toBe(65); // 64 distinct methods, then "other"
    expect(metricValue(text, 'raftlock_grpc_requests_total', { method: 'other', code: 'UNIMPLEMENTED' })).toBe(38);
  });
});

import { describe, expect, it } from 'vitest';
import type { NodeInspection } from '../../../src/node/raftNode.js';
import { buildStatusView, HOLDERS_SHOWN, WAITERS_SHOWN } from '../../../src/observability/statusView.js';

const members = ['n1', 'n2', 'n3'].map((id, i) => ({ id, clientAddress: `127.0.0.1:700${i + 1}`, peerAddress: `127.0.0.1:710${i + 1}` }));
const http = new Map([['n1', '127.0.0.1:7201'], ['n2', '127.0.0.1:7202']]);
const counts = { leases: 2, locks: 1, holders: 1, waiters: 0 };

function inspection(role: string, leader: string | null, progress: Array<[string, number, string]> = []): NodeInspection {
  return {
    status: { id: 'n1', role, term: 4, leader, commitIndex: 90, appliedIndex: 88, snapshotIndex: 0, members },
    progress: new Map(progress.map(([id, match, state]) => [id, { match, state }])),
    lastIndex: 100,
    counts,
    locks: [],
  };
}

describe('buildStatusView', () => {
  it('on the leader: every member\'s role, match index and lag behind the leader\'s last index', () => {
    const v = buildStatusView('c1', inspection('leader', 'n1', [['n1', 100, 'replicate'], ['n2', 97, 'replicate'], ['n3', 40, 'snapshot']]),
      http, new Map([['n2', true], ['n3', false]]), '2026-01-01T00:00:00.000Z');
    expect(v).toMatchObject({ clusterId: 'c1', node: 'n1', view: 'leader', servedBy: 'n1', note: null, leader: 'n1', term: 4, commitIndex: 90, appliedIndex: 88, lastIndex: 100, counts });
    expect(v.members).toEqual([
      { ...members[0], httpAddress: '127.0.0.1:7201', role: 'leader', matchIndex: 100, lagEntries: 0, replication: null, connected: null },
      { ...members[1], httpAddress: '127.0.0.1:7202', role: 'follower', matchIndex: 97, lagEntries: 3, replication: 'replicate', connected: true },
      { ...members[2], httpAddress: null, role: 'follower', matchIndex: 40, lagEntries: 60, replication: 'snapshot', connected: false },
    ]);
  });

  it('on a follower: its own view, the leader named, the others unknown, no replication figures', () => {
    const v = buildStatusView('c1', inspection('follower', 'n3'), http, new Map([['n2', true], ['n3', true]]), '2026-01-01T00:00:00.000Z');
    expect(v.view).toBe('local');
    expect(v.members.map((m) => [m.id, m.role, m.matchIndex, m.lagEntries])).toEqual([['n1', 'follower', null, null], ['n2', 'unknown', null, null], ['n3', 'leader', null, null]]);
  });

  it('bounds each lock\'s holders and waiters, with the totals, and writes ids and tokens as decimal strings', () => {
    const holders = Array.from({ length: 30 }, (_, i) => ({ leaseId: 2 ** 52 + i, token: 1000 + i, mode: 'shared' as const }));
    const waiters = Array.from({ length: 25 }, (_, i) => ({ leaseId: 500 + i, mode: 'exclusive' as const, queuedIndex: 2000 + i }));
    const v = buildStatusView('c1', { ...inspection('leader', 'n1'), locks: [{ name: '<b>x</b>', holders, waiters }] }, http, new Map(), 'now');
    const lock = v.locks[0];
    expect(lock?.name).toBe('<b>x</b>');
    expect(lock?.mode).toBe('shared');
    expect(lock?.holders).toHaveLength(HOLDERS_SHOWN);
    expect(lock?.holdersTotal).toBe(30);
    expect(lock?.holders[0]).toEqual({ leaseId: String(2 ** 52), token: '1000', mode: 'shared' });
    expect(lock?.waiters).toHaveLength(WAITERS_SHOWN);
    expect(lock?.waitersTotal).toBe(25);
    expect(lock?.waiters[0]).toEqual({ leaseId: '500', mode: 'exclusive' });
  });
});

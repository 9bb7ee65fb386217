import { describe, expect, it } from 'vitest';
import type { RaftConfig } from '../../../src/raft/config.js';
import type { AppendRequest, AppendResponse, Message, NodeId, ProposeResult } from '../../../src/raft/types.js';
import { bytes, ids, logTerms, Network, restoredLog } from './network.js';

const isAppend = (from: NodeId, to: NodeId) => (m: Message): m is AppendRequest => m.type === 'append' && m.from === from && m.to === to;

function campaignUntilLeader(net: Network, id: NodeId, attempts: number): boolean {
  for (let i = 0; i < attempts && net.raft(id).status().role !== 'leader'; i++) net.campaign(id);
  return net.raft(id).status().role === 'leader';
}

describe('Figure 8: commit only by counting replicas of an entry of the current term', () => {
  const S = ['s1', 's2', 's3', 's4', 's5'];

  /**
   * figure8c builds the paper's Figure 8 (c): S1, leader of term 2, had put
   * 2@2 on S2 and crashed; S5 was elected in term 3 (votes of S3, S4) and
   * wrote 2@3 only locally; now S1 is elected in term 4 (votes of S2, S3),
   * replicates 2@2 to S3 — a majority holds it — while its own entry 3@4
   * reaches nobody. S5 is down and S4 does not hear from S1.
   * The cluster runs the paper's algorithm (no PreVote, no CheckQuorum).
   */
  function figure8c(): Network {
    const restored = {
      s1: restoredLog([1, 2], { term: 3, commit: 1 }),
      s2: restoredLog([1, 2], { term: 2, commit: 1 }),
      s3: restoredLog([1], { term: 3, vote: 's5', commit: 1 }),
      s4: restoredLog([1], { term: 3, vote: 's5', commit: 1 }),
      s5: restoredLog([1, 3], { term: 3, vote: 's5', commit: 1 }),
    };
    const net = Network.create(S, { restored, overrides: { preVote: false, checkQuorum: false } });
    net.isolate('s5');
    net.cut('s1', 's4');
    // Entries of the leader's own term (index 3) are lost on the way; older ones get through.
    net.hook = (m) => (m.type === 'append' ? { ...m, entries: m.entries.filter((e) => e.index < 3) } : m);
    net.campaign('s1');
    return net;
  }

  it('(c) an entry of an earlier term on a majority is not committed', () => {
    const net = figure8c();
    const s1 = net.raft('s1').status();
    expect({ role: s1.role, term: s1.term }).toEqual({ role: 'leader', term: 4 });
    expect(S.map((id) => logTerms(net.raft(id)))).toEqual([[1, 2, 4], [1, 2], [1, 2], [1], [1, 3]]);
    expect([...s1.progress].map(([id, p]) => [id, p.match])).toEqual([['s1', 3], ['s2', 2], ['s3', 2], ['s4', 0], ['s5', 0]]);
    expect(s1.commit).toBe(1);
    expect(net.peer('s1').appliedEntries().map((e) => e.index)).toEqual([1]);
  });

  it('(d) which is why: S5 can still be elected and overwrite it', () => {
    const net = figure8c();
    net.hook = null;
    net.recover();
    net.isolate('s1'); // S1 crashes
    expect(campaignUntilLeader(net, 's5', 3)).toBe(true);
    expect(net.raft('s5').status().term).toBe(5); // term 4 was taken: S2 and S3 voted for S1
    expect(['s2', 's3', 's4', 's5'].map((id) => logTerms(net.raft(id)))).toEqual([[1, 3, 5], [1, 3, 5], [1, 3, 5], [1, 3, 5]]);
    expect(net.raft('s5').status().commit).toBe(3);
  });

  it('(e) once an entry of its own term is on a majority, both commit together and S5 can no longer win', () => {
    const net = figure8c();
    net.hook = null;
    net.tick(1, ['s1']); // a heartbeat round: S2 and S3 fetch 3@4
    expect(net.raft('s1').status().commit).toBe(3);
    expect(net.peer('s1').commits).toEqual([1, 3]); // never 2 on its own
    expect(net.peer('s1').appliedEntries().map((e) => `${e.index}@${e.term}`)).toEqual(['1@1', '2@2', '3@4']);

    net.recover();
    net.isolate('s1');
    expect(campaignUntilLeader(net, 's5', 4)).toBe(false);
    for (const id of ['s2', 's3']) expect(logTerms(net.raft(id)).slice(0, 3)).toEqual([1, 2, 4]);
    expect(campaignUntilLeader(net, 's2', 2)).toBe(true); // a node holding the committed entries can
  });
});

describe('fast conflict back-off', () => {
  // Each slot of the paper's logs becomes K entries, so a one-entry-at-a-time back-off would need hundreds of round trips.
  const K = 40;
  const scale = (terms: readonly number[]): number[] => terms.flatMap((t) => Array<number>(K).fill(t));
  const figure7Leader = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6];
  const cases: ReadonlyArray<{ name: string; leader: number[]; follower: number[]; rejections: number }> = [
    { name: 'Figure 7 (a): missing entries: 1 rejection', leader: figure7Leader, follower: [1, 1, 1, 4, 4, 5, 5, 6, 6], rejections: 1 },
    { name: 'Figure 7 (b): missing many entries: 1 rejection', leader: figure7Leader, follower: [1, 1, 1, 4], rejections: 1 },
    { name: 'Figure 7 (c): an extra uncommitted entry: no rejection', leader: figure7Leader, follower: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6], rejections: 0 },
    { name: 'Figure 7 (d): extra entries of a later term: no rejection', leader: figure7Leader, follower: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7], rejections: 0 },
    { name: 'Figure 7 (e): a divergent suffix of term 4: 1 rejection', leader: figure7Leader, follower: [1, 1, 1, 4, 4, 4, 4], rejections: 1 },
    { name: 'Figure 7 (f): a long divergent suffix of terms 2 and 3: 1 rejection', leader: figure7Leader, follower: [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3], rejections: 1 },
    { name: 'interleaved terms: leader 1 2 2 4, follower 1 3 3: 2 rejections', leader: [1, 2, 2, 4], follower: [1, 3, 3], rejections: 2 },
  ];
  it.each(cases)('$name', ({ leader, follower, rejections }) => {
    const top = Math.max(...leader, ...follower) + 1;
    const restored = {
      L: restoredLog(scale(leader), { term: top }),
      G: restoredLog(scale(leader), { term: top }),
      F: restoredLog(scale(follower), { term: top }),
    };
    const net = Network.create(['L', 'G', 'F'], { restored });
    net.campaign('L');
    expect(net.leaders()).toEqual(['L']);
    const rejected = net.sent.filter((m): m is AppendResponse => m.type === 'append-resp' && m.from === 'F' && m.reject);
    expect(rejected).toHaveLength(rejections);
    expect(logTerms(net.raft('F'))).toEqual([...scale(leader), top + 1]);
    // O(terms), not O(entries): one append per rejection, then the accepted one (and at most one carrying the commit).
    const appends = net.sent.filter(isAppend('L', 'F')).length;
    expect(appends).toBeLessThanOrEqual(rejections + 2);
  });
});

describe('batching', () => {
  const cases: ReadonlyArray<{ name: string; overrides: Partial<RaftConfig>; entryBytes: number; maxPerMsg: number }> = [
    { name: 'maxEntriesPerMsg bounds the count', overrides: { maxEntriesPerMsg: 3 }, entryBytes: 1, maxPerMsg: 3 },
    { name: 'maxBytesPerMsg bounds the bytes', overrides: { maxBytesPerMsg: 10 }, entryBytes: 4, maxPerMsg: 2 },
    { name: 'an entry above maxBytesPerMsg still goes, alone', overrides: { maxBytesPerMsg: 10 }, entryBytes: 25, maxPerMsg: 1 },
    { name: 'both limits: the tighter wins', overrides: { maxEntriesPerMsg: 4, maxBytesPerMsg: 9 }, entryBytes: 3, maxPerMsg: 3 },
  ];
  it.each(cases)('$name', ({ overrides, entryBytes, maxPerMsg }) => {
    const net = Network.create(ids(3), { overrides });
    net.campaign('n1');
    net.isolate('n3'); // n3 falls behind and later catches up in batches
    const n1 = net.raft('n1');
    for (let i = 0; i < 12; i++) expect(n1.propose(bytes('x'.repeat(entryBytes))).ok).toBe(true);
    net.stabilize();
    net.recover();
    net.tick(1, ['n1']);

    const appends = net.sent.filter((m): m is AppendRequest => m.type === 'append' && m.entries.length > 0);
    for (const m of appends) {
      const size = m.entries.reduce((n, e) => n + e.data.length, 0);
      expect(m.entries.length).toBeLessThanOrEqual(maxPerMsg);
      if (m.entries.length > 1) expect(size).toBeLessThanOrEqual(net.configFor('n1').maxBytesPerMsg);
    }
    expect(appends.filter((m) => m.to === 'n3').some((m) => m.entries.length === maxPerMsg)).toBe(true);
    for (const id of ['n2', 'n3']) {
      expect(logTerms(net.raft(id))).toEqual(logTerms(n1));
      expect(net.raft(id).status().commit).toBe(13);
    }
  });
});

describe('pipelining', () => {
  const cases = [{ maxInflightMsgs: 1 }, { maxInflightMsgs: 3 }, { maxInflightMsgs: 5 }];
  it.each(cases)('stops at maxInflightMsgs=$maxInflightMsgs un-acknowledged appends, then resumes', ({ maxInflightMsgs }) => {
    const net = Network.create(ids(3), { overrides: { maxInflightMsgs, maxEntriesPerMsg: 1 } });
    net.campaign('n1');
    net.drop('n2', 'n1'); // n2 receives everything but its acknowledgements are lost
    const before = net.sent.length;
    for (let i = 0; i < 8; i++) expect(net.propose('n1', `p${i}`).ok).toBe(true);
    const carrying = net.sent.slice(before).filter((m): m is AppendRequest => isAppend('n1', 'n2')(m) && m.entries.length > 0);
    expect(carrying).toHaveLength(maxInflightMsgs);
    expect(net.raft('n1').status().commit).toBe(9); // n3 keeps the cluster committing
    expect(net.raft('n2').status().lastIndex).toBe(1 + maxInflightMsgs);

    net.recover();
    net.tick(1, ['n1']); // the heartbeat answer reopens the window
    expect(net.raft('n2').status().lastIndex).toBe(9);
    expect(net.raft('n1').status().progress.get('n2')).toMatchObject({ match: 9, state: 'replicate' });
  });
});

describe('commit propagation', () => {
  it('a follower still being probed when the commit advances learns the commit without waiting for a heartbeat', () => {
    // n2's acknowledgement commits the new leader's empty entry while n3's probe is still unanswered;
    // n3's answer then brings nothing new to send, and the commit must still reach it.
    const net = Network.create(ids(3));
    net.campaign('n1');
    expect(net.raft('n1').status().commit).toBe(1);
    expect(net.ids.map((id) => net.raft(id).status().commit)).toEqual([1, 1, 1]);
  });
});

describe('proposals', () => {
  const cases: ReadonlyArray<{
    name: string;
    overrides?: Partial<RaftConfig>;
    /** Runs against a 3-node cluster in which n1 was elected; returns the result under test. */
    run: (net: Network) => ProposeResult;
    want: Partial<ProposeResult> & { ok: boolean };
  }> = [
    { name: 'accepted on the leader', run: (net) => net.propose('n1', 'x'), want: { ok: true, index: 2, term: 1 } },
    { name: "refused with 'not-leader' on a follower, naming the leader", run: (net) => net.propose('n2', 'x'), want: { ok: false, reason: 'not-leader', leader: 'n1' } },
    {
      name: "refused with 'not-leader' by a node that knows no leader",
      run: (net) => {
        net.isolate('n1');
        net.tick(3 * 10, ['n1']); // CheckQuorum: n1 steps down
        return net.propose('n1', 'x');
      },
      want: { ok: false, reason: 'not-leader', leader: null },
    },
    { name: "refused with 'too-large' above maxEntryBytes", overrides: { maxEntryBytes: 8 }, run: (net) => net.propose('n1', '123456789'), want: { ok: false, reason: 'too-large' } },
    { name: 'accepted at exactly maxEntryBytes', overrides: { maxEntryBytes: 8 }, run: (net) => net.propose('n1', '12345678'), want: { ok: true } },
    {
      name: "refused with 'too-many-uncommitted' beyond maxUncommittedBytes",
      overrides: { maxUncommittedBytes: 10 },
      run: (net) => {
        net.isolate('n1');
        expect(net.propose('n1', 'aaaa').ok).toBe(true);
        expect(net.propose('n1', 'bbbb').ok).toBe(true);
        return net.propose('n1', 'ccc'); // 11 > 10
      },
      want: { ok: false, reason: 'too-many-uncommitted', leader: 'n1' },
    },
    {
      name: 'accepted up to exactly maxUncommittedBytes',
      overrides: { maxUncommittedBytes: 10 },
      run: (net) => {
        net.isolate('n1');
        expect(net.propose('n1', 'aaaa').ok).toBe(true);
        expect(net.propose('n1', 'bbbb').ok).toBe(true);
        return net.propose('n1', 'cc');
      },
      want: { ok: true },
    },
    {
      name: 'accepted again once the uncommitted entries commit',
      overrides: { maxUncommittedBytes: 10 },
      run: (net) => {
        net.isolate('n1');
        net.propose('n1', 'aaaaaaaa');
        expect(net.propose('n1', 'bbbbbbbb').ok).toBe(false);
        net.recover();
        net.tick(1, ['n1']);
        return net.propose('n1', 'bbbbbbbb');
      },
      want: { ok: true, index: 3 },
    },
    {
      name: 'a single entry larger than maxUncommittedBytes is accepted when nothing is uncommitted',
      overrides: { maxUncommittedBytes: 4 },
      run: (net) => net.propose('n1', 'abcdefgh'),
      want: { ok: true },
    },
  ];
  it.each(cases)('$name', ({ overrides, run, want }) => {
    const net = Network.create(ids(3), { overrides: overrides ?? {} });
    net.campaign('n1');
    expect(run(net)).toMatchObject(want);
  });
});

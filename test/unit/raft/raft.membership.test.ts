import { describe, expect, it } from 'vitest';
import {
  applyConfChange,
  decodeConfChange,
  encodeConfChange,
  type ConfChange,
  type ConfChangeType,
} from '../../../src/raft/membership.js';
import { Raft } from '../../../src/raft/raft.js';
import { SeededRng } from '../../../src/raft/prng.js';
import type { Message, NodeId } from '../../../src/raft/types.js';
import { bytes, config, FRESH, ids, Network } from './network.js';

const ELECTION_TICKS = 10;

function change(type: ConfChangeType, node: NodeId, context = ''): ConfChange {
  return { type, node, context: bytes(context) };
}

/** elected returns a cluster of n voters where n1 leads and every node has committed its empty entry. */
function elected(n = 3): Network {
  const net = Network.create(ids(n));
  net.campaign('n1');
  net.tick(1, ['n1']);
  return net;
}

function propose(net: Network, leader: NodeId, cc: ConfChange) {
  const res = net.raft(leader).proposeConfChange(cc);
  net.stabilize();
  return res;
}

/** withLearner: 3 voters led by n1, plus n4 added as a caught-up learner. */
function withLearner(): Network {
  const net = elected(3);
  net.addPeer('n4');
  expect(propose(net, 'n1', change('add-learner', 'n4', '127.0.0.1:7004'))).toMatchObject({ ok: true });
  net.tick(1, ['n1']);
  return net;
}

function campaignMessagesFrom(msgs: readonly Message[], id: NodeId): Message[] {
  return msgs.filter((m) => m.from === id && (m.type === 'vote' || m.type === 'pre-vote'));
}

describe('conf change codec', () => {
  it('round-trips every kind with its opaque context', () => {
    for (const type of ['add-learner', 'promote', 'remove'] as const) {
      const cc = change(type, 'node-é', type === 'add-learner' ? '{"peer":"127.0.0.1:8004"}' : '');
      expect(decodeConfChange(encodeConfChange(cc))).toEqual(cc);
    }
  });

  it('applies changes totally: a repeated change is a no-op', () => {
    const m0 = { voters: ['n1'], learners: [], contexts: [] };
    const m1 = applyConfChange(m0, change('add-learner', 'n2', 'a'));
    expect(m1).toEqual({ voters: ['n1'], learners: ['n2'], contexts: [{ id: 'n2', context: bytes('a') }] });
    expect(applyConfChange(m1, change('add-learner', 'n2', 'b'))).toBe(m1);
    const m2 = applyConfChange(m1, change('promote', 'n2'));
    expect(m2).toMatchObject({ voters: ['n1', 'n2'], learners: [] });
    expect(applyConfChange(m2, change('promote', 'n2'))).toBe(m2);
    expect(applyConfChange(m2, change('remove', 'n1'))).toMatchObject({ voters: ['n2'], learners: [] });
  });
});

describe('learners', () => {
  it('a new learner receives the whole log and applies it, but a leader commits only with voters', () => {
    const net = withLearner();
    expect(net.raft('n1').membership()).toMatchObject({ voters: ['n1', 'n2', 'n3'], learners: ['n4'] });
    expect(net.raft('n4').status()).toMatchObject({ joinPending: false, learners: ['n4'], leader: 'n1' });
    expect(net.propose('n1', 'a').ok).toBe(true);
    const lead = net.raft('n1').status();
    expect(net.raft('n4').status()).toMatchObject({ commit: lead.commit, applied: lead.commit, lastIndex: lead.lastIndex });

    // With both other voters cut off, the learner alone does not make a quorum.
    net.isolate('n2');
    net.isolate('n3');
    const res = net.propose('n1', 'b');
    expect(res.ok).toBe(true);
    expect(net.raft('n4').status().lastIndex).toBe(net.raft('n1').status().lastIndex);
    expect(net.raft('n1').status().commit).toBe(lead.commit);
  });

  it('never campaigns, is never asked for a vote, and a transfer to it is refused', () => {
    const net = withLearner();
    net.isolate('n1');
    const before = net.sent.length;
    net.tick(ELECTION_TICKS * 5, ['n4']);
    expect(campaignMessagesFrom(net.sent.slice(before), 'n4')).toEqual([]);
    expect(net.raft('n4').status().role).toBe('follower');
    net.recover();
    net.isolate('n1');
    net.tickUntil(() => net.leaders().some((id) => id !== 'n1'), ELECTION_TICKS * 10, ['n2', 'n3', 'n4']);
    const asked = net.sent.filter((m) => (m.type === 'vote' || m.type === 'pre-vote') && m.to === 'n4');
    expect(asked).toEqual([]);
    const leader = net.leaders().find((id) => id !== 'n1') as NodeId;
    expect(net.raft(leader).transferLeadership('n4')).toBe(false);
  });

  it('do not keep a leader alive under CheckQuorum', () => {
    const net = withLearner();
    net.cut('n1', 'n2');
    net.cut('n1', 'n3');
    // The first check still sees the voters' activity from before the cut; the second does not.
    net.tick(2 * ELECTION_TICKS + 1, ['n1', 'n4']);
    expect(net.raft('n1').status().role).toBe('follower');
  });

  it('do not confirm a read round', () => {
    const net = withLearner();
    net.cut('n1', 'n2');
    net.cut('n1', 'n3');
    expect(net.raft('n1').readIndex(7)).toBe(true);
    net.stabilize();
    net.tick(2, ['n1', 'n4']);
    expect(net.peer('n1').readStates).toEqual([]);
    net.recover();
    net.tick(1, ['n1']);
    expect(net.peer('n1').readStates.map((r) => r.ctx)).toEqual([7]);
  });

  it('a learner behind the leader is caught up by snapshot', () => {
    const net = elected(3);
    for (let i = 0; i < 20; i++) net.propose('n1', `w${i}`);
    const applied = net.raft('n1').status().applied;
    for (const id of ['n1', 'n2', 'n3']) net.compact(id, applied, bytes('state'), 0);
    net.addPeer('n4');
    expect(propose(net, 'n1', change('add-learner', 'n4', 'addr4'))).toMatchObject({ ok: true });
    net.tick(3, ['n1']);
    expect(net.peer('n4').applied[0]).toMatchObject({ kind: 'snapshot', index: applied });
    const st = net.raft('n4').status();
    expect(st).toMatchObject({ learners: ['n4'], voters: ['n1', 'n2', 'n3'], joinPending: false, commit: net.raft('n1').status().commit });
  });
});

describe('changes', () => {
  it('take effect when appended, before they commit, on the leader and on followers', () => {
    const net = elected(5);
    net.addPeer('n6');
    net.cut('n1', 'n3');
    net.cut('n1', 'n4');
    net.cut('n1', 'n5');
    const res = propose(net, 'n1', change('add-learner', 'n6', 'x'));
    expect(res.ok).toBe(true);
    const idx = (res as { index: number }).index;
    expect(net.raft('n1').status().commit).toBeLessThan(idx);
    expect(net.raft('n1').membership().learners).toEqual(['n6']);
    expect(net.raft('n2').membership().learners).toEqual(['n6']);
    expect(net.raft('n3').membership().learners).toEqual([]);
  });

  it('only one uncommitted change at a time', () => {
    const net = elected(3);
    net.addPeer('n4');
    net.addPeer('n5');
    net.isolate('n1');
    expect(propose(net, 'n1', change('add-learner', 'n4'))).toMatchObject({ ok: true });
    expect(propose(net, 'n1', change('add-learner', 'n5'))).toEqual({ ok: false, reason: 'change-in-progress', leader: 'n1' });
    net.recover();
    net.tick(1, ['n1']);
    expect(propose(net, 'n1', change('add-learner', 'n5'))).toMatchObject({ ok: true });
  });

  it('a new leader makes no change before it has committed an entry of its own term', () => {
    const net = elected(3);
    net.isolate('n1');
    // Block every acknowledgement of the new leader's empty entry.
    net.hook = (m) => (m.type === 'append-resp' ? null : m);
    net.tickUntil(() => net.leaders().includes('n2') || net.leaders().includes('n3'), ELECTION_TICKS * 10, ['n2', 'n3']);
    const leader = net.leaders().find((id) => id !== 'n1') as NodeId;
    expect(net.raft(leader).proposeConfChange(change('remove', 'n1'))).toMatchObject({ ok: false, reason: 'term-not-committed' });
  });

  it('refusals name what is wrong', () => {
    const net = withLearner();
    const r = (cc: ConfChange) => net.raft('n1').proposeConfChange(cc);
    expect(r(change('add-learner', 'n2'))).toMatchObject({ ok: false, reason: 'already-member' });
    expect(r(change('promote', 'n2'))).toMatchObject({ ok: false, reason: 'not-learner' });
    expect(r(change('remove', 'n9'))).toMatchObject({ ok: false, reason: 'not-member' });
    expect(net.raft('n2').proposeConfChange(change('remove', 'n3'))).toMatchObject({ ok: false, reason: 'not-leader', leader: 'n1' });
    const single = Network.create(['n1']);
    single.campaign('n1');
    expect(single.raft('n1').proposeConfChange(change('remove', 'n1'))).toMatchObject({ ok: false, reason: 'last-voter' });
  });

  it('promotion is refused until the learner is caught up, then makes it a voter that counts', () => {
    const net = withLearner();
    net.isolate('n4');
    for (let i = 0; i < 120; i++) net.propose('n1', `w${i}`);
    expect(propose(net, 'n1', change('promote', 'n4'))).toMatchObject({ ok: false, reason: 'learner-behind' });
    net.recover();
    net.tick(2, ['n1']);
    expect(propose(net, 'n1', change('promote', 'n4'))).toMatchObject({ ok: true });
    net.tick(1, ['n1']);
    for (const id of net.ids) expect(net.raft(id).membership()).toMatchObject({ voters: ['n1', 'n2', 'n3', 'n4'], learners: [] });
    // Four voters: n1 and n4 alone (2 of 4) no longer commit; n1, n2 and n4 (3 of 4) do.
    net.isolate('n2');
    net.isolate('n3');
    const commit = net.raft('n1').status().commit;
    net.propose('n1', 'x');
    expect(net.raft('n1').status().commit).toBe(commit);
    net.recover();
    net.isolate('n3');
    net.tick(1, ['n1']);
    expect(net.raft('n1').status().commit).toBe(net.raft('n1').status().lastIndex);
  });

  it('a learner that has not received the entry adding it is not caught up, however short the log', () => {
    const net = elected(3);
    net.addPeer('n4');
    net.isolate('n4');
    expect(propose(net, 'n1', change('add-learner', 'n4'))).toMatchObject({ ok: true });
    net.tick(1, ['n1']);
    expect(net.raft('n1').status().lastIndex).toBeLessThan(10);
    expect(propose(net, 'n1', change('promote', 'n4'))).toMatchObject({ ok: false, reason: 'learner-behind' });
    net.recover();
    net.tick(2, ['n1']);
    expect(propose(net, 'n1', change('promote', 'n4'))).toMatchObject({ ok: true });
  });

  it('a removed follower stops receiving entries and never campaigns', () => {
    const net = elected(3);
    expect(propose(net, 'n1', change('remove', 'n3'))).toMatchObject({ ok: true });
    net.tick(1, ['n1']);
    expect(net.raft('n3').membership().voters).toEqual(['n1', 'n2']);
    const before = net.sent.length;
    net.tick(ELECTION_TICKS * 5);
    expect(campaignMessagesFrom(net.sent.slice(before), 'n3')).toEqual([]);
    expect(net.sent.slice(before).filter((m) => m.to === 'n3')).toEqual([]);
    // Two voters: both are needed.
    net.isolate('n2');
    const commit = net.raft('n1').status().commit;
    net.propose('n1', 'x');
    expect(net.raft('n1').status().commit).toBe(commit);
  });

  it('a removed leader leads until its removal commits, then hands over and never campaigns again', () => {
    const net = elected(3);
    net.isolate('n1');
    const res = propose(net, 'n1', change('remove', 'n1'));
    expect(res.ok).toBe(true);
    // Uncommitted: n1 still leads, and it does not count itself toward the quorum.
    expect(net.raft('n1').status().role).toBe('leader');
    net.recover();
    net.cut('n1', 'n3');
    net.tick(1, ['n1']);
    // n2 alone holds the removal: 1 of the 2 remaining voters, not committed yet.
    expect(net.raft('n1').status().role).toBe('leader');
    expect(net.raft('n1').status().commit).toBeLessThan((res as { index: number }).index);
    net.recover();
    net.tick(1, ['n1']);
    expect(net.raft('n1').status().role).toBe('follower');
    // It told the most caught-up voter to campaign at once: a new leader without waiting for a timeout.
    expect(net.leaders().filter((id) => id !== 'n1')).toHaveLength(1);
    const before = net.sent.length;
    net.tick(ELECTION_TICKS * 5);
    expect(campaignMessagesFrom(net.sent.slice(before), 'n1')).toEqual([]);
    const leader = net.leaders()[0] as NodeId;
    expect(net.raft(leader).membership().voters).not.toContain('n1');
    expect(net.propose(leader, 'after').ok).toBe(true);
  });

  it('a follower that truncates an uncommitted change reverts to the configuration before it', () => {
    const net = elected(5);
    net.addPeer('n6');
    for (const id of ['n3', 'n4', 'n5', 'n6']) net.cut('n1', id);
    expect(propose(net, 'n1', change('add-learner', 'n6'))).toMatchObject({ ok: true });
    expect(net.raft('n2').membership().learners).toEqual(['n6']);
    net.isolate('n1');
    net.cut('n2', 'n3');
    net.cut('n2', 'n4');
    net.cut('n2', 'n5');
    net.tickUntil(() => net.leaders().some((id) => ['n3', 'n4', 'n5'].includes(id)), ELECTION_TICKS * 10, ['n3', 'n4', 'n5']);
    const leader = net.leaders().find((id) => id !== 'n1') as NodeId;
    net.recover();
    net.isolate('n1');
    net.tick(2, [leader]);
    expect(net.raft('n2').status().leader).toBe(leader);
    expect(net.raft('n2').membership()).toMatchObject({ voters: ids(5), learners: [] });
  });

  it('snapshots carry voters and learners; a restart from one keeps them; an older snapshot with voters only loads', () => {
    const net = withLearner();
    const applied = net.raft('n2').status().applied;
    net.compact('n2', applied, bytes('state'), 0);
    const snap = net.peer('n2').store.snapshot;
    expect(snap?.meta).toMatchObject({ voters: ['n1', 'n2', 'n3'], learners: ['n4'], contexts: [{ id: 'n4' }] });
    const restarted = net.restart('n2');
    expect(restarted.membership()).toMatchObject({ voters: ['n1', 'n2', 'n3'], learners: ['n4'] });

    const old = new Raft(config('n1', ['n1']), new SeededRng(1), {
      hardState: { term: 1, vote: '', commit: 5 },
      snapshot: { meta: { index: 5, term: 1, voters: ['n1', 'n2', 'n3'] }, data: bytes('s') },
      entries: [],
    });
    expect(old.membership()).toEqual({ voters: ['n1', 'n2', 'n3'], learners: [], contexts: [] });
  });

  it('a snapshot records the configuration at its index, not a later uncommitted one', () => {
    const net = elected(3);
    net.addPeer('n4');
    net.isolate('n1');
    net.raft('n1').proposeConfChange(change('add-learner', 'n4'));
    net.stabilize();
    const applied = net.raft('n1').status().applied;
    const compacted = net.raft('n1').compact(applied, bytes('s'), 0);
    expect(compacted?.snapshot.meta).toMatchObject({ voters: ['n1', 'n2', 'n3'], learners: [] });
    expect(net.raft('n1').membership().learners).toEqual(['n4']);
  });
});

describe('joining', () => {
  it('a node in join mode neither campaigns nor votes until a leader adds it, even reusing an initial id', () => {
    const net = elected(3);
    // n3's disk is lost: it comes back empty in join mode under the same id.
    net.peer('n3').raft = new Raft(config('n3', ids(3), { joining: true }), new SeededRng(5), FRESH);
    expect(net.raft('n3').status().joinPending).toBe(true);
    net.isolate('n3');
    const before = net.sent.length;
    net.tick(ELECTION_TICKS * 5, ['n3']);
    expect(campaignMessagesFrom(net.sent.slice(before), 'n3')).toEqual([]);
    net.recover();
    net.raft('n3').step({ type: 'vote', from: 'n2', to: 'n3', term: 5, lastIndex: 9, lastTerm: 4, transfer: true });
    const answers = net.raft('n3').ready().messages;
    expect(answers).toEqual([expect.objectContaining({ type: 'vote-resp', granted: false })]);
  });

  it('a joining node learns its membership from the leader and then participates', () => {
    const net = withLearner();
    expect(propose(net, 'n1', change('promote', 'n4'))).toMatchObject({ ok: true });
    net.tick(1, ['n1']);
    expect(net.raft('n4').status()).toMatchObject({ joinPending: false, voters: ['n1', 'n2', 'n3', 'n4'] });
    net.isolate('n1');
    net.tickUntil(() => net.leaders().some((id) => id !== 'n1'), ELECTION_TICKS * 10, ['n2', 'n3', 'n4']);
    // Three of the four voters are needed: n4 either led or granted its vote.
    const leader = net.leaders().find((id) => id !== 'n1') as NodeId;
    const granted = net.sent.filter((m) => m.type === 'vote-resp' && m.from === 'n4' && m.granted);
    expect(leader === 'n4' || granted.length > 0).toBe(true);
  });
});

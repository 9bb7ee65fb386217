import { describe, expect, it } from 'vitest';
import type { Raft } from '../../../src/raft/raft.js';
import type { Message } from '../../../src/raft/types.js';
import { bytes, ids, Network } from './network.js';

/** deliver steps `msgs` into their addressees, runs each addressee's Ready contract fully, and returns what they sent. */
function deliver(net: Network, msgs: readonly Message[]): Message[] {
  const out: Message[] = [];
  for (const m of msgs) {
    const r = net.raft(m.to);
    r.step(m);
    while (r.hasReady()) {
      const rd = r.ready();
      out.push(...rd.messages);
      r.advance(rd);
    }
  }
  return out;
}

function electedLeader(): { net: Network; leader: Raft } {
  const net = Network.create(ids(3));
  net.campaign('n1');
  const leader = net.raft('n1');
  expect(leader.status().role).toBe('leader');
  return { net, leader };
}

describe('a leader sends appends before its own fsync', () => {
  it('counts itself toward the quorum only once its Ready is advanced (persisted)', () => {
    const { net, leader } = electedLeader();
    const before = leader.status().commit;
    const p = leader.propose(bytes('x'));
    expect(p.ok).toBe(true);
    const index = p.ok ? p.index : -1;

    const rd = leader.ready();
    expect(rd.entries.map((e) => e.index)).toEqual([index]);
    expect(leader.messagesMayPrecedePersist()).toBe(true);
    // Only n2 receives and acknowledges: n2 alone is not a quorum of three, and the
    // leader's own copy is not durable yet, so nothing may commit.
    const acks = deliver(net, rd.messages.filter((m) => m.to === 'n2'));
    expect(acks.some((m) => m.type === 'append-resp' && !m.reject && m.index === index)).toBe(true);
    for (const m of acks) leader.step(m);
    expect(leader.status().commit).toBe(before);

    // Its fsync completes: now leader + n2 hold the entry.
    leader.advance(rd);
    expect(leader.status().commit).toBe(index);
  });

  it('commits without its own copy once a quorum of followers holds the entry', () => {
    const { net, leader } = electedLeader();
    const p = leader.propose(bytes('y'));
    const index = p.ok ? p.index : -1;
    const rd = leader.ready();
    for (const m of deliver(net, rd.messages)) leader.step(m);
    // n2 and n3 are durable: a quorum, even before the leader's own fsync completes.
    expect(leader.status().commit).toBe(index);
    leader.advance(rd);
    expect(leader.status().commit).toBe(index);
  });

  it('a single-node cluster commits only after its Ready is advanced', () => {
    const net = Network.create(['solo']);
    net.campaign('solo');
    const solo = net.raft('solo');
    expect(solo.status().role).toBe('leader');
    const p = solo.propose(bytes('z'));
    const index = p.ok ? p.index : -1;
    const rd = solo.ready();
    expect(rd.committedEntries.map((e) => e.index)).not.toContain(index);
    expect(solo.status().commit).toBe(index - 1);
    solo.advance(rd);
    expect(solo.status().commit).toBe(index);
  });

  it('a Ready that changes the term or vote (a candidate) keeps its messages until persisted', () => {
    const net = Network.create(ids(3), { overrides: { preVote: false } });
    const r = net.raft('n1');
    r.campaign();
    const rd = r.ready();
    expect(rd.hardState?.term).toBe(1);
    expect(rd.messages.some((m) => m.type === 'vote')).toBe(true);
    expect(r.messagesMayPrecedePersist()).toBe(false);
    r.advance(rd);
  });

  it('a follower never sends its acknowledgements before persisting', () => {
    const { net, leader } = electedLeader();
    leader.propose(bytes('w'));
    const rd = leader.ready();
    const toN2 = rd.messages.filter((m) => m.to === 'n2');
    const n2 = net.raft('n2');
    for (const m of toN2) n2.step(m);
    const frd = n2.ready();
    expect(frd.entries.length).toBeGreaterThan(0);
    expect(n2.messagesMayPrecedePersist()).toBe(false);
    n2.advance(frd);
    leader.advance(rd);
  });
});

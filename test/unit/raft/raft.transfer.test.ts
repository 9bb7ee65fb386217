import { describe, expect, it } from 'vitest';
import type { AppendResponse, Message, NodeId } from '../../../src/raft/types.js';
import { ids, logTerms, Network } from './network.js';

const ELECTION_TICKS = 10;

/** elected returns a 3-node cluster where n1 leads and every node has committed its empty entry. */
function elected(): Network {
  const net = Network.create(ids(3));
  net.campaign('n1');
  net.tick(1, ['n1']);
  return net;
}

describe('leader transfer', () => {
  const cases: ReadonlyArray<{ name: string; lagging: boolean }> = [
    { name: 'an up-to-date target gets TimeoutNow at once', lagging: false },
    { name: 'a lagging target is brought up to date first', lagging: true },
  ];
  it.each(cases)('$name, then wins with term + 1', ({ lagging }) => {
    const net = elected();
    if (lagging) net.isolate('n3');
    for (const w of ['a', 'b', 'c']) expect(net.propose('n1', w).ok).toBe(true);
    net.recover();
    const lastIndex = net.raft('n1').status().lastIndex;
    expect(net.raft('n3').status().lastIndex).toBe(lagging ? 1 : lastIndex);

    const before = net.sent.length;
    expect(net.raft('n1').transferLeadership('n3')).toBe(true);
    net.stabilize();

    const after = net.sent.slice(before);
    const timeoutAt = after.findIndex((m) => m.type === 'timeout-now');
    expect(after[timeoutAt]).toMatchObject({ from: 'n1', to: 'n3', term: 1 });
    if (lagging) {
      // Appends came first, and n3 had acknowledged the leader's last entry before TimeoutNow was sent.
      expect(after.slice(0, timeoutAt).some((m) => m.type === 'append' && m.to === 'n3' && m.entries.length > 0)).toBe(true);
      const acks = after.slice(0, timeoutAt).filter((m): m is AppendResponse => m.type === 'append-resp' && m.from === 'n3' && !m.reject);
      expect(acks[acks.length - 1]?.index).toBe(lastIndex);
    } else {
      expect(timeoutAt).toBe(0);
    }
    // The target campaigns straight away (no PreVote round) and wins in term 2.
    expect(after.some((m) => m.type === 'pre-vote')).toBe(false);
    expect(net.leaders()).toEqual(['n3']);
    expect(net.ids.map((id) => net.raft(id).status().term)).toEqual([2, 2, 2]);
    expect(net.raft('n1').status()).toMatchObject({ role: 'follower', leader: 'n3' });
    for (const id of net.ids) expect(logTerms(net.raft(id))).toEqual([1, 1, 1, 1, 2]);
  });

  it('proposals are refused while transferring', () => {
    const net = elected();
    net.isolate('n3');
    expect(net.raft('n1').transferLeadership('n3')).toBe(true);
    net.stabilize();
    expect(net.raft('n1').status().role).toBe('leader');
    expect(net.propose('n1', 'x')).toEqual({ ok: false, reason: 'transferring', leader: 'n1' });
  });

  it('a transfer to an unreachable node aborts after an election timeout; the leader accepts proposals again', () => {
    const net = elected();
    net.isolate('n3');
    const n1 = net.raft('n1');
    expect(n1.transferLeadership('n3')).toBe(true);
    net.tick(ELECTION_TICKS - 1, ['n1', 'n2']);
    expect(n1.propose(new Uint8Array([1]))).toMatchObject({ ok: false, reason: 'transferring' });
    net.tick(1, ['n1', 'n2']);
    expect(net.propose('n1', 'x')).toMatchObject({ ok: true, term: 1 });
    expect(net.leaders()).toEqual(['n1']);
    expect(net.ids.map((id) => net.raft(id).status().term)).toEqual([1, 1, 1]);
    expect(net.raft('n2').status().commit).toBe(n1.status().lastIndex);
  });

  it('the transfer campaign is heard by followers inside their leader lease', () => {
    const net = elected();
    net.tick(2); // n2 and n3 have just heard from n1: a plain campaign would be ignored
    const before = net.sent.length;
    net.raft('n1').transferLeadership('n2');
    net.stabilize();
    const votes = net.sent.slice(before).filter((m: Message) => m.type === 'vote-resp' && m.to === 'n2');
    expect(votes.map((m) => [m.from, m.type === 'vote-resp' && m.granted])).toEqual([['n1', true], ['n3', true]]);
    expect(net.leaders()).toEqual(['n2']);
  });

  const refused: ReadonlyArray<{ name: string; from: NodeId; to: NodeId }> = [
    { name: 'to itself', from: 'n1', to: 'n1' },
    { name: 'to a node that is not a voter', from: 'n1', to: 'n9' },
    { name: 'by a follower', from: 'n2', to: 'n3' },
  ];
  it.each(refused)('is refused $name', ({ from, to }) => {
    const net = elected();
    expect(net.raft(from).transferLeadership(to)).toBe(false);
    expect(net.propose('n1', 'x').ok).toBe(true); // nothing changed
  });
});

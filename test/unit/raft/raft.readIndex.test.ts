import { describe, expect, it } from 'vitest';
import type { RaftConfig } from '../../../src/raft/config.js';
import type { Message, NodeId } from '../../../src/raft/types.js';
import { ids, Network } from './network.js';

const ELECTION_TICKS = 10;

/** elected returns a 3-node cluster where n1 leads and every node has committed its empty entry. */
function elected(overrides: Partial<RaftConfig> = {}): Network {
  const net = Network.create(ids(3), { overrides });
  net.campaign('n1');
  net.tick(1, ['n1']);
  return net;
}

const heartbeatsFrom = (id: NodeId, msgs: readonly Message[]): Message[] => msgs.filter((m) => m.type === 'heartbeat' && m.from === id);
const dropAppends = (m: Message): Message | null => (m.type === 'append' ? null : m);

describe('ReadIndex', () => {
  const batches = [{ reads: 1 }, { reads: 3 }, { reads: 50 }];
  it.each(batches)('one quorum round (one heartbeat per follower) confirms $reads reads registered between Readies', ({ reads }) => {
    const net = elected();
    const n1 = net.raft('n1');
    for (let round = 0; round < 2; round++) {
      const before = net.sent.length;
      const ctxs = Array.from({ length: reads }, (_, i) => round * 1000 + i);
      for (const ctx of ctxs) expect(n1.readIndex(ctx)).toBe(true);
      net.stabilize();
      expect(heartbeatsFrom('n1', net.sent.slice(before)).map((m) => m.to)).toEqual(['n2', 'n3']);
      const states = net.peer('n1').readStates.filter((r) => ctxs.includes(r.ctx));
      expect(states).toEqual(ctxs.map((ctx) => ({ ctx, index: 1 })));
    }
  });

  it('a single node confirms reads at its next Ready, without messages', () => {
    const net = Network.create(['n1']);
    net.campaign('n1');
    const before = net.sent.length;
    net.raft('n1').readIndex(5);
    net.stabilize();
    expect(net.sent.length).toBe(before);
    expect(net.peer('n1').readStates).toEqual([{ ctx: 5, index: 1 }]);
  });

  it('a read waits until the leader has committed an entry of its term', () => {
    const net = Network.create(ids(3));
    net.hook = dropAppends; // the new leader's empty entry cannot replicate
    net.campaign('n1');
    const n1 = net.raft('n1');
    expect(n1.status()).toMatchObject({ role: 'leader', commit: 0 });
    expect(n1.readIndex(7)).toBe(true);
    net.tick(3, ['n1']); // heartbeats flow and are answered, but the term's first entry is not committed
    expect(net.peer('n1').readStates).toEqual([]);

    net.hook = null;
    net.tick(1, ['n1']);
    expect(n1.status().commit).toBe(1);
    expect(net.peer('n1').readStates).toEqual([{ ctx: 7, index: 1 }]);
  });

  it('the ReadState index covers every write acknowledged before the read, also across a leader change', () => {
    const net = elected();
    // n1's commit of the write never reaches n2 and n3: they hold the entry but their commit lags.
    net.hook = (m) => (m.from === 'n1' && (m.type === 'append' || m.type === 'heartbeat') && m.commit >= 2 ? null : m);
    const write = net.propose('n1', 'w');
    expect(write).toMatchObject({ ok: true, index: 2 });
    expect(net.peer('n1').appliedEntries().map((e) => e.index)).toContain(2); // acknowledged to the client

    expect(['n2', 'n3'].map((id) => net.raft(id).status())).toMatchObject([{ lastIndex: 2, commit: 1 }, { lastIndex: 2, commit: 1 }]);

    // n1 crashes; n2 or n3 takes over, but cannot replicate anything yet.
    net.isolate('n1');
    net.hook = dropAppends;
    net.tickUntil(() => net.leaders().some((id) => id !== 'n1'), 20 * ELECTION_TICKS, ['n2', 'n3']);
    const leaderId = net.leaders().find((id) => id !== 'n1') as NodeId;
    const leader = net.raft(leaderId);
    expect(leader.status().commit).toBeLessThan(2); // serving reads at this commit index would miss the write
    expect(leader.readIndex(2)).toBe(true);
    net.tick(3, [leaderId]);
    expect(net.peer(leaderId).readStates).toEqual([]);

    net.hook = null;
    net.tick(1, [leaderId]);
    const states = net.peer(leaderId).readStates;
    expect(states.map((r) => r.ctx)).toEqual([2]);
    expect(states[0]?.index).toBeGreaterThanOrEqual(write.ok ? write.index : Infinity);
  });

  it('a leader cut off from the quorum never returns a ReadState; it drops the reads when it steps down', () => {
    const net = elected();
    net.isolate('n1');
    const n1 = net.raft('n1');
    for (const ctx of [1, 2, 3]) expect(n1.readIndex(ctx)).toBe(true);
    let ticks = 0;
    while (n1.status().role === 'leader') {
      expect(net.peer('n1').readStates).toEqual([]);
      expect(net.peer('n1').droppedReads).toEqual([]);
      net.tick(1, ['n1']);
      expect(++ticks).toBeLessThanOrEqual(2 * ELECTION_TICKS);
    }
    expect(net.peer('n1').readStates).toEqual([]);
    expect(net.peer('n1').droppedReads).toEqual([1, 2, 3]);
    expect(n1.readIndex(4)).toBe(false);
  });

  const losses: ReadonlyArray<{ name: string; run: (net: Network) => void; dropped: number[] }> = [
    {
      name: 'reads in a sent round, leader deposed by a higher term',
      run: (net) => {
        net.isolate('n1');
        net.raft('n1').readIndex(1);
        net.raft('n1').readIndex(2);
        net.stabilize(); // the round goes out and is lost
        net.campaign('n2');
        net.recover();
        net.tick(1, ['n2']);
      },
      dropped: [1, 2],
    },
    {
      name: 'reads registered but not yet sent, leader deposed by a vote request',
      run: (net) => {
        net.raft('n1').readIndex(3);
        net.raft('n1').step({ type: 'vote', from: 'n2', to: 'n1', term: 5, lastIndex: 9, lastTerm: 4, transfer: false });
        net.stabilize();
      },
      dropped: [3],
    },
    {
      name: 'reads waiting for the first commit of the term',
      run: (net) => {
        net.hook = dropAppends;
        net.isolate('n1');
        net.campaign('n2');
        net.recover();
        net.tick(1, ['n2']); // n1 learns of term 2 and steps down (no reads yet)
        net.campaign('n1'); // term 3; its empty entry cannot replicate
        expect(net.raft('n1').status()).toMatchObject({ role: 'leader', term: 3 });
        net.raft('n1').readIndex(4);
        net.stabilize();
        net.raft('n1').step({ type: 'append-resp', from: 'n3', to: 'n1', term: 4, index: 0, reject: true, hintIndex: 0, hintTerm: 0 });
        net.stabilize();
      },
      dropped: [4],
    },
  ];
  it.each(losses)('reports $name in droppedReads', ({ run, dropped }) => {
    // Without CheckQuorum nothing steps the leader down but a higher term.
    const net = elected({ checkQuorum: false });
    run(net);
    const n1 = net.raft('n1').status();
    expect(n1.role).not.toBe('leader');
    expect(net.peer('n1').droppedReads).toEqual(dropped);
    expect(net.peer('n1').readStates.filter((r) => dropped.includes(r.ctx))).toEqual([]);
  });

  it('is refused on followers and beyond maxPendingReads', () => {
    const net = elected({ maxPendingReads: 2 });
    expect(net.raft('n2').readIndex(1)).toBe(false);
    net.isolate('n1');
    const n1 = net.raft('n1');
    expect([n1.readIndex(1), n1.readIndex(2), n1.readIndex(3)]).toEqual([true, true, false]);
    net.recover();
    net.tick(1, ['n1']); // the round is confirmed; room again
    expect(net.peer('n1').readStates.map((r) => r.ctx)).toEqual([1, 2]);
    expect(n1.readIndex(3)).toBe(true);
  });
});

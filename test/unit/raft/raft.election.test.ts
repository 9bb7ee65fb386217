import { describe, expect, it } from 'vitest';
import { SeededRng } from '../../../src/raft/prng.js';
import { Raft } from '../../../src/raft/raft.js';
import type { Message, NodeId, VoteRequest, VoteResponse } from '../../../src/raft/types.js';
import { config, FRESH, ids, logTerms, Network, outbox, restoredLog } from './network.js';

const ELECTION_TICKS = 10;

function voteRequest(from: NodeId, to: NodeId, term: number, opts: Partial<VoteRequest> = {}): VoteRequest {
  return { type: 'vote', from, to, term, lastIndex: 0, lastTerm: 0, transfer: false, ...opts };
}

function voteResponses(msgs: readonly Message[]): VoteResponse[] {
  return msgs.filter((m): m is VoteResponse => m.type === 'vote-resp' || m.type === 'pre-vote-resp');
}

describe('election', () => {
  it('a single node elects itself within two election timeouts and commits its empty entry', () => {
    const net = Network.create(['n1']);
    const ticks = net.tickUntil(() => net.leaders().length === 1, 2 * ELECTION_TICKS);
    expect(ticks).toBeGreaterThanOrEqual(ELECTION_TICKS);
    const s = net.raft('n1').status();
    expect({ role: s.role, term: s.term, leader: s.leader, commit: s.commit }).toEqual({ role: 'leader', term: 1, leader: 'n1', commit: 1 });
    expect(net.peer('n1').appliedEntries().map((e) => e.type)).toEqual(['empty']);
  });

  const clusters: ReadonlyArray<{ size: number; seed: number }> = [
    { size: 3, seed: 1 }, { size: 3, seed: 2 }, { size: 3, seed: 3 }, { size: 3, seed: 4 },
    { size: 5, seed: 1 }, { size: 5, seed: 2 }, { size: 5, seed: 3 }, { size: 5, seed: 4 },
  ];
  it.each(clusters)('$size nodes (seed $seed) elect exactly one leader that everyone follows', ({ size, seed }) => {
    const net = Network.create(ids(size), { seed });
    net.tickUntil(() => net.leaders().length > 0, 10 * ELECTION_TICKS);
    net.tick(3 * ELECTION_TICKS); // a leader with a quorum stays leader
    const leaders = net.leaders();
    expect(leaders).toHaveLength(1);
    const leader = net.raft(leaders[0] as NodeId).status();
    for (const id of net.ids) {
      const s = net.raft(id).status();
      expect({ id, term: s.term, leader: s.leader, commit: s.commit }).toEqual({ id, term: leader.term, leader: leader.id, commit: leader.commit });
    }
  });

  it('a new leader appends an empty entry of its term and commits it everywhere', () => {
    const net = Network.create(ids(3));
    net.campaign('n2');
    const leader = net.raft('n2');
    const last = leader.entriesFrom(leader.status().lastIndex)[0];
    expect(last).toMatchObject({ index: 1, term: 1, type: 'empty' });
    expect(last?.data.length).toBe(0);
    expect(leader.status().commit).toBe(1);
    net.tick(1, ['n2']); // one heartbeat carries the commit index to every follower
    for (const id of net.ids) {
      expect(net.raft(id).status().commit).toBe(1);
      expect(net.peer(id).appliedEntries().map((e) => `${e.index}@${e.term}:${e.type}`)).toEqual(['1@1:empty']);
    }
  });
});

describe('election restriction (Figure 7)', () => {
  // The logs of Figure 7: the leader of term 8 and six possible followers.
  // Each node may campaign; it wins only if a majority (4 of 7) holds logs no more up to date than its own.
  const logs: Readonly<Record<NodeId, number[]>> = {
    L: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6],
    a: [1, 1, 1, 4, 4, 5, 5, 6, 6],
    b: [1, 1, 1, 4],
    c: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6],
    d: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7],
    e: [1, 1, 1, 4, 4, 4, 4],
    f: [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3],
  };
  const cases: ReadonlyArray<{ candidate: NodeId; votes: number; wins: boolean }> = [
    { candidate: 'L', votes: 5, wins: true },
    { candidate: 'a', votes: 4, wins: true },
    { candidate: 'b', votes: 2, wins: false },
    { candidate: 'c', votes: 6, wins: true },
    { candidate: 'd', votes: 7, wins: true },
    { candidate: 'e', votes: 3, wins: false },
    { candidate: 'f', votes: 1, wins: false },
  ];
  const modes = [{ preVote: true }, { preVote: false }];

  describe.each(modes)('preVote=$preVote', ({ preVote }) => {
    it.each(cases)('($candidate) gets $votes of 7 votes: wins=$wins', ({ candidate, votes, wins }) => {
      const names = Object.keys(logs);
      const restored = Object.fromEntries(names.map((id) => [id, restoredLog(logs[id] as number[], { term: 8 })]));
      const net = Network.create(names, { restored, overrides: { preVote } });
      net.campaign(candidate);

      // Count the grants of the decisive round (the real vote, or the pre-vote of a lost campaign).
      const kind = wins || !preVote ? 'vote-resp' : 'pre-vote-resp';
      const granted = voteResponses(net.sent).filter((m) => m.to === candidate && m.type === kind && m.granted);
      expect(granted.length + 1).toBe(votes);

      const s = net.raft(candidate).status();
      expect(s.role === 'leader').toBe(wins);
      if (wins) {
        // The winner's log becomes everyone's log.
        for (const id of names) expect(logTerms(net.raft(id))).toEqual([...(logs[candidate] as number[]), 9]);
      } else if (preVote) {
        // A failed PreVote leaves every term alone.
        for (const id of names) expect(net.raft(id).status().term).toBe(8);
      }
    });
  });
});

describe('votes', () => {
  it('are granted once per term, also across a restart', () => {
    const cfg = config('n1', ['n1', 'n2', 'n3']);
    let node = new Raft(cfg, new SeededRng(1), FRESH);
    const steps: ReadonlyArray<{ name: string; request: VoteRequest; granted: boolean; term: number; vote: NodeId }> = [
      { name: 'first candidate of term 1', request: voteRequest('n2', 'n1', 1), granted: true, term: 1, vote: 'n2' },
      { name: 'second candidate of term 1', request: voteRequest('n3', 'n1', 1), granted: false, term: 1, vote: 'n2' },
      { name: 'the same candidate asking again', request: voteRequest('n2', 'n1', 1), granted: true, term: 1, vote: 'n2' },
      { name: 'a candidate of a new term', request: voteRequest('n3', 'n1', 2, { lastIndex: 0, lastTerm: 0 }), granted: true, term: 2, vote: 'n3' },
      { name: 'another candidate of term 2', request: voteRequest('n2', 'n1', 2), granted: false, term: 2, vote: 'n3' },
      { name: 'a request from an old term', request: voteRequest('n2', 'n1', 1), granted: false, term: 2, vote: 'n3' },
    ];
    for (const step of steps) {
      node.step(step.request);
      const resp = voteResponses(outbox(node));
      if (step.name === 'a request from an old term') {
        expect(resp, step.name).toEqual([]); // ignored outright
      } else {
        expect(resp.map((m) => [m.to, m.granted]), step.name).toEqual([[step.request.from, step.granted]]);
      }
      expect({ term: node.status().term, vote: node.status().vote }, step.name).toEqual({ term: step.term, vote: step.vote });
    }
    // The vote is durable: after a restart from the persisted hard state, term 2 is still n3's.
    node = new Raft(cfg, new SeededRng(2), { hardState: { term: 2, vote: 'n3', commit: 0 }, snapshot: null, entries: [] });
    node.step(voteRequest('n2', 'n1', 2));
    expect(voteResponses(outbox(node)).map((m) => m.granted)).toEqual([false]);
  });

  it('are refused to a candidate whose log is behind', () => {
    const cases: ReadonlyArray<{ name: string; lastIndex: number; lastTerm: number; granted: boolean }> = [
      { name: 'lower last term, longer log', lastIndex: 9, lastTerm: 1, granted: false },
      { name: 'same last term, shorter log', lastIndex: 2, lastTerm: 2, granted: false },
      { name: 'same last term, same length', lastIndex: 3, lastTerm: 2, granted: true },
      { name: 'higher last term, shorter log', lastIndex: 1, lastTerm: 3, granted: true },
    ];
    for (const c of cases) {
      const node = new Raft(config('n1', ['n1', 'n2', 'n3']), new SeededRng(1), restoredLog([1, 1, 2]));
      node.step(voteRequest('n2', 'n1', 3, { lastIndex: c.lastIndex, lastTerm: c.lastTerm }));
      expect(voteResponses(outbox(node)).map((m) => m.granted), c.name).toEqual([c.granted]);
    }
  });
});

describe('PreVote', () => {
  const modes: ReadonlyArray<{ preVote: boolean; disrupted: boolean }> = [
    { preVote: true, disrupted: false },
    { preVote: false, disrupted: true },
  ];
  it.each(modes)('preVote=$preVote: a partitioned node rejoining disrupts the leader: $disrupted', ({ preVote, disrupted }) => {
    const net = Network.create(ids(3), { overrides: { preVote } });
    net.campaign('n1');
    expect(net.raft('n1').status().term).toBe(1);

    net.isolate('n3');
    net.tick(5 * ELECTION_TICKS);
    const isolatedTerm = net.raft('n3').status().term;
    // Without PreVote the isolated node campaigns for ever higher terms; with it, it only asks.
    if (preVote) expect(isolatedTerm).toBe(1);
    else expect(isolatedTerm).toBeGreaterThan(2);
    expect(net.leaders()).toEqual(['n1']);

    net.recover();
    net.tick(5 * ELECTION_TICKS);
    const terms = net.ids.map((id) => net.raft(id).status().term);
    if (disrupted) {
      expect(Math.min(...terms)).toBeGreaterThanOrEqual(isolatedTerm); // the cluster had to move to the rejoiner's term
    } else {
      expect(terms).toEqual([1, 1, 1]);
      expect(net.ids.map((id) => net.raft(id).status().leader)).toEqual(['n1', 'n1', 'n1']);
    }
    expect(net.leaders()).toHaveLength(1);
  });

  const stale: ReadonlyArray<{ preVote: boolean; terms: number[] }> = [
    { preVote: true, terms: [2, 2, 2] },
    { preVote: false, terms: [3, 3, 3] },
  ];
  it.each(stale)('preVote=$preVote: a candidate with a stale log loses; terms after: $terms', ({ preVote, terms }) => {
    // n3 missed the last entry; nobody has a leader (all just restarted).
    const restored = {
      n1: restoredLog([1, 1, 2], { commit: 2 }),
      n2: restoredLog([1, 1, 2], { commit: 2 }),
      n3: restoredLog([1, 1], { term: 2, commit: 2 }),
    };
    const net = Network.create(ids(3), { restored, overrides: { preVote } });
    net.campaign('n3');
    const answers = voteResponses(net.sent).filter((m) => m.to === 'n3');
    expect(answers.map((m) => [m.from, m.type, m.granted])).toEqual([
      ['n1', preVote ? 'pre-vote-resp' : 'vote-resp', false],
      ['n2', preVote ? 'pre-vote-resp' : 'vote-resp', false],
    ]);
    expect(net.raft('n3').status().role).toBe('follower');
    expect(net.ids.map((id) => net.raft(id).status().term)).toEqual(terms);
    // An up-to-date node still wins afterwards.
    net.campaign('n1');
    expect(net.leaders()).toEqual(['n1']);
  });
});

describe('CheckQuorum', () => {
  const modes: ReadonlyArray<{ checkQuorum: boolean; stepsDown: boolean }> = [
    { checkQuorum: true, stepsDown: true },
    { checkQuorum: false, stepsDown: false },
  ];
  it.each(modes)('checkQuorum=$checkQuorum: an isolated leader steps down: $stepsDown', ({ checkQuorum, stepsDown }) => {
    const net = Network.create(ids(3), { overrides: { checkQuorum } });
    net.campaign('n1');
    net.tick(2, ['n1']); // followers answer heartbeats: n1 has a live quorum
    net.isolate('n1');
    let ticks = 0;
    while (net.raft('n1').status().role === 'leader' && ticks < 5 * ELECTION_TICKS) {
      net.tick(1, ['n1']);
      ticks++;
    }
    if (stepsDown) {
      expect(net.raft('n1').status()).toMatchObject({ role: 'follower', term: 1, leader: null });
      expect(ticks).toBeGreaterThanOrEqual(ELECTION_TICKS - 2);
      expect(ticks).toBeLessThanOrEqual(2 * ELECTION_TICKS);
    } else {
      expect(net.raft('n1').status().role).toBe('leader');
    }
  });

  // n2 follows n1 in term 1 (it just heard a heartbeat); n3 asks for its vote.
  const lease: ReadonlyArray<{ name: string; checkQuorum: boolean; idleTicks: number; request: VoteRequest; answered: boolean; term: number }> = [
    { name: 'a vote request is ignored', checkQuorum: true, idleTicks: 0, request: voteRequest('n3', 'n2', 2), answered: false, term: 1 },
    { name: 'a pre-vote request is ignored', checkQuorum: true, idleTicks: 0, request: { ...voteRequest('n3', 'n2', 2), type: 'pre-vote' }, answered: false, term: 1 },
    { name: 'a leader-transfer campaign is heard', checkQuorum: true, idleTicks: 0, request: voteRequest('n3', 'n2', 2, { transfer: true }), answered: true, term: 2 },
    { name: 'after an election timeout without the leader, the vote is heard', checkQuorum: true, idleTicks: ELECTION_TICKS, request: voteRequest('n3', 'n2', 2), answered: true, term: 2 },
    { name: 'without CheckQuorum there is no lease', checkQuorum: false, idleTicks: 0, request: voteRequest('n3', 'n2', 2), answered: true, term: 2 },
  ];
  it.each(lease)('follower lease: $name', ({ checkQuorum, idleTicks, request, answered, term }) => {
    const node = new Raft(config('n2', ['n1', 'n2', 'n3'], { checkQuorum }), new SeededRng(7), FRESH);
    node.step({ type: 'heartbeat', from: 'n1', to: 'n2', term: 1, commit: 0, readRound: 0 });
    outbox(node);
    expect(node.status().leader).toBe('n1');
    for (let i = 0; i < idleTicks; i++) node.tick();
    outbox(node);
    node.step(request);
    const resp = voteResponses(outbox(node)).filter((m) => m.to === 'n3');
    expect(resp.length > 0).toBe(answered);
    if (answered) expect(resp.map((m) => m.granted)).toEqual([true]);
    expect(node.status().term).toBe(term);
  });
});

describe('election timeouts', () => {
  it('are randomised in [electionTicks, 2 * electionTicks)', () => {
    const seen = new Set<number>();
    for (let seed = 1; seed <= 60; seed++) {
      const node = new Raft(config('n1', ['n1', 'n2', 'n3']), new SeededRng(seed), FRESH);
      let ticks = 0;
      while (node.status().role === 'follower' && ticks < 3 * ELECTION_TICKS) {
        node.tick();
        ticks++;
      }
      expect(node.status().role).toBe('pre-candidate');
      seen.add(ticks);
    }
    expect(Math.min(...seen)).toBeGreaterThanOrEqual(ELECTION_TICKS);
    expect(Math.max(...seen)).toBeLessThan(2 * ELECTION_TICKS);
    expect(seen.size).toBeGreaterThan(3);
  });
});

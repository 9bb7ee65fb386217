import { describe, expect, it } from 'vitest';
import { SeededRng } from '../../../src/raft/prng.js';
import { Raft } from '../../../src/raft/raft.js';
import type { AppendRequest, Message, SnapshotChunk } from '../../../src/raft/types.js';
import { bytes, config, entriesWithTerms, FRESH, ids, logTerms, Network, text, type Applied } from './network.js';

const DATA = 'abcdefghijklmnopqrstuvwxyz'; // 26 bytes: 7 chunks of at most 4
const CHUNK = 4;
const isChunk = (m: Message): m is SnapshotChunk => m.type === 'snapshot';

/**
 * lagging builds a 3-node cluster in which n3 missed entries 2..6 (it holds
 * only the first leader's empty entry), n1 compacted its log at 6 with
 * `trailing` entries kept, and entries 7 and 8 followed. All links are healed;
 * nothing has been sent to n3 yet.
 */
function lagging(trailing: number, data = DATA): Network {
  const net = Network.create(ids(3), { overrides: { snapshotChunkBytes: CHUNK } });
  net.campaign('n1');
  net.tick(1, ['n1']);
  net.isolate('n3');
  for (let i = 2; i <= 6; i++) net.propose('n1', `w${i}`);
  expect(net.raft('n1').status().applied).toBe(6);
  net.compact('n1', 6, bytes(data), trailing);
  net.propose('n1', 'w7');
  net.propose('n1', 'w8');
  net.recover();
  return net;
}

const describeApplied = (list: readonly Applied[]): string[] =>
  list.map((a) => (a.kind === 'snapshot' ? `snapshot@${a.index}:${text(a.data)}` : `${a.entry.index}:${text(a.entry.data)}`));

describe('InstallSnapshot', () => {
  const sizes: ReadonlyArray<{ name: string; data: string; offsets: number[] }> = [
    { name: '26 bytes: 7 chunks, the last one short', data: DATA, offsets: [0, 4, 8, 12, 16, 20, 24] },
    { name: '24 bytes: exactly 6 chunks', data: DATA.slice(0, 24), offsets: [0, 4, 8, 12, 16, 20] },
    { name: '4 bytes: one full chunk', data: 'abcd', offsets: [0] },
    { name: '1 byte: one short chunk', data: 'a', offsets: [0] },
    { name: 'an empty snapshot: one empty chunk', data: '', offsets: [0] },
  ];
  it.each(sizes)('chunking: $name', ({ data, offsets }) => {
    const net = lagging(0, data);
    const before = net.sent.length;
    net.tick(1, ['n1']);
    const chunks = net.sent.slice(before).filter(isChunk);
    expect(chunks.map((c) => c.offset)).toEqual(offsets);
    for (const c of chunks) {
      expect(c).toMatchObject({ from: 'n1', to: 'n3', totalBytes: data.length, meta: { index: 6, term: 1 } });
      expect(c.chunk.length).toBeLessThanOrEqual(CHUNK);
    }
    expect(net.peer('n3').applied.filter((a) => a.kind === 'snapshot').map((a) => text(a.data))).toEqual([data]);
    expect(net.raft('n3').status()).toMatchObject({ snapshotIndex: 6, commit: 8 });
  });

  it('a lagging follower receives the snapshot in chunks, restores it, then catches up by entries', () => {
    const net = lagging(0);
    expect(net.raft('n1').status().firstIndex).toBe(7);
    const before = net.sent.length;
    net.tick(1, ['n1']);

    const chunks = net.sent.slice(before).filter(isChunk);
    expect(chunks).toHaveLength(7);
    expect(chunks.map((c) => text(c.chunk)).join('')).toBe(DATA);

    const n3 = net.raft('n3').status();
    expect({ snapshotIndex: n3.snapshotIndex, firstIndex: n3.firstIndex, lastIndex: n3.lastIndex, commit: n3.commit, applied: n3.applied })
      .toEqual({ snapshotIndex: 6, firstIndex: 7, lastIndex: 8, commit: 8, applied: 8 });
    expect(logTerms(net.raft('n3'))).toEqual(logTerms(net.raft('n1')));
    // The snapshot is handed to the state machine before the entries that follow it, and no entry it covers is applied.
    expect(describeApplied(net.peer('n3').applied)).toEqual(['1:', `snapshot@6:${DATA}`, '7:w7', '8:w8']);
    expect(net.peer('n3').store.snapshot?.meta.index).toBe(6);
    // Entries after the snapshot came as appends.
    const appends = net.sent.slice(before).filter((m): m is AppendRequest => m.type === 'append' && m.to === 'n3' && m.entries.length > 0);
    expect(appends.flatMap((m) => m.entries.map((e) => e.index))).toEqual([7, 8]);
    expect(net.raft('n1').status().progress.get('n3')).toMatchObject({ match: 8, state: 'replicate' });
  });

  it('a lost chunk is sent again and the transfer completes', () => {
    const net = lagging(0);
    let dropped = 0;
    net.hook = (m) => (isChunk(m) && m.offset === 8 && dropped++ === 0 ? null : m);
    const before = net.sent.length;
    net.tick(1, ['n1']);
    expect(net.raft('n3').status().snapshotIndex).toBe(0); // stuck after 8 bytes
    expect(net.raft('n1').status().progress.get('n3')?.state).toBe('snapshot');

    const ticks = net.tickUntil(() => net.raft('n3').status().snapshotIndex === 6, 10, ['n1']);
    expect(ticks).toBeLessThanOrEqual(4);
    const chunks = net.sent.slice(before).filter(isChunk);
    expect(chunks.map((c) => c.offset)).toEqual([0, 4, 8, 8, 12, 16, 20, 24]);
    expect(describeApplied(net.peer('n3').applied)).toEqual(['1:', `snapshot@6:${DATA}`, '7:w7', '8:w8']);
  });

  it('a follower that lost its partial transfer (restart) makes the leader start over', () => {
    const net = lagging(0);
    let dropped = 0;
    net.hook = (m) => (isChunk(m) && m.offset === 12 && dropped++ === 0 ? null : m);
    const before = net.sent.length;
    net.tick(1, ['n1']);
    net.restart('n3'); // the received chunks were volatile
    net.tickUntil(() => net.raft('n3').status().snapshotIndex === 6, 20, ['n1']);
    const offsets = net.sent.slice(before).filter(isChunk).map((c) => c.offset);
    expect(offsets.slice(0, 5)).toEqual([0, 4, 8, 12, 12]); // the retry of 12 is refused: start again
    expect(offsets.slice(5)).toEqual([0, 4, 8, 12, 16, 20, 24]);
    expect(net.raft('n3').status()).toMatchObject({ commit: 8, lastIndex: 8 });
  });

  const windows: ReadonlyArray<{ name: string; trailing: number; firstIndex: number; snapshotSent: boolean }> = [
    { name: 'no trailing window: the follower at 1 needs the snapshot', trailing: 0, firstIndex: 7, snapshotSent: true },
    { name: 'a window of 4 (entries from 3): the follower at 1 needs the snapshot', trailing: 4, firstIndex: 3, snapshotSent: true },
    { name: 'a window of 5 (entries from 2): the follower at 1 gets entries', trailing: 5, firstIndex: 2, snapshotSent: false },
    { name: 'a window longer than the log: the follower at 1 gets entries', trailing: 10, firstIndex: 1, snapshotSent: false },
  ];
  it.each(windows)('compaction with $name', ({ trailing, firstIndex, snapshotSent }) => {
    const net = lagging(trailing);
    expect(net.raft('n1').status()).toMatchObject({ firstIndex, snapshotIndex: 6 });
    net.tick(1, ['n1']);
    expect(net.sent.some((m) => isChunk(m) && m.to === 'n3')).toBe(snapshotSent);
    expect(net.raft('n3').status()).toMatchObject({ commit: 8, lastIndex: 8, snapshotIndex: snapshotSent ? 6 : 0 });
    expect(net.peer('n3').appliedEntries().map((e) => e.index)).toEqual(snapshotSent ? [1, 7, 8] : [1, 2, 3, 4, 5, 6, 7, 8]);
  });
});

describe('the Ready contract around a received snapshot', () => {
  const cfg = config('n2', ['n1', 'n2', 'n3']);
  const chunk = (index: number, data: string): SnapshotChunk => ({
    type: 'snapshot', from: 'n1', to: 'n2', term: 1,
    meta: { index, term: 1, voters: ['n1', 'n2', 'n3'] }, offset: 0, totalBytes: data.length, chunk: bytes(data),
  });
  const append = (prevIndex: number, count: number, commit: number): AppendRequest => ({
    type: 'append', from: 'n1', to: 'n2', term: 1, prevIndex, prevTerm: prevIndex === 0 ? 0 : 1,
    entries: entriesWithTerms(Array<number>(count).fill(1), prevIndex + 1), commit,
  });

  it('one Ready carries the snapshot and only the committed entries after it', () => {
    const node = new Raft(cfg, new SeededRng(1), FRESH);
    node.step(chunk(5, 'state@5'));
    node.step(append(5, 2, 7));
    const rd = node.ready();
    expect(rd.snapshot?.meta.index).toBe(5);
    expect(text(rd.snapshot?.data ?? new Uint8Array())).toBe('state@5');
    expect(rd.entries.map((e) => e.index)).toEqual([6, 7]);
    expect(rd.committedEntries.map((e) => e.index)).toEqual([6, 7]);
    expect(rd.hardState).toMatchObject({ term: 1, commit: 7 });
    node.advance(rd);
    expect(node.status()).toMatchObject({ applied: 7, snapshotIndex: 5, firstIndex: 6 });
    expect(node.hasReady()).toBe(false);
  });

  it('a snapshot arriving between ready() and advance() comes in the next Ready, after what was handed out', () => {
    const node = new Raft(cfg, new SeededRng(1), FRESH);
    node.step(append(0, 2, 2));
    const rd1 = node.ready();
    expect(rd1.committedEntries.map((e) => e.index)).toEqual([1, 2]);
    node.step(chunk(9, 'state@9'));
    node.advance(rd1);
    expect(node.status().applied).toBe(2);
    const rd2 = node.ready();
    expect(rd2.snapshot?.meta.index).toBe(9);
    expect(rd2.committedEntries).toEqual([]);
    node.advance(rd2);
    expect(node.status()).toMatchObject({ applied: 9, commit: 9, lastIndex: 9 });
  });

  it('a snapshot the follower already holds the end of only moves the commit index', () => {
    const node = new Raft(cfg, new SeededRng(1), FRESH);
    node.step(append(0, 4, 0));
    node.advance(node.ready());
    node.step(chunk(3, 'state@3'));
    const rd = node.ready();
    expect(rd.snapshot).toBeNull();
    expect(rd.committedEntries.map((e) => e.index)).toEqual([1, 2, 3]);
    node.advance(rd);
    expect(node.status()).toMatchObject({ lastIndex: 4, commit: 3, snapshotIndex: 0 });
  });
});

describe('restart from storage', () => {
  it('a follower restarts from its installed snapshot and the entries after it', () => {
    const net = lagging(0);
    net.tick(1, ['n1']);
    const n3 = net.restart('n3');
    expect(n3.status()).toMatchObject({ role: 'follower', term: 1, snapshotIndex: 6, firstIndex: 7, lastIndex: 8, commit: 8, applied: 6 });
    const rd = n3.ready();
    expect(rd.snapshot).toBeNull(); // already durable and restored by the shell from storage
    expect(rd.committedEntries.map((e) => e.index)).toEqual([7, 8]);
    n3.advance(rd);
  });

  it('a new leader sends the snapshot to a follower behind its log without first sending entries it must reject', () => {
    const net = Network.create(ids(3), { overrides: { snapshotChunkBytes: CHUNK } });
    net.campaign('n1');
    net.tick(1, ['n1']);
    net.isolate('n3');
    for (let i = 2; i <= 6; i++) net.propose('n1', `w${i}`);
    net.compact('n1', 6, bytes(DATA), 0);
    net.propose('n1', 'w7');
    const store = net.peer('n1').store;
    store.entries = store.entries.filter((e) => e.index > 6); // storage dropped the compacted entries
    // n1 and n2 restart and n1 is elected again: its progress for n3 starts in probe state.
    net.restart('n1');
    net.restart('n2');
    net.campaign('n1');
    net.recover();
    const before = net.sent.length;
    net.tick(1, ['n1']);
    const toN3 = net.sent.slice(before).filter((m) => m.to === 'n3');
    const firstChunk = toN3.findIndex(isChunk);
    expect(firstChunk).toBeGreaterThan(0);
    // The first probe (the leader's last entry) is rejected with the hint "I have 1@1"; index 1 is
    // compacted on the leader, so the next message must be the snapshot.
    const appendsBefore = toN3.slice(0, firstChunk).filter((m): m is AppendRequest => m.type === 'append');
    expect(appendsBefore.map((m) => m.prevIndex)).toEqual([7]);
    expect(net.raft('n3').status()).toMatchObject({ snapshotIndex: 6, commit: 8 });
  });

  const leaderRestarts: ReadonlyArray<{ name: string; keepFrom: number; firstIndex: number; snapshotSent: boolean }> = [
    { name: 'every entry kept beside the snapshot', keepFrom: 1, firstIndex: 2, snapshotSent: false },
    { name: 'a trailing window 5..8 kept', keepFrom: 5, firstIndex: 6, snapshotSent: true },
    { name: 'only the entries after the snapshot kept', keepFrom: 7, firstIndex: 7, snapshotSent: true },
  ];
  it.each(leaderRestarts)('a leader restarted from its snapshot at 6 with $name serves a follower at 1 (snapshot: $snapshotSent)', ({ keepFrom, firstIndex, snapshotSent }) => {
    const net = Network.create(ids(3), { overrides: { snapshotChunkBytes: CHUNK } });
    net.campaign('n1');
    net.tick(1, ['n1']);
    net.isolate('n3');
    for (let i = 2; i <= 6; i++) net.propose('n1', `w${i}`);
    net.compact('n1', 6, bytes(DATA), 0);
    net.propose('n1', 'w7');
    net.propose('n1', 'w8');
    const store = net.peer('n1').store;
    store.entries = store.entries.filter((e) => e.index >= keepFrom);

    // The whole majority restarts: nobody remembers a leader.
    const n1 = net.restart('n1');
    net.restart('n2');
    expect(n1.status()).toMatchObject({ role: 'follower', snapshotIndex: 6, applied: 6, commit: 8, firstIndex, lastIndex: 8 });
    expect(n1.termAt(6)).toBe(1);
    net.stabilize();
    expect(net.peer('n1').appliedEntries().slice(-2).map((e) => e.index)).toEqual([7, 8]); // re-applied after the snapshot

    net.campaign('n1');
    expect(net.leaders()).toEqual(['n1']);
    net.recover();
    net.tick(2, ['n1']);
    expect(net.sent.some((m) => isChunk(m) && m.to === 'n3')).toBe(snapshotSent);
    expect(net.raft('n3').status()).toMatchObject({ commit: 9, lastIndex: 9, snapshotIndex: snapshotSent ? 6 : 0 });
    expect(logTerms(net.raft('n3')).slice(-3)).toEqual([1, 1, 2]);
  });
});

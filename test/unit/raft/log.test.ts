import { describe, expect, it } from 'vitest';
import { InvariantError } from '../../../src/raft/assert.js';
import { RaftLog } from '../../../src/raft/log.js';
import type { Entry, Snapshot } from '../../../src/raft/types.js';
import { bytes, entriesWithTerms, entry } from './network.js';

/** logOf builds a log holding entries 1.. with `terms`, all durable, committed up to `commit`. */
function logOf(terms: readonly number[], commit = 0): RaftLog {
  return new RaftLog(null, entriesWithTerms(terms), commit);
}

function snap(index: number, term: number, data = 'snap'): Snapshot {
  return { meta: { index, term, voters: ['n1', 'n2', 'n3'] }, data: bytes(data) };
}

/** termsOf lists the terms of the log's entries from its first index on. */
function termsOf(log: RaftLog): number[] {
  const out: number[] = [];
  for (let i = log.firstIndex(); i <= log.lastIndex(); i++) out.push(log.term(i) as number);
  return out;
}

const at = (list: readonly Entry[]): string[] => list.map((e) => `${e.index}@${e.term}`);

describe('RaftLog.maybeAppend', () => {
  // The follower's log holds 1@1 2@2 3@3 with 1 committed.
  const cases: ReadonlyArray<{
    name: string;
    prevIndex: number;
    prevTerm: number;
    commit: number;
    entries: Entry[];
    want: number;
    terms: number[];
    committed: number;
  }> = [
    { name: 'prevTerm mismatch', prevIndex: 3, prevTerm: 2, commit: 3, entries: [entry(4, 4)], want: -1, terms: [1, 2, 3], committed: 1 },
    { name: 'prevIndex beyond the end', prevIndex: 4, prevTerm: 3, commit: 3, entries: [entry(5, 4)], want: -1, terms: [1, 2, 3], committed: 1 },
    { name: 'match at the end appends', prevIndex: 3, prevTerm: 3, commit: 3, entries: [entry(4, 4)], want: 4, terms: [1, 2, 3, 4], committed: 3 },
    { name: 'match with no entries (commit only)', prevIndex: 3, prevTerm: 3, commit: 2, entries: [], want: 3, terms: [1, 2, 3], committed: 2 },
    { name: 'commit bounded by what the message vouches for', prevIndex: 2, prevTerm: 2, commit: 3, entries: [], want: 2, terms: [1, 2, 3], committed: 2 },
    { name: 'match at the start of the log', prevIndex: 0, prevTerm: 0, commit: 0, entries: [entry(1, 1), entry(2, 2), entry(3, 3)], want: 3, terms: [1, 2, 3], committed: 1 },
    { name: 'already present: a stale, shorter append keeps the suffix', prevIndex: 1, prevTerm: 1, commit: 1, entries: [entry(2, 2)], want: 2, terms: [1, 2, 3], committed: 1 },
    { name: 'conflict truncates the suffix', prevIndex: 1, prevTerm: 1, commit: 1, entries: [entry(2, 4)], want: 2, terms: [1, 4], committed: 1 },
    { name: 'conflict after a matching prefix', prevIndex: 1, prevTerm: 1, commit: 2, entries: [entry(2, 2), entry(3, 4), entry(4, 4)], want: 4, terms: [1, 2, 4, 4], committed: 2 },
    { name: 'present prefix, new tail', prevIndex: 2, prevTerm: 2, commit: 4, entries: [entry(3, 3), entry(4, 3), entry(5, 3)], want: 5, terms: [1, 2, 3, 3, 3], committed: 4 },
  ];
  it.each(cases)('$name', ({ prevIndex, prevTerm, commit, entries, want, terms, committed }) => {
    const log = logOf([1, 2, 3], 1);
    expect(log.maybeAppend(prevIndex, prevTerm, commit, entries)).toBe(want);
    expect(termsOf(log)).toEqual(terms);
    expect(log.committed).toBe(committed);
  });

  it('marks only the rewritten suffix unstable', () => {
    const log = logOf([1, 2, 3, 3], 1);
    log.maybeAppend(2, 2, 1, [entry(3, 3), entry(4, 5), entry(5, 5)]);
    expect(at(log.unstableEntries())).toEqual(['4@5', '5@5']);
  });

  it('refuses to overwrite a committed entry', () => {
    const log = logOf([1, 2, 3], 2);
    expect(() => log.maybeAppend(1, 1, 2, [entry(2, 4)])).toThrow(InvariantError);
  });
});

describe('RaftLog.findConflictByTerm', () => {
  // Figure 7's leader log: 1 1 1 4 4 5 5 6 6 6.
  const figure7 = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6];
  const cases: ReadonlyArray<{ name: string; index: number; term: number; want: { index: number; term: number } }> = [
    { name: 'the entry itself qualifies', index: 10, term: 6, want: { index: 10, term: 6 } },
    { name: 'skips the whole run of term 6', index: 10, term: 5, want: { index: 7, term: 5 } },
    { name: 'skips runs of terms 6 and 5', index: 10, term: 4, want: { index: 5, term: 4 } },
    { name: 'a term absent from the log falls to the run below it', index: 10, term: 3, want: { index: 3, term: 1 } },
    { name: 'lowest term', index: 10, term: 1, want: { index: 3, term: 1 } },
    { name: 'nothing qualifies: index 0', index: 10, term: 0, want: { index: 0, term: 0 } },
    { name: 'an index beyond the end is clamped', index: 15, term: 6, want: { index: 10, term: 6 } },
    { name: 'starting mid-run', index: 6, term: 4, want: { index: 5, term: 4 } },
    { name: 'a higher term than any', index: 2, term: 9, want: { index: 2, term: 1 } },
  ];
  it.each(cases)('$name: ($index, $term)', ({ index, term, want }) => {
    expect(logOf(figure7).findConflictByTerm(index, term)).toEqual(want);
  });

  it('stops at the compaction offset', () => {
    // Snapshot at 3@1, entries 4..10 of Figure 7.
    const log = new RaftLog(snap(3, 1), entriesWithTerms(figure7.slice(3), 4), 3);
    expect(log.findConflictByTerm(10, 3)).toEqual({ index: 3, term: 1 });
    expect(log.findConflictByTerm(10, 0)).toEqual({ index: 3, term: 1 });
    expect(log.findConflictByTerm(10, 5)).toEqual({ index: 7, term: 5 });
  });

  it('never answers an index above the one asked about, even inside the compacted prefix', () => {
    // The leader asks about a follower's hint below its own first index (the follower is behind the snapshot).
    // The answer must stay at or below the hint, so that the leader goes straight to the snapshot;
    // answering the offset (3) makes the leader probe at 3 with entries the follower can only reject.
    const log = new RaftLog(snap(3, 1), entriesWithTerms(figure7.slice(3), 4), 3);
    expect(log.findConflictByTerm(1, 1).index).toBeLessThanOrEqual(1);
  });
});

describe('RaftLog.commitTo', () => {
  const cases: ReadonlyArray<{ name: string; to: number; want: number | 'throws' }> = [
    { name: 'moves forward', to: 4, want: 4 },
    { name: 'to the last index', to: 5, want: 5 },
    { name: 'never goes back', to: 1, want: 2 },
    { name: 'same index is a no-op', to: 2, want: 2 },
    { name: 'beyond the last index is a bug', to: 6, want: 'throws' },
  ];
  it.each(cases)('$name (2 -> $to)', ({ to, want }) => {
    const log = logOf([1, 1, 2, 2, 3], 2);
    if (want === 'throws') {
      expect(() => log.commitTo(to)).toThrow(InvariantError);
      return;
    }
    log.commitTo(to);
    expect(log.committed).toBe(want);
  });
});

describe('RaftLog.slice', () => {
  // Five entries of three bytes each.
  const log = new RaftLog(null, [1, 2, 3, 4, 5].map((i) => entry(i, 1, 'abc')), 0);
  const cases: ReadonlyArray<{ name: string; lo: number; count: number; maxBytes: number; want: number[] }> = [
    { name: 'no limit reached', lo: 1, count: 10, maxBytes: 100, want: [1, 2, 3, 4, 5] },
    { name: 'count limit', lo: 1, count: 2, maxBytes: 100, want: [1, 2] },
    { name: 'byte limit (6 fits in 7, 9 does not)', lo: 1, count: 10, maxBytes: 7, want: [1, 2] },
    { name: 'byte limit reached exactly', lo: 1, count: 10, maxBytes: 9, want: [1, 2, 3] },
    { name: 'always at least one entry', lo: 1, count: 10, maxBytes: 1, want: [1] },
    { name: 'always at least one entry, even with a zero byte limit', lo: 3, count: 10, maxBytes: 0, want: [3] },
    { name: 'from the middle', lo: 4, count: 10, maxBytes: 100, want: [4, 5] },
    { name: 'beyond the end is empty', lo: 6, count: 10, maxBytes: 100, want: [] },
  ];
  it.each(cases)('$name', ({ lo, count, maxBytes, want }) => {
    expect(log.slice(lo, count, maxBytes).map((e) => e.index)).toEqual(want);
  });

  it('refuses the compacted prefix', () => {
    const compacted = new RaftLog(snap(3, 1), entriesWithTerms([1, 1], 4), 3);
    expect(() => compacted.slice(3, 10, 100)).toThrow(InvariantError);
    expect(compacted.slice(4, 10, 100).map((e) => e.index)).toEqual([4, 5]);
  });
});

describe('RaftLog unstable entries', () => {
  /** A log with 1..3 durable (term 1), then the Ready-to-advance step under test. */
  const cases: ReadonlyArray<{
    name: string;
    /** What happens between ready() (which hands out 4@2 5@2) and advance(). */
    between: (log: RaftLog) => void;
    unstableAfterAdvance: string[];
  }> = [
    { name: 'nothing: all durable after advance', between: () => {}, unstableAfterAdvance: [] },
    {
      name: 'a new entry appended: only it stays unstable',
      between: (log) => log.append(entry(6, 2)),
      unstableAfterAdvance: ['6@2'],
    },
    {
      name: 'the handed-out entries are rewritten: the new ones are handed out again',
      between: (log) => log.maybeAppend(3, 1, 0, [entry(4, 3)]),
      unstableAfterAdvance: ['4@3'],
    },
    {
      name: 'only the last handed-out entry is rewritten: the matching prefix is durable, the rewrite is handed out',
      between: (log) => log.maybeAppend(4, 2, 0, [entry(5, 3), entry(6, 3)]),
      unstableAfterAdvance: ['5@3', '6@3'],
    },
    {
      name: 'the log is rewritten below the Ready',
      between: (log) => log.maybeAppend(1, 1, 0, [entry(2, 3)]),
      unstableAfterAdvance: ['2@3'],
    },
  ];
  it.each(cases)('$name', ({ between, unstableAfterAdvance }) => {
    const log = logOf([1, 1, 1]);
    expect(log.hasUnstable()).toBe(false);
    log.append(entry(4, 2));
    log.append(entry(5, 2));
    const handedOut = log.unstableEntries();
    expect(at(handedOut)).toEqual(['4@2', '5@2']);
    between(log);
    log.stableTo(handedOut);
    expect(at(log.unstableEntries())).toEqual(unstableAfterAdvance);
    expect(log.hasUnstable()).toBe(unstableAfterAdvance.length > 0);
  });

  it('a rewrite inside a Ready, then compaction: later entries are never skipped (sim seed 1022490)', () => {
    // The simulator's schedule: a Ready hands out 4@2 5@2; before it is acknowledged a new
    // leader truncates at 5 and appends 5@3; the node applies 4 and compacts to it. The
    // unstable mark once stayed at 4, fell into the compacted prefix, and unstableEntries()
    // then returned only the log's tail: 5@3 again and again, and later a Ready with a gap.
    const log = logOf([1, 1, 1], 3);
    log.append(entry(4, 2));
    log.append(entry(5, 2));
    const handedOut = log.unstableEntries();
    log.maybeAppend(4, 2, 4, [entry(5, 3)]);
    log.stableTo(handedOut);
    log.appliedTo(4);
    log.installLocalSnapshot(snap(4, 2), 4);
    expect(at(log.unstableEntries())).toEqual(['5@3']);
    log.stableTo(log.unstableEntries());
    expect(log.hasUnstable()).toBe(false);
    log.append(entry(6, 3));
    log.append(entry(7, 3));
    expect(at(log.unstableEntries())).toEqual(['6@3', '7@3']);
  });

  it('refuses to compact an entry that is not durable', () => {
    const log = logOf([1, 1], 2);
    log.append(entry(3, 1));
    log.commitTo(3);
    log.appliedTo(3);
    expect(() => log.installLocalSnapshot(snap(3, 1), 3)).toThrow(InvariantError);
  });

  it('stableTo of nothing changes nothing', () => {
    const log = logOf([1]);
    log.append(entry(2, 1));
    log.stableTo([]);
    expect(at(log.unstableEntries())).toEqual(['2@1']);
  });
});

describe('RaftLog.restore', () => {
  it('replaces the log with a received snapshot, pending until it is stable', () => {
    const log = logOf([1, 1, 2], 1);
    const s = snap(10, 3);
    log.restore(s);
    expect({ first: log.firstIndex(), last: log.lastIndex(), lastTerm: log.lastTerm(), committed: log.committed })
      .toEqual({ first: 11, last: 10, lastTerm: 3, committed: 10 });
    expect(log.term(3)).toBeUndefined();
    expect(log.pendingSnapshot).toBe(s);
    expect(log.snapshot).toBe(s);
    expect(log.hasUnstable()).toBe(false);
    // No committed entries are handed out until the snapshot is restored by the caller.
    expect(log.nextCommitted(1 << 20)).toEqual([]);
    log.snapshotStable(s);
    expect(log.pendingSnapshot).toBeNull();
    expect(log.applied).toBe(10);
  });

  it('entries after the restored snapshot are handed out after it', () => {
    const log = logOf([1], 1);
    log.restore(snap(10, 3));
    log.maybeAppend(10, 3, 12, [entry(11, 3), entry(12, 3)]);
    expect(at(log.nextCommitted(1 << 20))).toEqual(['11@3', '12@3']);
  });

  it('refuses a snapshot at or below the commit index', () => {
    const log = logOf([1, 1, 2], 2);
    expect(() => log.restore(snap(2, 1))).toThrow(InvariantError);
  });
});

describe('RaftLog.installLocalSnapshot', () => {
  // Ten entries, applied up to 8; a snapshot at 8 keeps a trailing window of entries.
  const cases: ReadonlyArray<{ name: string; compactIndex: number; first: number }> = [
    { name: 'no trailing window', compactIndex: 8, first: 9 },
    { name: 'a trailing window of three entries', compactIndex: 5, first: 6 },
    { name: 'a window reaching the start keeps everything', compactIndex: 0, first: 1 },
  ];
  it.each(cases)('$name', ({ compactIndex, first }) => {
    const log = logOf([1, 1, 1, 2, 2, 2, 3, 3, 3, 3], 8);
    log.appliedTo(8);
    const s = snap(8, 3);
    log.installLocalSnapshot(s, compactIndex);
    expect(log.snapshot).toBe(s);
    expect(log.pendingSnapshot).toBeNull();
    expect(log.firstIndex()).toBe(first);
    expect(log.lastIndex()).toBe(10);
    // The entry just before the window keeps its term (the window's anchor); anything before is gone.
    expect(log.term(first - 1)).toBe(first - 1 === 0 ? 0 : [1, 1, 1, 2, 2, 2, 3, 3, 3, 3][first - 2]);
    if (first > 2) expect(log.term(first - 2)).toBeUndefined();
  });

  it('a later, smaller window does not un-compact', () => {
    const log = logOf([1, 1, 1, 2, 2, 2, 3, 3, 3, 3], 8);
    log.appliedTo(8);
    log.installLocalSnapshot(snap(6, 2), 6);
    log.installLocalSnapshot(snap(8, 3), 4);
    expect(log.firstIndex()).toBe(7);
    expect(log.snapshot?.meta.index).toBe(8);
  });

  it('refuses a snapshot beyond the applied index', () => {
    const log = logOf([1, 1, 1], 3);
    log.appliedTo(2);
    expect(() => log.installLocalSnapshot(snap(3, 1), 3)).toThrow(InvariantError);
  });
});

describe('RaftLog construction on restart', () => {
  const cases: ReadonlyArray<{
    name: string;
    snapshot: Snapshot | null;
    entries: Entry[];
    commit: number;
    want: { first: number; last: number; applied: number; committed: number; terms: number[] };
  }> = [
    { name: 'empty', snapshot: null, entries: [], commit: 0, want: { first: 1, last: 0, applied: 0, committed: 0, terms: [] } },
    { name: 'entries only', snapshot: null, entries: entriesWithTerms([1, 1, 2]), commit: 2, want: { first: 1, last: 3, applied: 0, committed: 2, terms: [1, 1, 2] } },
    { name: 'snapshot only', snapshot: snap(5, 2), entries: [], commit: 5, want: { first: 6, last: 5, applied: 5, committed: 5, terms: [] } },
    { name: 'snapshot and the entries after it', snapshot: snap(5, 2), entries: entriesWithTerms([2, 3, 3], 6), commit: 7, want: { first: 6, last: 8, applied: 5, committed: 7, terms: [2, 3, 3] } },
    {
      name: 'a trailing window older than the snapshot: its first entry anchors the log',
      snapshot: snap(5, 2),
      entries: entriesWithTerms([1, 2, 2, 2, 3, 3], 3),
      commit: 6,
      want: { first: 4, last: 8, applied: 5, committed: 6, terms: [2, 2, 2, 3, 3] },
    },
    {
      name: 'the stored entries start at the snapshot index',
      snapshot: snap(5, 2),
      entries: entriesWithTerms([2, 3], 5),
      commit: 5,
      want: { first: 6, last: 6, applied: 5, committed: 5, terms: [3] },
    },
    {
      name: 'entries entirely older than the snapshot are dropped',
      snapshot: snap(10, 3),
      entries: entriesWithTerms([1, 1, 2, 2, 2]),
      commit: 10,
      want: { first: 11, last: 10, applied: 10, committed: 10, terms: [] },
    },
  ];
  it.each(cases)('$name', ({ snapshot, entries, commit, want }) => {
    const log = new RaftLog(snapshot, entries, commit);
    expect({
      first: log.firstIndex(), last: log.lastIndex(), applied: log.applied, committed: log.committed, terms: termsOf(log),
    }).toEqual(want);
    expect(log.hasUnstable()).toBe(false); // everything restored is durable
    if (snapshot !== null) expect(log.term(snapshot.meta.index)).toBe(snapshot.meta.term);
  });

  const bad: ReadonlyArray<{ name: string; snapshot: Snapshot | null; entries: Entry[]; commit: number }> = [
    { name: 'a gap after the snapshot', snapshot: snap(5, 2), entries: entriesWithTerms([3, 3], 7), commit: 5 },
    { name: 'entries not starting at 1 without a snapshot', snapshot: null, entries: entriesWithTerms([1, 1], 2), commit: 0 },
    { name: 'a stored entry disagreeing with the snapshot term', snapshot: snap(5, 2), entries: entriesWithTerms([1, 1, 1, 1], 3), commit: 5 },
    { name: 'non-contiguous entries', snapshot: null, entries: [entry(1, 1), entry(3, 1)], commit: 0 },
    { name: 'a commit below the snapshot', snapshot: snap(5, 2), entries: [], commit: 4 },
    { name: 'a commit beyond the last entry', snapshot: null, entries: entriesWithTerms([1, 1]), commit: 3 },
  ];
  it.each(bad)('rejects $name', ({ snapshot, entries, commit }) => {
    expect(() => new RaftLog(snapshot, entries, commit)).toThrow(InvariantError);
  });
});

describe('RaftLog.nextCommitted', () => {
  it('hands out committed entries bounded by bytes, at least one', () => {
    const log = new RaftLog(null, [1, 2, 3, 4].map((i) => entry(i, 1, 'abcd')), 4);
    expect(log.nextCommitted(9).map((e) => e.index)).toEqual([1, 2]);
    expect(log.nextCommitted(1).map((e) => e.index)).toEqual([1]);
    log.appliedTo(2);
    expect(log.nextCommitted(100).map((e) => e.index)).toEqual([3, 4]);
    expect(() => log.appliedTo(1)).toThrow(InvariantError);
  });
});

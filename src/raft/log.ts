import { assert } from './assert.js';
import type { Entry, Snapshot } from './types.js';

/**
 * RaftLog is the core's in-memory view of the replicated log: the entries after
 * `offset` (everything at or below it is covered by a snapshot, possibly with a
 * trailing window kept for slow followers), which of them are not yet durable,
 * and the commit and apply positions.
 *
 * Invariant: offset <= applied <= committed <= lastIndex.
 * Invariant: entries[i].index === offset + 1 + i.
 * Invariant: every entry at or below `applied` is durable.
 */
export class RaftLog {
  /** Index of the entry just before entries[0]; its term is offsetTerm. */
  private offset: number;
  private offsetTerm: number;
  private entries: Entry[];
  committed: number;
  applied: number;
  /** The lowest index whose entry is not durable yet (lastIndex + 1 when all are). */
  private unstableFrom: number;
  /** The latest snapshot: the one we send to followers whose entries are gone. */
  snapshot: Snapshot | null;
  /** A snapshot received from the leader that is not durable yet. */
  pendingSnapshot: Snapshot | null = null;

  constructor(snapshot: Snapshot | null, entries: readonly Entry[], committed: number) {
    this.snapshot = snapshot;
    const snapIndex = snapshot?.meta.index ?? 0;
    const snapTerm = snapshot?.meta.term ?? 0;
    for (let i = 1; i < entries.length; i++) {
      assert((entries[i] as Entry).index === (entries[i - 1] as Entry).index + 1, 'log: restored entries are not contiguous');
    }
    const first = entries[0];
    const last = entries[entries.length - 1];
    if (first === undefined || last === undefined || last.index < snapIndex) {
      this.offset = snapIndex;
      this.offsetTerm = snapTerm;
      this.entries = [];
    } else if (first.index === snapIndex + 1) {
      this.offset = snapIndex;
      this.offsetTerm = snapTerm;
      this.entries = [...entries];
    } else {
      // A trailing window older than the snapshot survived: the first entry becomes the known offset.
      assert(first.index <= snapIndex, () => `log: gap between snapshot ${snapIndex} and first entry ${first.index}`);
      this.offset = first.index;
      this.offsetTerm = first.term;
      this.entries = entries.slice(1);
      assert(snapshot === null || this.term(snapIndex) === snapTerm,
        () => `log: stored entry ${snapIndex} disagrees with the snapshot's term ${snapTerm}`);
    }
    assert(committed >= snapIndex && committed <= this.lastIndex(),
      () => `log: commit ${committed} outside [${snapIndex}, ${this.lastIndex()}]`);
    this.committed = committed;
    this.applied = snapIndex;
    this.unstableFrom = this.lastIndex() + 1;
  }

  firstIndex(): number {
    return this.offset + 1;
  }

  lastIndex(): number {
    return this.offset + this.entries.length;
  }

  lastTerm(): number {
    return this.term(this.lastIndex()) as number;
  }

  /** term returns the term of the entry at `index`, or undefined if it is compacted away or beyond the end. */
  term(index: number): number | undefined {
    if (index === this.offset) return this.offsetTerm;
    if (index < this.offset || index > this.lastIndex()) return undefined;
    return (this.entries[index - this.offset - 1] as Entry).term;
  }

  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term;
  }

  entry(index: number): Entry {
    assert(index > this.offset && index <= this.lastIndex(), () => `log: entry ${index} not in (${this.offset}, ${this.lastIndex()}]`);
    return this.entries[index - this.offset - 1] as Entry;
  }

  /** isUpToDate is the election restriction: a candidate's log must be at least as up to date as ours. */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const ourTerm = this.lastTerm();
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex());
  }

  /** append adds entries the leader created; they continue the log directly. */
  append(entry: Entry): void {
    assert(entry.index === this.lastIndex() + 1, () => `log: append ${entry.index} after ${this.lastIndex()}`);
    assert(entry.term >= this.lastTerm(), 'log: append of an entry with a lower term than the last');
    this.entries.push(entry);
  }

  /**
   * maybeAppend is the follower's half of AppendEntries: if our log holds
   * (prevIndex, prevTerm), drop any conflicting suffix and append what is new;
   * return the index of the last entry the message vouches for, or -1 on mismatch.
   */
  maybeAppend(prevIndex: number, prevTerm: number, commit: number, entries: readonly Entry[]): number {
    if (!this.matchTerm(prevIndex, prevTerm)) return -1;
    const lastNew = prevIndex + entries.length;
    let i = 0;
    for (; i < entries.length; i++) {
      const e = entries[i] as Entry;
      assert(e.index === prevIndex + 1 + i, 'log: AppendEntries entries are not contiguous');
      if (!this.matchTerm(e.index, e.term)) break;
    }
    if (i < entries.length) {
      const conflict = (entries[i] as Entry).index;
      assert(conflict > this.committed, () => `log: conflict at ${conflict} would overwrite committed ${this.committed}`);
      this.truncateFrom(conflict);
      for (; i < entries.length; i++) this.entries.push(entries[i] as Entry);
    }
    this.commitTo(Math.min(commit, lastNew));
    return lastNew;
  }

  private truncateFrom(index: number): void {
    assert(index > this.offset, 'log: truncation into the compacted prefix');
    if (index <= this.lastIndex()) this.entries.length = index - this.offset - 1;
    this.unstableFrom = Math.min(this.unstableFrom, index);
  }

  /**
   * findConflictByTerm returns the largest index at or below `index` whose term
   * is at most `term`, with that term: the back-off hint of a rejection.
   */
  findConflictByTerm(index: number, term: number): { index: number; term: number } {
    // Inside the compacted prefix we know nothing: answer the index itself, unknown term.
    if (index < this.offset) return { index, term: 0 };
    let i = Math.min(index, this.lastIndex());
    while (i > this.offset) {
      const t = this.term(i) as number;
      if (t <= term) return { index: i, term: t };
      i--;
    }
    return { index: this.offset, term: this.offsetTerm };
  }

  commitTo(index: number): void {
    if (index <= this.committed) return;
    assert(index <= this.lastIndex(), () => `log: commit ${index} beyond last index ${this.lastIndex()}`);
    this.committed = index;
  }

  /** slice returns entries from `lo` bounded by count and bytes, but always at least one if any exist. */
  slice(lo: number, maxCount: number, maxBytes: number): Entry[] {
    assert(lo > this.offset, () => `log: slice from ${lo} inside the compacted prefix (first ${this.firstIndex()})`);
    const out: Entry[] = [];
    let bytes = 0;
    for (let i = lo; i <= this.lastIndex() && out.length < maxCount; i++) {
      const e = this.entries[i - this.offset - 1] as Entry;
      bytes += e.data.length;
      if (out.length > 0 && bytes > maxBytes) break;
      out.push(e);
    }
    return out;
  }

  /** entriesFrom returns the in-memory entries with index >= lo. */
  entriesFrom(lo: number): readonly Entry[] {
    return this.entries.slice(Math.max(0, lo - this.offset - 1));
  }

  /** stableIndex is the last index the caller has acknowledged as durable (advance); entries after it are not. */
  stableIndex(): number {
    return Math.min(this.unstableFrom - 1, this.lastIndex());
  }

  hasUnstable(): boolean {
    return this.unstableFrom <= this.lastIndex();
  }

  unstableEntries(): Entry[] {
    assert(this.unstableFrom > this.offset, () => `log: unstable from ${this.unstableFrom} inside the compacted prefix (offset ${this.offset})`);
    return this.entries.slice(this.unstableFrom - this.offset - 1);
  }

  /**
   * stableTo marks entries handed out in a Ready as durable. The log may have
   * been rewritten since the Ready was taken: below its first entry or replaced
   * by a snapshot (then unstableFrom already moved and stays), or inside it (a new leader
   * truncated at some index c and appended): then only the prefix before c
   * still matches what storage now holds, and the rest is handed out again.
   */
  stableTo(entries: readonly Entry[]): void {
    const first = entries[0];
    if (first === undefined) return;
    // A rewrite below the Ready, or a snapshot restored since, moved the mark: it stays.
    if (this.unstableFrom !== first.index) return;
    let matching = 0;
    while (matching < entries.length && this.matchTerm((entries[matching] as Entry).index, (entries[matching] as Entry).term)) matching++;
    this.unstableFrom = first.index + matching;
  }

  /** nextCommitted returns committed entries not yet applied, bounded by bytes (at least one). */
  nextCommitted(maxBytes: number): Entry[] {
    const from = Math.max(this.applied, this.pendingSnapshot?.meta.index ?? 0) + 1;
    if (from > this.committed) return [];
    const out: Entry[] = [];
    let bytes = 0;
    for (let i = from; i <= this.committed; i++) {
      const e = this.entry(i);
      bytes += e.data.length;
      if (out.length > 0 && bytes > maxBytes) break;
      out.push(e);
    }
    return out;
  }

  appliedTo(index: number): void {
    assert(index <= this.committed, () => `log: applied ${index} beyond commit ${this.committed}`);
    assert(index >= this.applied, () => `log: applied going back from ${this.applied} to ${index}`);
    this.applied = index;
  }

  /** restore replaces the whole log with a snapshot received from the leader. */
  restore(snapshot: Snapshot): void {
    const { index, term } = snapshot.meta;
    assert(index > this.committed, 'log: restoring a snapshot at or below the commit index');
    this.offset = index;
    this.offsetTerm = term;
    this.entries = [];
    this.committed = index;
    this.unstableFrom = index + 1;
    this.snapshot = snapshot;
    this.pendingSnapshot = snapshot;
  }

  /** snapshotStable marks the received snapshot durable and applied (the caller restored it). */
  snapshotStable(snapshot: Snapshot): void {
    if (this.pendingSnapshot === snapshot) this.pendingSnapshot = null;
    if (snapshot.meta.index > this.applied) this.applied = snapshot.meta.index;
  }

  /** installLocalSnapshot records the caller's own snapshot and drops entries up to `compactIndex`. */
  installLocalSnapshot(snapshot: Snapshot, compactIndex: number): void {
    assert(snapshot.meta.index <= this.applied, 'log: local snapshot beyond applied');
    this.snapshot = snapshot;
    if (compactIndex > this.offset) this.compactTo(compactIndex, this.term(compactIndex) as number);
  }

  private compactTo(index: number, term: number): void {
    assert(index <= this.applied, () => `log: compaction to ${index} beyond applied ${this.applied}`);
    assert(index < this.unstableFrom, () => `log: compaction to ${index} would drop entries that are not durable (unstable from ${this.unstableFrom})`);
    this.entries = this.entries.slice(index - this.offset);
    this.offset = index;
    this.offsetTerm = term;
  }
}

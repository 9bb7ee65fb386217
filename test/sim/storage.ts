import type { RestoredState } from '../../src/raft/raft.js';
import type { Entry, HardState, Ready, Snapshot } from '../../src/raft/types.js';
import { fail } from './assert.js';

/**
 * SimStorage is the durable state of one node: hard state, the latest
 * snapshot and a contiguous run of log entries. Everything here survives a
 * crash; `persist` applies one Ready's snapshot, entries and hard state as one
 * atomic write (the simulator never tears a write: a crash either happens
 * before `persist` — and loses the whole Ready — or after it).
 *
 * Invariant: entries are contiguous.
 * Invariant: with a snapshot at s, entries are empty or cover s+1 (a trailing
 *   window at or below s may remain) and the entry at s, if kept, has the snapshot's term.
 * Invariant: snapshot index <= hardState.commit <= lastIndex.
 * Invariant: the stored term never decreases; a vote, once stored for a term, never changes.
 * Invariant: the stored commit never decreases, and no entry at or below it is ever rewritten.
 */
export class SimStorage {
  hardState: HardState = { term: 0, vote: '', commit: 0 };
  snapshot: Snapshot | null = null;
  private entries: Entry[] = [];
  /** writes counts persist() and compact() calls. */
  writes = 0;

  constructor(readonly nodeId: string) {}

  get snapshotIndex(): number {
    return this.snapshot === null ? 0 : this.snapshot.meta.index;
  }

  firstIndex(): number {
    const first = this.entries[0];
    return first === undefined ? this.snapshotIndex + 1 : first.index;
  }

  lastIndex(): number {
    const last = this.entries[this.entries.length - 1];
    return last === undefined ? this.snapshotIndex : last.index;
  }

  /** termAt returns the term of the stored entry (or snapshot) at `index`, undefined when not stored. */
  termAt(index: number): number | undefined {
    const first = this.entries[0];
    if (first !== undefined && index >= first.index && index <= first.index + this.entries.length - 1) {
      return (this.entries[index - first.index] as Entry).term;
    }
    if (this.snapshot !== null && index === this.snapshot.meta.index) return this.snapshot.meta.term;
    if (index === 0) return 0;
    return undefined;
  }

  entryAt(index: number): Entry | undefined {
    const first = this.entries[0];
    if (first === undefined || index < first.index) return undefined;
    return this.entries[index - first.index];
  }

  /** persist applies a Ready's durable parts in the order of the Ready contract. */
  persist(rd: Ready): void {
    if (rd.snapshot === null && rd.entries.length === 0 && rd.hardState === null) return; // nothing durable
    const commitBefore = this.hardState.commit;
    if (rd.snapshot !== null) this.installSnapshot(rd.snapshot);
    if (rd.entries.length > 0) this.appendEntries(rd.entries, commitBefore);
    if (rd.hardState !== null) this.setHardState(rd.hardState);
    this.writes++;
    this.checkInvariants();
  }

  /**
   * compact stores the node's own snapshot and drops entries below `firstIndex`
   * (the core's new first index: entries from there on are a trailing window).
   */
  compact(snapshot: Snapshot, firstIndex: number): void {
    const { index, term } = snapshot.meta;
    if (index <= this.snapshotIndex) fail(`${this.nodeId} storage: compaction to ${index} not above snapshot ${this.snapshotIndex}`);
    if (index > this.hardState.commit) fail(`${this.nodeId} storage: compaction to ${index} beyond the stored commit ${this.hardState.commit}`);
    if (!(this.termAt(index) === term)) fail(`${this.nodeId} storage: compaction snapshot ${index}@t${term} disagrees with stored term ${String(this.termAt(index))}`);
    if (!(firstIndex >= 1 && firstIndex <= index + 1)) {
      fail(`${this.nodeId} storage: compact(${index}) returned first index ${firstIndex}, beyond the caller's snapshot at ${index}: ` +
        `dropping stored entries below it would drop entries no durable snapshot covers (stored snapshot ${this.snapshotIndex}, last stored ${this.lastIndex()}, commit ${this.hardState.commit})`);
    }
    this.snapshot = snapshot;
    const first = this.entries[0];
    if (first !== undefined && firstIndex > first.index) this.entries = this.entries.slice(firstIndex - first.index);
    this.writes++;
    this.checkInvariants();
  }

  /** restoredState is what a restarted node reads back: everything durable, nothing else. */
  restoredState(): RestoredState {
    return { hardState: this.hardState, snapshot: this.snapshot, entries: this.entries.slice() };
  }

  private installSnapshot(snap: Snapshot): void {
    const { index, term } = snap.meta;
    if (index <= this.snapshotIndex) fail(`${this.nodeId} storage: received snapshot ${index} not above stored snapshot ${this.snapshotIndex}`);
    if (index <= this.hardState.commit) fail(`${this.nodeId} storage: received snapshot ${index} at or below the stored commit ${this.hardState.commit}`);
    const continues = this.termAt(index) === term;
    const first = this.entries[0];
    if (!continues || first === undefined) this.entries = [];
    else if (index >= first.index) this.entries = this.entries.slice(index - first.index + 1);
    this.snapshot = snap;
  }

  private appendEntries(ents: readonly Entry[], commitBefore: number): void {
    const head = ents[0] as Entry;
    if (head.index <= this.snapshotIndex) fail(`${this.nodeId} storage: Ready entries start at ${head.index}, inside snapshot ${this.snapshotIndex}`);
    if (!(head.index <= this.lastIndex() + 1)) fail(`${this.nodeId} storage: Ready entries start at ${head.index}, leaving a gap after ${this.lastIndex()}`);
    for (let i = 0; i < ents.length; i++) {
      const e = ents[i] as Entry;
      if (e.index !== head.index + i) fail(`${this.nodeId} storage: Ready entries not contiguous at ${e.index}`);
      if (e.index <= commitBefore) {
        const stored = this.termAt(e.index);
        if (!(stored === undefined || stored === e.term)) fail(`${this.nodeId} storage: rewriting committed entry ${e.index} (commit ${commitBefore}) from t${String(stored)} to t${e.term}`);
      }
    }
    const prevTerm = this.termAt(head.index - 1);
    if (!(prevTerm === undefined || prevTerm <= head.term)) fail(`${this.nodeId} storage: entry ${head.index}@t${head.term} follows a higher term ${String(prevTerm)}`);
    const first = this.entries[0];
    if (first === undefined) {
      this.entries = ents.slice();
      return;
    }
    if (head.index < first.index) fail(`${this.nodeId} storage: Ready entries at ${head.index} below stored first ${first.index}`);
    this.entries.length = head.index - first.index;
    for (let i = 0; i < ents.length; i++) this.entries.push(ents[i] as Entry);
  }

  private setHardState(hs: HardState): void {
    const old = this.hardState;
    if (hs.term < old.term) fail(`${this.nodeId} storage: term goes back from ${old.term} to ${hs.term}`);
    if (!(hs.term > old.term || old.vote === '' || hs.vote === old.vote)) fail(`${this.nodeId} storage: vote in term ${hs.term} changes from ${old.vote} to '${hs.vote}'`);
    if (hs.commit < old.commit) fail(`${this.nodeId} storage: commit goes back from ${old.commit} to ${hs.commit}`);
    this.hardState = hs;
  }

  private checkInvariants(): void {
    const n = this.entries.length;
    const first = this.entries[0];
    const last = this.entries[n - 1];
    if (first !== undefined && last !== undefined) {
      if (last.index - first.index + 1 !== n) fail(`${this.nodeId} storage: entries ${first.index}..${last.index} not contiguous (${n} stored)`);
      if (this.snapshot !== null) {
        const s = this.snapshot.meta;
        if (!(first.index <= s.index + 1 && last.index >= s.index)) fail(`${this.nodeId} storage: entries ${first.index}..${last.index} do not continue snapshot ${s.index}`);
        if (!(first.index > s.index || this.termAt(s.index) === s.term)) fail(`${this.nodeId} storage: kept entry ${s.index} disagrees with snapshot term ${s.term}`);
      } else {
        if (first.index !== 1) fail(`${this.nodeId} storage: no snapshot but entries start at ${first.index}`);
      }
    }
    const commit = this.hardState.commit;
    if (commit < this.snapshotIndex) fail(`${this.nodeId} storage: commit ${commit} below snapshot ${this.snapshotIndex}`);
    if (!(commit <= this.lastIndex())) fail(`${this.nodeId} storage: commit ${commit} beyond last stored index ${this.lastIndex()}`);
  }
}

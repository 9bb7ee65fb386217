import type { Entry, HardState, SnapshotMeta } from '../raft/types.js';
import { StorageInvariantError } from './errors.js';
import type { PersistUpdate } from './raftStorage.js';

/** EMPTY_HARD_STATE is what a fresh store holds. */
export const EMPTY_HARD_STATE: HardState = { term: 0, vote: '', commit: 0 };

/** LogEdit lists the stored log indexes a write deletes, as inclusive [from, to] ranges; its puts are the write's own entries. */
export interface LogEdit {
  readonly deletes: readonly (readonly [from: number, to: number])[];
}

/**
 * RestoreViolation describes stored records that do not fit together; the
 * store reports it as CorruptDataError naming the record.
 */
export interface RestoreViolation {
  readonly record: 'entry' | 'hard state' | 'snapshot';
  /** The entry's index when record is 'entry'. */
  readonly index: number;
  readonly expected: string;
  readonly found: string;
}

function check(condition: boolean, message: () => string): asserts condition {
  if (!condition) throw new StorageInvariantError(message());
}

function checkCount(value: number, what: string): void {
  check(Number.isSafeInteger(value) && value >= 0, () => `${what} ${value} is not a non-negative safe integer`);
}

/** NAME_BYTES_MAX is the longest node id a record holds (a u16 length prefix). */
const NAME_BYTES_MAX = 0xffff;

function checkName(value: string, what: string): void {
  check(typeof value === 'string' && Buffer.byteLength(value, 'utf8') <= NAME_BYTES_MAX, () => `${what} is not a string of at most ${NAME_BYTES_MAX} UTF-8 bytes`);
}

/** checkWellFormed refuses values no encoding can hold, so both stores refuse them alike. */
function checkWellFormed(u: PersistUpdate): void {
  if (u.hardState !== null) {
    checkCount(u.hardState.term, 'hard state term');
    checkCount(u.hardState.commit, 'hard state commit');
    checkName(u.hardState.vote, 'hard state vote');
  }
  if (u.snapshot !== null) checkSnapshotMeta(u.snapshot.meta);
  for (const e of u.entries) {
    checkCount(e.index, 'entry index');
    checkCount(e.term, `entry ${e.index} term`);
    check(e.type === 'normal' || e.type === 'empty' || e.type === 'config', () => `entry ${e.index} has unknown type ${String(e.type)}`);
    check(e.data instanceof Uint8Array, () => `entry ${e.index} data is not a Uint8Array`);
  }
}

function checkSnapshotMeta(meta: SnapshotMeta): void {
  checkCount(meta.index, 'snapshot index');
  checkCount(meta.term, `snapshot ${meta.index} term`);
  for (const v of meta.voters) checkName(v, `snapshot ${meta.index} voter id`);
  for (const v of meta.learners ?? []) checkName(v, `snapshot ${meta.index} learner id`);
}

/**
 * LogShape is the stored state without payloads — hard state, snapshot meta,
 * and the index range and terms of the stored entries — shared by
 * LevelStorage and MemoryStorage so that both accept and refuse exactly the
 * same writes. A write is planned (checked, nothing changes), then performed
 * by the store, then applied here.
 *
 * Invariant: stored entries are contiguous, terms never decrease along them.
 * Invariant: with a snapshot at s, first stored index <= s + 1 (a trailing
 *   window at or below s may remain), the last stored index >= s, and the
 *   entry at s, if stored, has the snapshot's term; without one, the first is 1.
 * Invariant: snapshot index <= hardState.commit <= lastIndex().
 */
export class LogShape {
  hardState: HardState;
  snapshot: SnapshotMeta | null;
  /** Index of terms[0]; snapshotIndex + 1 when no entry is stored. */
  private first: number;
  private terms: number[];

  private constructor(hardState: HardState, snapshot: SnapshotMeta | null, first: number, terms: number[]) {
    this.hardState = hardState;
    this.snapshot = snapshot;
    this.first = first;
    this.terms = terms;
  }

  static empty(): LogShape {
    return new LogShape(EMPTY_HARD_STATE, null, 1, []);
  }

  /**
   * restore rebuilds the shape from what a store read back, or returns the
   * first violation of the invariants (the store's contents are corrupt).
   */
  static restore(hardState: HardState, snapshot: SnapshotMeta | null, entries: readonly Pick<Entry, 'index' | 'term'>[]): LogShape | RestoreViolation {
    const snapIndex = snapshot?.index ?? 0;
    const head = entries[0];
    const terms: number[] = [];
    if (head !== undefined) {
      const firstWanted = snapshot === null ? 'index 1 (there is no snapshot)' : `index at most ${snapIndex + 1} (snapshot index + 1)`;
      if (head.index > snapIndex + 1 || (snapshot === null && head.index !== 1)) {
        return { record: 'entry', index: head.index, expected: `the first entry at ${firstWanted}`, found: `first entry at index ${head.index}` };
      }
      for (let i = 0; i < entries.length; i++) {
        const e = entries[i] as Pick<Entry, 'index' | 'term'>;
        if (e.index !== head.index + i) {
          return { record: 'entry', index: e.index, expected: `index ${head.index + i} after ${head.index + i - 1} (entries are contiguous)`, found: `index ${e.index}` };
        }
        if (snapshot !== null && e.index === snapIndex && e.term !== snapshot.term) {
          return { record: 'entry', index: e.index, expected: `term ${snapshot.term} (the snapshot's term at index ${snapIndex})`, found: `term ${e.term}` };
        }
        const prev = i > 0 ? (terms[i - 1] as number) : 0;
        if (e.term < prev) return { record: 'entry', index: e.index, expected: `a term of at least ${prev} (terms never decrease along the log)`, found: `term ${e.term}` };
        if (snapshot !== null && e.index === snapIndex + 1 && e.term < snapshot.term) {
          return { record: 'entry', index: e.index, expected: `a term of at least ${snapshot.term} (the snapshot's term)`, found: `term ${e.term}` };
        }
        terms.push(e.term);
      }
      const last = head.index + entries.length - 1;
      if (last < snapIndex) {
        return { record: 'entry', index: last, expected: `entries reaching the snapshot index ${snapIndex}`, found: `the last entry at ${last}` };
      }
    }
    const shape = new LogShape(hardState, snapshot, head?.index ?? snapIndex + 1, terms);
    const { commit } = hardState;
    if (commit < snapIndex || commit > shape.lastIndex()) {
      return { record: 'hard state', index: 0, expected: `commit within [${snapIndex}, ${shape.lastIndex()}] (snapshot index, last index)`, found: `commit ${commit}` };
    }
    return shape;
  }

  get snapshotIndex(): number {
    return this.snapshot?.index ?? 0;
  }

  /** firstIndex is the first stored entry's index (snapshotIndex + 1 when none is stored). */
  firstIndex(): number {
    return this.first;
  }

  /** lastIndex is the last stored entry's index, or the snapshot index when none is stored. */
  lastIndex(): number {
    return this.terms.length === 0 ? this.snapshotIndex : this.first + this.terms.length - 1;
  }

  /** storedCount is the number of stored entries. */
  storedCount(): number {
    return this.terms.length;
  }

  /** termAt is the term of the stored entry (or the snapshot) at `index`; 0 at index 0; undefined if not stored. */
  termAt(index: number): number | undefined {
    if (index >= this.first && index < this.first + this.terms.length) return this.terms[index - this.first];
    if (this.snapshot !== null && index === this.snapshot.index) return this.snapshot.term;
    if (index === 0) return 0;
    return undefined;
  }

  /** storedRange is [first, last] of the stored entries, or null when none is stored. */
  private storedRange(): readonly [number, number] | null {
    return this.terms.length === 0 ? null : [this.first, this.first + this.terms.length - 1];
  }

  /**
   * planPersist checks one Ready's durable parts against the stored state
   * (throwing StorageInvariantError for a contract violation) and says which
   * stored entries the write deletes. Nothing changes until applyPersist.
   */
  planPersist(u: PersistUpdate): LogEdit {
    checkWellFormed(u);
    const old = this.hardState;
    let snapIndex = this.snapshotIndex;
    let snapTerm = this.snapshot?.term ?? 0;
    let range = this.storedRange();
    const deletes: [number, number][] = [];
    const termAfterSnapshot = (i: number): number | undefined => (u.snapshot === null ? this.termAt(i) : i === snapIndex ? snapTerm : undefined);

    if (u.snapshot !== null) {
      const s = u.snapshot.meta;
      check(s.index > snapIndex, () => `persist: snapshot ${s.index} is not above the stored snapshot ${snapIndex}`);
      check(s.index > old.commit, () => `persist: snapshot ${s.index} is at or below the stored commit ${old.commit} (a received snapshot replaces only uncommitted state)`);
      check(s.term >= 1, () => `persist: snapshot ${s.index} has term ${s.term}`);
      snapIndex = s.index;
      snapTerm = s.term;
      if (range !== null) deletes.push([range[0], range[1]]);
      range = null;
    }

    let last = range === null ? snapIndex : range[1];
    const head = u.entries[0];
    if (head !== undefined) {
      check(head.index > snapIndex, () => `persist: entries start at ${head.index}, inside the snapshot at ${snapIndex}`);
      check(head.index <= last + 1, () => `persist: entries start at ${head.index}, leaving a gap after the last stored index ${last}`);
      const prevTerm = termAfterSnapshot(head.index - 1);
      check(prevTerm === undefined || prevTerm <= head.term, () => `persist: entry ${head.index}@t${head.term} follows a higher term ${String(prevTerm)}`);
      for (let i = 0; i < u.entries.length; i++) {
        const e = u.entries[i] as Entry;
        check(e.index === head.index + i, () => `persist: entries are not contiguous: ${e.index} at position ${i} after ${head.index}`);
        check(e.term >= 1 && (i === 0 || e.term >= (u.entries[i - 1] as Entry).term), () => `persist: entry ${e.index} has term ${e.term}, below the entry before it`);
        if (e.index <= old.commit) {
          const stored = termAfterSnapshot(e.index);
          check(stored === undefined || stored === e.term, () => `persist: entry ${e.index} is committed (commit ${old.commit}) and would be rewritten from t${String(stored)} to t${e.term}`);
        }
      }
      const end = head.index + u.entries.length - 1;
      if (u.snapshot !== null && deletes.length === 1) {
        // The snapshot deletes everything stored, except keys the entries put back.
        const [from, to] = deletes[0] as [number, number];
        deletes.length = 0;
        if (from < head.index) deletes.push([from, Math.min(to, head.index - 1)]);
        if (to > end) deletes.push([Math.max(from, end + 1), to]);
      } else if (range !== null && range[1] > end) {
        deletes.push([end + 1, range[1]]);
      }
      last = end;
    }

    const hs = u.hardState ?? old;
    if (u.hardState !== null) {
      check(hs.term >= old.term, () => `persist: term goes back from ${old.term} to ${hs.term}`);
      check(hs.term > old.term || old.vote === '' || hs.vote === old.vote, () => `persist: vote in term ${hs.term} changes from '${old.vote}' to '${hs.vote}'`);
      check(hs.commit >= old.commit, () => `persist: commit goes back from ${old.commit} to ${hs.commit}`);
    }
    check(hs.commit >= snapIndex && hs.commit <= last, () => `persist: commit ${hs.commit} would lie outside [${snapIndex}, ${last}] (snapshot index, last index)`);
    return { deletes };
  }

  /** applyPersist records a write planned by planPersist and performed by the store. */
  applyPersist(u: PersistUpdate): void {
    if (u.snapshot !== null) {
      this.snapshot = u.snapshot.meta;
      this.first = u.snapshot.meta.index + 1;
      this.terms = [];
    }
    const head = u.entries[0];
    if (head !== undefined) {
      if (this.terms.length === 0) this.first = head.index;
      this.terms.length = head.index - this.first;
      for (const e of u.entries) this.terms.push(e.term);
    }
    if (u.hardState !== null) this.hardState = u.hardState;
  }

  /**
   * planSaveSnapshot checks the node's own snapshot — above the stored one, at
   * or below the commit, agreeing with the stored entry's term — and a first
   * index no higher than snapshot index + 1; it returns the entries to delete.
   */
  planSaveSnapshot(meta: SnapshotMeta, firstIndex: number): LogEdit {
    checkSnapshotMeta(meta);
    const snapIndex = this.snapshotIndex;
    const commit = this.hardState.commit;
    check(meta.index > snapIndex, () => `saveSnapshot: snapshot ${meta.index} is not above the stored snapshot ${snapIndex}`);
    check(meta.index <= commit, () => `saveSnapshot: snapshot ${meta.index} is beyond the stored commit ${commit}`);
    const stored = this.termAt(meta.index);
    check(stored === meta.term, () => `saveSnapshot: snapshot ${meta.index}@t${meta.term} disagrees with the stored entry's term ${String(stored)}`);
    check(Number.isSafeInteger(firstIndex) && firstIndex >= 1 && firstIndex <= meta.index + 1,
      () => `saveSnapshot: first index ${firstIndex} must be within [1, ${meta.index + 1}]: entries above the snapshot are not covered by it`);
    const range = this.storedRange();
    const deletes: [number, number][] = [];
    if (range !== null && firstIndex > range[0]) deletes.push([range[0], Math.min(range[1], firstIndex - 1)]);
    return { deletes };
  }

  /** applySaveSnapshot records a write planned by planSaveSnapshot and performed by the store. */
  applySaveSnapshot(meta: SnapshotMeta, firstIndex: number): void {
    this.snapshot = meta;
    if (firstIndex > this.first) {
      this.terms = this.terms.slice(Math.min(this.terms.length, firstIndex - this.first));
      this.first = this.terms.length === 0 ? meta.index + 1 : firstIndex;
    }
  }
}

import type { RestoredState } from '../../../src/raft/raft.js';
import type { Entry, HardState, Snapshot } from '../../../src/raft/types.js';
import type { PersistUpdate, RaftStorage } from '../../../src/storage/raftStorage.js';

/**
 * A random but always-valid stream of storage writes, the shape a Raft node
 * produces: appends with a trailing commit, suffix replacements in a new term,
 * hard-state-only updates, local snapshots with a trailing window, and
 * snapshots received from a leader. Ops are plain JSON (the crash test's child
 * prints them) and their payloads are derived from (index, term), so anyone
 * can rebuild the exact write from the op.
 */
export type Op =
  | {
      readonly t: 'persist';
      readonly head: number;
      readonly count: number;
      readonly term: number;
      readonly hs: HardState | null;
      readonly snap: { readonly index: number; readonly term: number } | null;
    }
  | { readonly t: 'save'; readonly index: number; readonly term: number; readonly first: number };

export const VOTERS = ['n1', 'n2', 'n3'] as const;

function bytes(seed: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = (seed * 2654435761) >>> 0;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

export function entryFor(index: number, term: number): Entry {
  const length = (index * 7 + term * 13) % 300;
  return { index, term, type: length % 11 === 0 ? 'empty' : 'normal', data: bytes(index * 31 + term, length) };
}

export function snapshotFor(index: number, term: number): Snapshot {
  return { meta: { index, term, voters: [...VOTERS] }, data: bytes(index * 17 + term * 3 + 1, 64 + ((index * 131) % 4000)) };
}

export function updateFor(op: Extract<Op, { t: 'persist' }>): PersistUpdate {
  const entries: Entry[] = [];
  for (let i = 0; i < op.count; i++) entries.push(entryFor(op.head + i, op.term));
  return { hardState: op.hs, entries, snapshot: op.snap === null ? null : snapshotFor(op.snap.index, op.snap.term) };
}

export async function applyOp(storage: RaftStorage, op: Op): Promise<void> {
  if (op.t === 'persist') await storage.persist(updateFor(op));
  else await storage.saveSnapshot(snapshotFor(op.index, op.term), op.first);
}

/** Workload generates the next valid op from what it has generated so far (or from a restored state). */
export class Workload {
  private last: number;
  private snapIndex: number;
  private hs: HardState;
  /** Terms of the log as the node sees it (entries and the snapshot point). */
  private readonly terms = new Map<number, number>();

  constructor(
    restored: RestoredState,
    private readonly rand: () => number,
    private readonly maxBatch = 20,
  ) {
    this.hs = restored.hardState;
    this.snapIndex = restored.snapshot?.meta.index ?? 0;
    if (restored.snapshot !== null) this.terms.set(restored.snapshot.meta.index, restored.snapshot.meta.term);
    for (const e of restored.entries) this.terms.set(e.index, e.term);
    this.last = Math.max(this.snapIndex, restored.entries[restored.entries.length - 1]?.index ?? 0);
  }

  private int(n: number): number {
    return Math.floor(this.rand() * n);
  }

  private get term(): number {
    return Math.max(1, this.hs.term);
  }

  next(): Op {
    const roll = this.int(100);
    if (roll < 10 && this.last > this.hs.commit) return this.replace();
    if (roll < 15) return this.hardStateOnly();
    if (roll < 25 && this.hs.commit > this.snapIndex) return this.save();
    if (roll < 29) return this.install();
    return this.append();
  }

  private append(): Op {
    const count = 1 + this.int(this.maxBatch);
    const commit = this.hs.commit + this.int(this.last - this.hs.commit + 1);
    const hs: HardState = { term: this.term, vote: this.hs.vote === '' ? 'n1' : this.hs.vote, commit };
    return this.persisted({ t: 'persist', head: this.last + 1, count, term: this.term, hs, snap: null });
  }

  private replace(): Op {
    const head = this.hs.commit + 1 + this.int(this.last - this.hs.commit);
    const term = this.term + 1;
    return this.persisted({ t: 'persist', head, count: 1 + this.int(5), term, hs: { term, vote: 'n2', commit: this.hs.commit }, snap: null });
  }

  private hardStateOnly(): Op {
    const bump = this.int(2) === 0;
    const hs: HardState = bump
      ? { term: this.term + 1, vote: '', commit: this.hs.commit }
      : { ...this.hs, commit: this.hs.commit + this.int(this.last - this.hs.commit + 1) };
    return this.persisted({ t: 'persist', head: 0, count: 0, term: 0, hs, snap: null });
  }

  private install(): Op {
    const index = this.last + 1 + this.int(5);
    const count = this.int(4);
    return this.persisted({ t: 'persist', head: index + 1, count, term: this.term, hs: { ...this.hs, term: this.term, commit: index }, snap: { index, term: this.term } });
  }

  private save(): Op {
    const index = this.snapIndex + 1 + this.int(this.hs.commit - this.snapIndex);
    const term = this.terms.get(index) as number;
    const first = Math.max(1, index + 1 - this.int(9));
    this.snapIndex = index;
    return { t: 'save', index, term, first };
  }

  private persisted(op: Extract<Op, { t: 'persist' }>): Op {
    if (op.snap !== null) {
      this.terms.clear();
      this.terms.set(op.snap.index, op.snap.term);
      this.snapIndex = op.snap.index;
      this.last = op.snap.index;
    }
    if (op.count > 0) {
      for (let i = op.head; i <= this.last; i++) this.terms.delete(i);
      for (let i = 0; i < op.count; i++) this.terms.set(op.head + i, op.term);
      this.last = op.head + op.count - 1;
    }
    if (op.hs !== null) this.hs = op.hs;
    return op;
  }
}

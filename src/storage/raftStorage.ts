import type { RestoredState } from '../raft/raft.js';
import type { Entry, HardState, Snapshot } from '../raft/types.js';

/**
 * NodeIdentity names the member a data dir belongs to. It is written when the
 * dir is created and checked on every open, so a misconfigured node can never
 * start from another node's log and votes.
 */
export interface NodeIdentity {
  readonly clusterId: string;
  readonly nodeId: string;
}

/**
 * PersistUpdate is the durable part of one Ready (see `Ready` in
 * raft/types.ts), applied in the Ready's order: snapshot, then entries, then
 * hard state.
 */
export interface PersistUpdate {
  readonly hardState: HardState | null;
  readonly entries: readonly Entry[];
  readonly snapshot: Snapshot | null;
}

/**
 * RaftStorage is the durable side of the Ready contract: the log, the hard
 * state (term, vote, commit) and the latest snapshot of one node. It is kept
 * as narrow as the core needs (hashicorp/raft's LogStore + StableStore +
 * SnapshotStore in one), with an in-memory twin (MemoryStorage) that has the
 * same semantics and the same checks, so tests and the simulator exercise
 * exactly what production relies on.
 *
 * Calls are sequential: at most one of persist/saveSnapshot/open/close is in
 * flight at a time (the node loop has one Ready outstanding), and a call made
 * while another runs is refused with a StorageError.
 *
 * Invariant (checked on every write, and re-checked at open): entries are
 * contiguous; with a snapshot at s the first entry is at or below s + 1 and
 * the entry at s, if kept, has the snapshot's term; snapshot index <= commit
 * <= last index; term, commit never decrease and a vote never changes within
 * a term; no entry at or below the stored commit is rewritten with another term.
 */
export interface RaftStorage {
  /**
   * Opens the store. A fresh dir records `identity`; an existing one must
   * match it or open() throws DataDirMismatchError. Returns what was persisted.
   * (A node must never start from another member's votes and log.)
   */
  open(identity: NodeIdentity): Promise<RestoredState>;

  /**
   * One Ready's durable parts in ONE atomic batch written with sync: true,
   * because messages that depend on them are sent right after it resolves: a
   * crash must leave either all of them or none. (A change of the commit index
   * alone is volatile state in Raft and may be written without an fsync.) A snapshot replaces the whole
   * stored log (every stored entry is deleted) and becomes the stored
   * snapshot; entries replace any stored entries at index >= entries[0].index;
   * hardState overwrites. An update with nothing in it writes nothing.
   */
  persist(update: PersistUpdate): Promise<void>;

  /**
   * The node's own snapshot (taken at its applied index) replaces the stored
   * one, and stored entries below `firstIndex` are deleted — atomically,
   * synced. `firstIndex` is what Raft.compact returned: entries between it and
   * the snapshot index stay as a trailing window for slow followers.
   */
  saveSnapshot(snapshot: Snapshot, firstIndex: number): Promise<void>;

  /** Releases the store; open() may be called again afterwards. */
  close(): Promise<void>;
}

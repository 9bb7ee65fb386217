import type { RestoredState } from '../raft/raft.js';
import type { Entry, HardState, Snapshot } from '../raft/types.js';
import { DataDirMismatchError, StorageError, StorageInvariantError } from './errors.js';
import { EMPTY_HARD_STATE, LogShape, type LogEdit } from './logShape.js';
import type { NodeIdentity, PersistUpdate, RaftStorage } from './raftStorage.js';

/**
 * MemoryDataDir is the in-memory twin of a data dir: what survives a restart.
 * The log is a map from index to entry, like LevelStorage's log sublevel, so
 * deletes and puts land exactly as they do there. Several MemoryStorage
 * instances may use one dir in turn (a restart); only one may have it open.
 * Tests may read the fields; only MemoryStorage writes them.
 */
export class MemoryDataDir {
  identity: NodeIdentity | null = null;
  hardState: HardState = EMPTY_HARD_STATE;
  snapshot: Snapshot | null = null;
  readonly log = new Map<number, Entry>();
  /** The instance holding the dir open (LevelDB's LOCK file); released by close() or crash(). */
  holder: MemoryStorage | null = null;
  /** writes counts synced batches, so tests can see that empty updates write nothing. */
  writes = 0;

  constructor(readonly name: string = 'memory') {}
}

/**
 * MemoryStorage implements RaftStorage in memory with LevelStorage's
 * semantics: the same identity check, the same write planning and invariant
 * checks (LogShape), the same deletes. Each write is atomic, so a "crash" is
 * simply dropping the instance (crash() releases the dir for the next one).
 * Every byte array is copied in and out, so callers cannot alias stored state.
 */
export class MemoryStorage implements RaftStorage {
  private shape: LogShape | null = null;
  private busy = false;

  constructor(readonly dir: MemoryDataDir = new MemoryDataDir()) {}

  async open(identity: NodeIdentity): Promise<RestoredState> {
    if (this.shape !== null) throw new StorageError(`open: storage at ${this.dir.name} is already open`);
    return this.exclusive('open', async () => {
      const dir = this.dir;
      if (dir.holder !== null) throw new StorageError(`cannot open data dir ${dir.name}: it is locked: is another storage instance using it?`);
      if (dir.identity === null) {
        dir.identity = { clusterId: identity.clusterId, nodeId: identity.nodeId };
        dir.writes++;
      } else if (dir.identity.clusterId !== identity.clusterId || dir.identity.nodeId !== identity.nodeId) {
        throw new DataDirMismatchError(dir.name, dir.identity, identity);
      }
      const entries = [...dir.log.keys()].sort((a, b) => a - b).map((i) => copyEntry(dir.log.get(i) as Entry));
      const shape = LogShape.restore(dir.hardState, dir.snapshot?.meta ?? null, entries);
      if (!(shape instanceof LogShape)) {
        throw new StorageInvariantError(`open: the memory dir ${dir.name} holds inconsistent state (${shape.record} ${shape.index}: expected ${shape.expected}, found ${shape.found})`);
      }
      await Promise.resolve();
      dir.holder = this;
      this.shape = shape;
      return { hardState: dir.hardState, snapshot: dir.snapshot === null ? null : copySnapshot(dir.snapshot), entries };
    });
  }

  async persist(update: PersistUpdate): Promise<void> {
    const shape = this.writable('persist');
    if (update.snapshot === null && update.entries.length === 0 && update.hardState === null) return;
    const edit = shape.planPersist(update);
    const entries = update.entries.map(copyEntry);
    const snapshot = update.snapshot === null ? null : copySnapshot(update.snapshot);
    await this.write('persist', () => {
      this.deleteEntries(edit);
      if (snapshot !== null) this.dir.snapshot = snapshot;
      for (const e of entries) this.dir.log.set(e.index, e);
      if (update.hardState !== null) this.dir.hardState = { ...update.hardState };
      shape.applyPersist(update);
    });
  }

  async saveSnapshot(snapshot: Snapshot, firstIndex: number): Promise<void> {
    const shape = this.writable('saveSnapshot');
    const edit = shape.planSaveSnapshot(snapshot.meta, firstIndex);
    const copy = copySnapshot(snapshot);
    await this.write('saveSnapshot', () => {
      this.deleteEntries(edit);
      this.dir.snapshot = copy;
      shape.applySaveSnapshot(snapshot.meta, firstIndex);
    });
  }

  async close(): Promise<void> {
    if (this.shape === null) return;
    await this.exclusive('close', async () => {
      await Promise.resolve();
      this.release();
    });
  }

  /** crash drops this instance as a killed process would: durable state stays, the dir is released. */
  crash(): void {
    this.release();
  }

  private release(): void {
    if (this.dir.holder === this) this.dir.holder = null;
    this.shape = null;
  }

  private writable(op: string): LogShape {
    if (this.shape === null || this.dir.holder !== this) throw new StorageError(`${op}: storage at ${this.dir.name} is not open`);
    if (this.busy) throw new StorageError(`${op}: another storage call is in flight at ${this.dir.name}; calls must be sequential (one Ready at a time)`);
    return this.shape;
  }

  private deleteEntries(edit: LogEdit): void {
    for (const [from, to] of edit.deletes) {
      for (let i = from; i <= to; i++) this.dir.log.delete(i);
    }
  }

  /** write applies one atomic batch asynchronously (after a microtask), as a real synced write resolves later. */
  private async write(op: string, apply: () => void): Promise<void> {
    await this.exclusive(op, async () => {
      await Promise.resolve();
      apply();
      this.dir.writes++;
    });
  }

  private async exclusive<T>(op: string, body: () => Promise<T>): Promise<T> {
    if (this.busy) throw new StorageError(`${op}: another storage call is in flight at ${this.dir.name}; calls must be sequential (one Ready at a time)`);
    this.busy = true;
    try {
      return await body();
    } finally {
      this.busy = false;
    }
  }
}

function copyEntry(e: Entry): Entry {
  return { term: e.term, index: e.index, type: e.type, data: new Uint8Array(e.data) };
}

function copySnapshot(s: Snapshot): Snapshot {
  const meta = {
    index: s.meta.index, term: s.meta.term, voters: [...s.meta.voters],
    ...(s.meta.learners === undefined ? {} : { learners: [...s.meta.learners] }),
    ...(s.meta.contexts === undefined ? {} : { contexts: s.meta.contexts.map((c) => ({ id: c.id, context: new Uint8Array(c.context) })) }),
  };
  return { meta, data: new Uint8Array(s.data) };
}

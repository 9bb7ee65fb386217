import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Level, type BatchOperation } from 'level';
import type { RestoredState } from '../raft/raft.js';
import type { Entry, HardState, Snapshot } from '../raft/types.js';
import { CorruptDataError, StorageError, UnsupportedFormatError, type CorruptRecord } from './errors.js';
import { checkDataDirIdentity, decodeDataDirIdentity, encodeDataDirIdentity, newDataDirIdentity } from './dataDirIdentity.js';
import { EMPTY_HARD_STATE, LogShape, type LogEdit } from './logShape.js';
import type { NodeIdentity, PersistUpdate, RaftStorage } from './raftStorage.js';
import {
  chunkKey,
  decodeChunk,
  decodeEntry,
  decodeFormatVersion,
  decodeHardState,
  decodeIndexKey,
  decodeSnapshotMeta,
  describeSnapshot,
  encodeChunk,
  encodeEntry,
  encodeFormatVersion,
  encodeHardState,
  encodeSnapshotMeta,
  hexKey,
  indexKey,
  RecordFormatError,
  SNAPSHOT_CHUNK_BYTES,
  snapshotDataCrc,
  type StoredSnapshotMeta,
} from './recordCodec.js';

/** STORAGE_FORMAT_VERSION is the layout of the whole data dir (sublevels, keys, records); bumped on any incompatible change. */
export const STORAGE_FORMAT_VERSION = 1;

const IDENTITY_KEY = 'identity';
const FORMAT_KEY = 'format';
const HARD_KEY = 'state';
const SNAP_META_KEY = 'meta';
const CHUNK_PREFIX = 'data/';

type Db = Level<Uint8Array, Uint8Array>;

function sublevels(db: Db) {
  return {
    meta: db.sublevel<string, Uint8Array>('meta', { keyEncoding: 'utf8', valueEncoding: 'view' }),
    hard: db.sublevel<string, Uint8Array>('hard', { keyEncoding: 'utf8', valueEncoding: 'view' }),
    log: db.sublevel<Uint8Array, Uint8Array>('log', { keyEncoding: 'view', valueEncoding: 'view' }),
    snap: db.sublevel<string, Uint8Array>('snap', { keyEncoding: 'utf8', valueEncoding: 'view' }),
  };
}

type Subs = ReturnType<typeof sublevels>;
type BatchOp = BatchOperation<Db, Uint8Array | string, Uint8Array>;

/** Open is the state of an open store. */
interface Open {
  readonly db: Db;
  readonly subs: Subs;
  readonly shape: LogShape;
  /** Chunks of the stored snapshot's data, so replacing it deletes exactly the old keys. */
  snapChunks: number;
}

/**
 * LevelStorage keeps one node's Raft state in LevelDB (through `level`), in
 * four sublevels:
 *
 *   meta  identity (dataDirIdentity.ts: cluster id, node id, created at) and the
 *         storage format version
 *   hard  "state": the hard state (term, vote, commit)
 *   log   one record per entry, keyed by the index as 8 bytes big-endian, so
 *         key order is index order
 *   snap  "meta": the current snapshot's meta, size and CRC; "data/NNNNNNNN":
 *         its data in chunks of at most 1 MiB
 *
 * Every value is a framed record (recordCodec.ts) carrying a format version
 * byte and a CRC-32. open() reads everything back and verifies each record
 * and how they fit together; any fault is a CorruptDataError naming the
 * record — the node never starts from a state it cannot vouch for.
 *
 * Each persist() or saveSnapshot() is one LevelDB write batch with
 * `sync: true` (fsync before it resolves), so a crash keeps all of it or none.
 * The first and last stored index and the stored terms are kept in memory
 * (LogShape), so a write that replaces a suffix or a whole log deletes exactly
 * the stored keys it must, inside the same batch.
 *
 * Group commit: the fsync is the cost of a write, not its size. The node hands
 * one Ready — every proposal and append since the previous Ready — to one
 * persist() call, so under load many client writes share one fsync and
 * throughput grows with batch size instead of being capped by fsync latency.
 *
 * After a failed write the store refuses further writes: whether the batch
 * reached the disk is unknown, so the node must restart and reopen it.
 */
export class LevelStorage implements RaftStorage {
  private state: Open | null = null;
  private busy = false;
  private failure: unknown = null;

  constructor(readonly dataDir: string) {}

  async open(identity: NodeIdentity): Promise<RestoredState> {
    if (this.state !== null) throw new StorageError(`open: storage at ${this.dataDir} is already open`);
    return this.exclusive('open', async () => {
      refuseQuarantined(this.dataDir);
      const db: Db = new Level<Uint8Array, Uint8Array>(this.dataDir, { keyEncoding: 'view', valueEncoding: 'view' });
      try {
        await db.open();
      } catch (err) {
        throw this.openError(err);
      }
      try {
        quarantineIfRecoveryDroppedData(this.dataDir);
        const subs = sublevels(db);
        const restored = await this.load(db, subs, identity);
        this.state = { db, subs, shape: restored.shape, snapChunks: restored.snapChunks };
        this.failure = null;
        return restored.state;
      } catch (err) {
        await db.close();
        throw this.engineError(err);
      }
    });
  }

  async persist(update: PersistUpdate): Promise<void> {
    const st = this.writable('persist');
    if (update.snapshot === null && update.entries.length === 0 && update.hardState === null) return;
    const edit = st.shape.planPersist(update);
    const ops: BatchOp[] = [];
    this.deleteEntries(ops, st, edit);
    let snapChunks = st.snapChunks;
    if (update.snapshot !== null) snapChunks = this.putSnapshot(ops, st, update.snapshot);
    for (const e of update.entries) ops.push({ type: 'put', sublevel: st.subs.log, key: indexKey(e.index), value: encodeEntry(e) });
    if (update.hardState !== null) ops.push({ type: 'put', sublevel: st.subs.hard, key: HARD_KEY, value: encodeHardState(update.hardState) });
    await this.write('persist', st, ops, needsSync(update, st.shape.hardState));
    st.shape.applyPersist(update);
    st.snapChunks = snapChunks;
  }

  async saveSnapshot(snapshot: Snapshot, firstIndex: number): Promise<void> {
    const st = this.writable('saveSnapshot');
    const edit = st.shape.planSaveSnapshot(snapshot.meta, firstIndex);
    const ops: BatchOp[] = [];
    this.deleteEntries(ops, st, edit);
    const snapChunks = this.putSnapshot(ops, st, snapshot);
    await this.write('saveSnapshot', st, ops, true);
    st.shape.applySaveSnapshot(snapshot.meta, firstIndex);
    st.snapChunks = snapChunks;
  }

  async close(): Promise<void> {
    const st = this.state;
    if (st === null) return;
    await this.exclusive('close', async () => {
      this.state = null;
      await st.db.close();
    });
  }

  // ---------------------------------------------------------------- writing

  /** writable returns the open state, refusing when closed, busy, or after a failed write. */
  private writable(op: string): Open {
    if (this.state === null) throw new StorageError(`${op}: storage at ${this.dataDir} is not open`);
    if (this.busy) throw new StorageError(`${op}: another storage call is in flight at ${this.dataDir}; calls must be sequential (one Ready at a time)`);
    if (this.failure !== null) {
      throw new StorageError(`${op}: an earlier write to ${this.dataDir} failed, so what is durable is unknown; restart the node to reopen storage`, { cause: this.failure });
    }
    return this.state;
  }

  private deleteEntries(ops: BatchOp[], st: Open, edit: LogEdit): void {
    for (const [from, to] of edit.deletes) {
      for (let i = from; i <= to; i++) ops.push({ type: 'del', sublevel: st.subs.log, key: indexKey(i) });
    }
  }

  /** putSnapshot adds the snapshot's meta and chunks, deleting chunks of the old one that the new one does not overwrite. */
  private putSnapshot(ops: BatchOp[], st: Open, snapshot: Snapshot): number {
    const stored = describeSnapshot(snapshot.meta, snapshot.data);
    for (let i = stored.chunks; i < st.snapChunks; i++) ops.push({ type: 'del', sublevel: st.subs.snap, key: chunkKey(i) });
    for (let i = 0; i < stored.chunks; i++) ops.push({ type: 'put', sublevel: st.subs.snap, key: chunkKey(i), value: encodeChunk(snapshot.data, i) });
    ops.push({ type: 'put', sublevel: st.subs.snap, key: SNAP_META_KEY, value: encodeSnapshotMeta(stored) });
    return stored.chunks;
  }

  private async write(op: string, st: Open, ops: BatchOp[], sync: boolean): Promise<void> {
    await this.exclusive(op, async () => {
      try {
        await st.db.batch(ops, { sync });
      } catch (err) {
        this.failure = err;
        throw new StorageError(
          `${op}: the synced write to ${this.dataDir} failed (${describe(err)}); it may or may not be durable, so this store refuses further writes until the node restarts`,
          { cause: err },
        );
      }
    });
  }

  private async exclusive<T>(op: string, body: () => Promise<T>): Promise<T> {
    if (this.busy) throw new StorageError(`${op}: another storage call is in flight at ${this.dataDir}; calls must be sequential (one Ready at a time)`);
    this.busy = true;
    try {
      return await body();
    } finally {
      this.busy = false;
    }
  }

  // ---------------------------------------------------------------- reading

  private async load(db: Db, subs: Subs, identity: NodeIdentity): Promise<{ state: RestoredState; shape: LogShape; snapChunks: number }> {
    const meta = await readAll(subs.meta);
    const identityRecord = meta.get(IDENTITY_KEY);
    if (identityRecord === undefined) {
      await this.create(db, subs, identity, meta.size > 0 || !(await isEmpty(subs)));
      return { state: { hardState: EMPTY_HARD_STATE, snapshot: null, entries: [] }, shape: LogShape.empty(), snapChunks: 0 };
    }
    for (const key of meta.keys()) {
      if (key !== IDENTITY_KEY && key !== FORMAT_KEY) this.corrupt({ record: 'meta record', key: `meta/${key}`, expected: 'only meta/identity and meta/format', found: 'an unknown key' });
    }
    const formatRecord = meta.get(FORMAT_KEY);
    if (formatRecord === undefined) this.corrupt({ record: 'storage format version', key: 'meta/format', expected: 'a format record beside the identity', found: 'none' });
    const format = this.decode('storage format version', 'meta/format', () => decodeFormatVersion(formatRecord));
    if (format !== STORAGE_FORMAT_VERSION) throw new UnsupportedFormatError(this.dataDir, format, STORAGE_FORMAT_VERSION);
    const stored = this.decode('identity', 'meta/identity', () => decodeDataDirIdentity(identityRecord, this.dataDir));
    checkDataDirIdentity(this.dataDir, stored, identity);

    const hardState = await this.loadHardState(subs);
    const snap = await this.loadSnapshot(subs);
    const entries = await this.loadEntries(subs);
    const shape = LogShape.restore(hardState, snap?.snapshot.meta ?? null, entries);
    if (!(shape instanceof LogShape)) {
      const v = shape;
      if (v.record === 'entry') this.corrupt({ record: `log entry ${v.index}`, key: `log/${hexKey(indexKey(v.index))}`, expected: v.expected, found: v.found });
      this.corrupt({ record: v.record, key: v.record === 'hard state' ? 'hard/state' : 'snap/meta', expected: v.expected, found: v.found });
    }
    return { state: { hardState, snapshot: snap?.snapshot ?? null, entries }, shape, snapChunks: snap?.chunks ?? 0 };
  }

  /** create initialises a fresh dir: identity, format and the empty hard state in one synced batch. */
  private async create(db: Db, subs: Subs, identity: NodeIdentity, hasData: boolean): Promise<void> {
    if (hasData) {
      this.corrupt({ record: 'identity', key: 'meta/identity', expected: 'an identity record in a data dir that holds Raft data', found: 'none' });
    }
    const ops: BatchOp[] = [
      { type: 'put', sublevel: subs.hard, key: HARD_KEY, value: encodeHardState(EMPTY_HARD_STATE) },
      { type: 'put', sublevel: subs.meta, key: FORMAT_KEY, value: encodeFormatVersion(STORAGE_FORMAT_VERSION) },
      { type: 'put', sublevel: subs.meta, key: IDENTITY_KEY, value: encodeDataDirIdentity(newDataDirIdentity(identity, new Date())) },
    ];
    await db.batch(ops, { sync: true });
  }

  private async loadHardState(subs: Subs): Promise<HardState> {
    const records = await readAll(subs.hard);
    for (const key of records.keys()) {
      if (key !== HARD_KEY) this.corrupt({ record: 'hard state record', key: `hard/${key}`, expected: 'only hard/state', found: 'an unknown key' });
    }
    const record = records.get(HARD_KEY);
    if (record === undefined) this.corrupt({ record: 'hard state', key: 'hard/state', expected: 'a hard state record (written when the dir was created)', found: 'none' });
    return this.decode('hard state', 'hard/state', () => decodeHardState(record));
  }

  private async loadSnapshot(subs: Subs): Promise<{ snapshot: Snapshot; chunks: number } | null> {
    const records = await readAll(subs.snap);
    const metaRecord = records.get(SNAP_META_KEY);
    const chunkKeys = [...records.keys()].filter((k) => k !== SNAP_META_KEY);
    if (metaRecord === undefined) {
      const first = chunkKeys[0];
      if (first !== undefined) this.corrupt({ record: 'snapshot chunk', key: `snap/${first}`, expected: 'no snapshot data without snapshot meta', found: 'a data chunk' });
      return null;
    }
    const stored: StoredSnapshotMeta = this.decode('snapshot meta', 'snap/meta', () => decodeSnapshotMeta(metaRecord));
    chunkKeys.forEach((key, i) => {
      if (key !== chunkKey(i)) {
        const expected = i < stored.chunks ? `chunk key ${chunkKey(i)}` : `${stored.chunks} chunks (per snap/meta)`;
        this.corrupt({ record: 'snapshot chunk', key: `snap/${key}`, expected, found: key.startsWith(CHUNK_PREFIX) ? `key ${key}` : 'an unknown key' });
      }
    });
    if (chunkKeys.length !== stored.chunks) {
      this.corrupt({ record: 'snapshot data', key: `snap/${chunkKey(chunkKeys.length)}`, expected: `${stored.chunks} chunks (per snap/meta)`, found: `${chunkKeys.length} chunks` });
    }
    const data = new Uint8Array(stored.dataBytes);
    for (let i = 0; i < stored.chunks; i++) {
      const key = chunkKey(i);
      const part = this.decode(`snapshot chunk ${i}`, `snap/${key}`, () => decodeChunk(records.get(key) as Uint8Array, i, stored));
      data.set(part, i * SNAPSHOT_CHUNK_BYTES);
    }
    const crc = snapshotDataCrc(data);
    if (crc !== stored.dataCrc) {
      this.corrupt({ record: 'snapshot data', key: 'snap/data/*', expected: `crc32 0x${stored.dataCrc.toString(16)} (per snap/meta)`, found: `crc32 0x${crc.toString(16)}` });
    }
    return { snapshot: { meta: stored.meta, data }, chunks: stored.chunks };
  }

  private async loadEntries(subs: Subs): Promise<Entry[]> {
    const entries: Entry[] = [];
    for await (const [key, value] of subs.log.iterator()) {
      const where = `log/${hexKey(key)}`;
      const index = this.decode('log key', where, () => decodeIndexKey(key));
      const e = this.decode(`log entry ${index}`, where, () => decodeEntry(value));
      if (e.index !== index) this.corrupt({ record: `log entry ${index}`, key: where, expected: `an entry with index ${index} (its key)`, found: `index ${e.index}` });
      entries.push(e);
    }
    return entries;
  }

  // ---------------------------------------------------------------- errors

  private decode<T>(record: string, key: string, body: () => T): T {
    try {
      return body();
    } catch (err) {
      if (err instanceof RecordFormatError) this.corrupt({ record, key, expected: err.expected, found: err.found });
      throw err;
    }
  }

  private corrupt(c: CorruptRecord): never {
    throw new CorruptDataError(this.dataDir, c);
  }

  private openError(err: unknown): StorageError {
    const code = errorCode(err);
    const hint = code === 'LEVEL_LOCKED' ? ' — it is locked: is another raftlock process (or another LevelStorage) using this data dir?' : '';
    if (code === 'LEVEL_CORRUPTION') return this.engineError(err) as CorruptDataError;
    return new StorageError(`cannot open data dir ${this.dataDir}: ${describe(err)}${hint}`, { cause: err });
  }

  /** engineError maps LevelDB's own corruption report to CorruptDataError; other errors pass through. */
  private engineError(err: unknown): unknown {
    if (errorCode(err) !== 'LEVEL_CORRUPTION') return err;
    return new CorruptDataError(this.dataDir, { record: 'LevelDB file', key: '(engine)', expected: 'LevelDB tables and logs that pass their own checks', found: describe(err) });
  }
}

/**
 * readStoredIdentity returns the identity recorded in an existing data dir,
 * for offline tools (`raftlock recover`) that must open a dir without knowing
 * whose it is. A missing dir, or one without a raftlock identity, is a
 * StorageError saying so; nothing is created or written.
 */
export async function readStoredIdentity(dataDir: string): Promise<NodeIdentity> {
  if (!existsSync(join(dataDir, 'CURRENT'))) {
    throw new StorageError(`${dataDir} is not a raftlock data dir (no LevelDB CURRENT file); give the data dir of a member`);
  }
  refuseQuarantined(dataDir);
  const db: Db = new Level<Uint8Array, Uint8Array>(dataDir, { keyEncoding: 'view', valueEncoding: 'view', createIfMissing: false });
  try {
    await db.open();
  } catch (err) {
    throw new StorageError(`cannot open data dir ${dataDir}: ${describe(err)} (is a raftlock node still running on it? stop it first)`, { cause: err });
  }
  try {
    // This open may be the one that recovers LevelDB's write-ahead log: check (and quarantine) as LevelStorage.open does,
    // or a later open would find the report rotated away.
    quarantineIfRecoveryDroppedData(dataDir);
    const record = (await readAll(sublevels(db).meta)).get(IDENTITY_KEY);
    if (record === undefined) throw new StorageError(`data dir ${dataDir} holds no raftlock identity record; it was never a member's data dir`);
    try {
      const { clusterId, nodeId } = decodeDataDirIdentity(record, dataDir);
      return { clusterId, nodeId };
    } catch (err) {
      if (err instanceof RecordFormatError) {
        throw new CorruptDataError(dataDir, { record: 'identity', key: 'meta/identity', expected: err.expected, found: err.found });
      }
      throw err;
    }
  } finally {
    await db.close();
  }
}

/** readAll reads a small sublevel (meta, hard, snap) into a map. */
async function readAll(sub: Subs['meta']): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  for await (const [key, value] of sub.iterator()) out.set(key, value);
  return out;
}

/** isEmpty reports whether the data sublevels hold nothing at all (a fresh dir). */
async function isEmpty(subs: Subs): Promise<boolean> {
  for (const sub of [subs.hard, subs.snap] as const) {
    for await (const _ of sub.keys({ limit: 1 })) return false;
  }
  for await (const _ of subs.log.keys({ limit: 1 })) return false;
  return true;
}

/** errorCode digs the LEVEL_* code out of an error or its causes. */
function errorCode(err: unknown): string | undefined {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code !== 'LEVEL_DATABASE_NOT_OPEN') return code;
  }
  return undefined;
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  return err.cause instanceof Error ? `${err.message}: ${err.cause.message}` : err.message;
}

/**
 * needsSync says whether a write must reach the disk before it resolves. Only
 * term, vote, entries and snapshots are Raft's durable state; the commit index
 * is volatile (a restarted node re-learns it), so a change of commit alone is
 * written without an fsync. LevelDB's log is sequential, so the next synced
 * write makes it durable too — in particular before any snapshot that needs
 * commit >= its index.
 */
function needsSync(update: PersistUpdate, stored: HardState): boolean {
  if (update.snapshot !== null || update.entries.length > 0) return true;
  const hs = update.hardState;
  return hs !== null && (hs.term !== stored.term || hs.vote !== stored.vote);
}

/** The marker that keeps a data dir found corrupt from being opened again. */
const QUARANTINE_FILE = 'RAFTLOCK-CORRUPT';

/**
 * LevelDB (as classic-level opens it, without paranoid checks) recovers a
 * write-ahead log with a bad checksum by silently dropping the rest of the
 * block, then deletes the log: the store opens "healthy" but shorter, maybe
 * without the votes or the identity it had acknowledged. Its only trace is a
 * line in this open's LOG file. If recovery reported corruption, mark the dir
 * (so a second start cannot slip past once LOG rotates) and refuse it.
 */
function quarantineIfRecoveryDroppedData(dataDir: string): void {
  let log: string;
  try {
    log = readFileSync(join(dataDir, 'LOG'), 'utf8');
  } catch {
    return;
  }
  const lines = log.split('\n').filter((l) => /corruption|dropping/i.test(l));
  if (lines.length === 0) return;
  writeFileSync(join(dataDir, QUARANTINE_FILE), `LevelDB recovery dropped data at open:\n${lines.join('\n')}\n`);
  throw corruptRecovery(dataDir, lines[0] as string);
}

function refuseQuarantined(dataDir: string): void {
  let why: string;
  try {
    why = readFileSync(join(dataDir, QUARANTINE_FILE), 'utf8');
  } catch {
    return;
  }
  throw corruptRecovery(dataDir, why.split('\n')[1] ?? why);
}

function corruptRecovery(dataDir: string, line: string): CorruptDataError {
  return new CorruptDataError(dataDir, {
    record: 'write-ahead log',
    key: `${QUARANTINE_FILE} (LevelDB LOG)`,
    expected: 'a log that recovers without dropping records',
    found: `LevelDB reported: ${line.trim().slice(0, 200)}`,
  });
}

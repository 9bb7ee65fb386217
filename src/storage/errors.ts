import type { NodeIdentity } from './raftStorage.js';

/**
 * StorageError is the base of every error the storage layer throws, so the
 * node can tell "the disk or its contents are wrong" from its own bugs and
 * from network failures. Subclasses carry the details an operator needs.
 */
export class StorageError extends Error {
  override readonly name: string = 'StorageError';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Where a corrupt record was found and how it differed from what a healthy store holds. */
export interface CorruptRecord {
  /** The record, in words: "log entry 57", "hard state", "snapshot chunk 3". */
  readonly record: string;
  /** The record's key, as sublevel/key: "log/0x0000000000000039", "hard/state". */
  readonly key: string;
  readonly expected: string;
  readonly found: string;
}

/**
 * CorruptDataError means the data dir holds something a correct node never
 * writes: a record whose checksum or framing is wrong, or records that do not
 * fit together (a gap in the log, a commit index past the last entry). The
 * node must not start from it: serving a wrong log or a forgotten vote breaks
 * Raft's safety for the whole cluster, so nothing is repaired silently.
 */
export class CorruptDataError extends StorageError {
  override readonly name = 'CorruptDataError';
  readonly dataDir: string;
  readonly record: string;
  readonly key: string;
  readonly expected: string;
  readonly found: string;

  constructor(dataDir: string, corrupt: CorruptRecord) {
    super(
      `corrupt ${corrupt.record} at key ${corrupt.key} in data dir ${dataDir}: ` +
        `expected ${corrupt.expected}, found ${corrupt.found}. ` +
        'The node must not start from this data: restore the data dir from a healthy member or from a backup.',
    );
    this.dataDir = dataDir;
    this.record = corrupt.record;
    this.key = corrupt.key;
    this.expected = corrupt.expected;
    this.found = corrupt.found;
  }
}

/**
 * DataDirMismatchError means the data dir was created by another node or
 * another cluster. Starting from it would make this node impersonate that one
 * (its log, its votes), so open() refuses.
 */
export class DataDirMismatchError extends StorageError {
  override readonly name = 'DataDirMismatchError';
  readonly dataDir: string;
  readonly stored: NodeIdentity;
  readonly expected: NodeIdentity;

  constructor(dataDir: string, stored: NodeIdentity, expected: NodeIdentity) {
    const what = stored.clusterId !== expected.clusterId ? 'another cluster' : 'another node';
    super(
      `data dir ${dataDir} belongs to ${what}: it holds node "${stored.nodeId}" of cluster "${stored.clusterId}", ` +
        `but this process was started as node "${expected.nodeId}" of cluster "${expected.clusterId}". ` +
        'Point this node at its own data dir (check the node id, the cluster id and the data dir path in its configuration).',
    );
    this.dataDir = dataDir;
    this.stored = stored;
    this.expected = expected;
  }
}

/**
 * UnsupportedFormatError means the data dir was written by a storage format
 * this build does not read (a newer release, or an older one without a
 * migration). Nothing was changed on disk.
 */
export class UnsupportedFormatError extends StorageError {
  override readonly name = 'UnsupportedFormatError';
  readonly dataDir: string;
  readonly storedVersion: number;
  readonly supportedVersion: number;

  constructor(dataDir: string, storedVersion: number, supportedVersion: number, what = 'storage format') {
    super(
      `data dir ${dataDir} uses ${what} version ${storedVersion}; this build reads version ${supportedVersion} only. ` +
        'Run the release that wrote it, or restore the data dir from a member running this release.',
    );
    this.dataDir = dataDir;
    this.storedVersion = storedVersion;
    this.supportedVersion = supportedVersion;
  }
}

/**
 * StorageInvariantError means the caller broke the persist contract (a
 * programmer error: a gap in the log, a commit going backwards, a committed
 * entry rewritten). The write is refused before anything reaches the store,
 * so the stored state is unchanged.
 */
export class StorageInvariantError extends StorageError {
  override readonly name = 'StorageInvariantError';
}

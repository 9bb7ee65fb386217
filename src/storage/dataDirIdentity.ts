import { DataDirMismatchError, UnsupportedFormatError } from './errors.js';
import type { NodeIdentity } from './raftStorage.js';
import { decodeIdentity, frame, RecordFormatError, unframe } from './recordCodec.js';

/**
 * dataDirIdentity is the record (meta/identity) that says whose a data dir
 * is: written once, in the same synced batch that creates the dir, and
 * checked on every open, so a node never starts from another member's (or
 * another cluster's) log and votes — e.g. after someone copied n1's data to n2.
 *
 * The payload is UTF-8 JSON inside the usual framed record (version byte,
 * payload, CRC-32), so fields can be added without a new binary layout:
 *
 *   { "version": 1, "clusterId": "...", "nodeId": "...", "createdAt": "<ISO 8601>" }
 *
 * Extending it: a field that only informs may be added within a version; a
 * field that must change what a node does (e.g. "this member was removed,
 * never rejoin") bumps DATA_DIR_IDENTITY_VERSION, so that an older build,
 * which would not know to obey it, refuses the dir instead of ignoring it.
 * Dirs written before this record existed hold a binary payload (cluster id,
 * node id), read as version 1 with no createdAt.
 */

/** DATA_DIR_IDENTITY_VERSION is the newest identity version this build writes and reads. */
export const DATA_DIR_IDENTITY_VERSION = 1;

export interface DataDirIdentity extends NodeIdentity {
  readonly version: number;
  /** createdAt: when the dir was created (ISO 8601 wall time), or null for dirs from before it was recorded. */
  readonly createdAt: string | null;
}

/** newDataDirIdentity is the record a fresh dir gets for `identity`, created at `now`. */
export function newDataDirIdentity(identity: NodeIdentity, now: Date): DataDirIdentity {
  return { version: DATA_DIR_IDENTITY_VERSION, clusterId: identity.clusterId, nodeId: identity.nodeId, createdAt: now.toISOString() };
}

export function encodeDataDirIdentity(id: DataDirIdentity): Uint8Array {
  const json = { version: id.version, clusterId: id.clusterId, nodeId: id.nodeId, ...(id.createdAt !== null ? { createdAt: id.createdAt } : {}) };
  return frame(new TextEncoder().encode(JSON.stringify(json)));
}

/**
 * decodeDataDirIdentity reads the record. A bad frame, JSON or field is a
 * RecordFormatError (the store reports it as corruption); a version newer
 * than this build's is an UnsupportedFormatError naming `dataDir`.
 */
export function decodeDataDirIdentity(record: Uint8Array, dataDir: string): DataDirIdentity {
  const payload = unframe(record);
  // A JSON object starts with '{'; the binary payload starts with the high byte of a short cluster id's length (0).
  if (payload[0] !== 0x7b) return { ...decodeIdentity(record), version: 1, createdAt: null };
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload));
  } catch (err) {
    throw new RecordFormatError('an identity of UTF-8 JSON', `unparseable JSON (${(err as Error).message})`);
  }
  const o = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  const version = o['version'];
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1) {
    throw new RecordFormatError('an identity with an integer version >= 1', `version ${JSON.stringify(version)}`);
  }
  if (version > DATA_DIR_IDENTITY_VERSION) throw new UnsupportedFormatError(dataDir, version, DATA_DIR_IDENTITY_VERSION, 'data dir identity');
  const text = (key: string): string => {
    const v = o[key];
    if (typeof v !== 'string' || v === '') throw new RecordFormatError(`an identity with a non-empty string ${key}`, `${key} ${JSON.stringify(v)}`);
    return v;
  };
  const createdAt = o['createdAt'] === undefined ? null : text('createdAt');
  return { version, clusterId: text('clusterId'), nodeId: text('nodeId'), createdAt };
}

/** checkDataDirIdentity throws DataDirMismatchError unless the dir belongs to `expected` (same cluster, same node). */
export function checkDataDirIdentity(dataDir: string, stored: DataDirIdentity, expected: NodeIdentity): void {
  if (stored.clusterId !== expected.clusterId || stored.nodeId !== expected.nodeId) {
    throw new DataDirMismatchError(dataDir, { clusterId: stored.clusterId, nodeId: stored.nodeId }, expected);
  }
}

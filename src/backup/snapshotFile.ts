import { crc32 } from 'node:zlib';

/**
 * snapshotFile is the format of a backup written by `raftlock snapshot save`
 * and read by `raftlock snapshot restore`: the lock state machine's own
 * snapshot bytes (src/lock/snapshotCodec.ts, unchanged) wrapped in a header
 * that says where they came from.
 *
 *   magic        "RAFTLOCK-SNAPSHOT\n" (18 bytes)
 *   headerBytes  u32 big-endian
 *   header       UTF-8 JSON: { formatVersion, clusterId, index, term, createdAt, dataBytes, dataCrc32 }
 *   data         dataBytes bytes: the lock snapshot
 *   fileCrc32    u32 big-endian: CRC-32 of every preceding byte
 *
 * The header is JSON so an operator can read it with `head -c 300 FILE`; the
 * two checksums catch a torn or altered file (the whole file) and a header
 * that was edited to describe other data (the data alone).
 */

/** SNAPSHOT_FILE_VERSION is the header's formatVersion; bumped on any incompatible change. */
export const SNAPSHOT_FILE_VERSION = 1;

/** MAX_SNAPSHOT_FILE_BYTES bounds what is read into memory (far above what the lock limits allow a state to reach). */
export const MAX_SNAPSHOT_FILE_BYTES = 1 << 30;

const MAGIC = new TextEncoder().encode('RAFTLOCK-SNAPSHOT\n');
const MAX_HEADER_BYTES = 64 * 1024;

/** SnapshotFileHeader says which cluster, at which Raft index and term, and when the snapshot was taken. */
export interface SnapshotFileHeader {
  readonly formatVersion: number;
  readonly clusterId: string;
  /** index: the Raft index the state is at; every fencing token in it is at most this. */
  readonly index: number;
  readonly term: number;
  /** createdAt: ISO 8601 wall time of the save (informational only). */
  readonly createdAt: string;
  readonly dataBytes: number;
  readonly dataCrc32: number;
}

export interface SnapshotFile {
  readonly header: SnapshotFileHeader;
  readonly data: Uint8Array;
}

/** SnapshotFileError: the bytes are not a snapshot file this build reads; the message says what was wrong. */
export class SnapshotFileError extends Error {
  override readonly name = 'SnapshotFileError';
}

/** encodeSnapshotFile wraps lock snapshot bytes taken at (index, term) of `clusterId`. */
export function encodeSnapshotFile(o: { clusterId: string; index: number; term: number; createdAt: Date; data: Uint8Array }): Uint8Array {
  const header: SnapshotFileHeader = {
    formatVersion: SNAPSHOT_FILE_VERSION,
    clusterId: o.clusterId,
    index: o.index,
    term: o.term,
    createdAt: o.createdAt.toISOString(),
    dataBytes: o.data.length,
    dataCrc32: crc32(o.data),
  };
  const headerBytes = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(MAGIC.length + 4 + headerBytes.length + o.data.length + 4);
  const view = new DataView(out.buffer);
  out.set(MAGIC, 0);
  view.setUint32(MAGIC.length, headerBytes.length);
  out.set(headerBytes, MAGIC.length + 4);
  out.set(o.data, MAGIC.length + 4 + headerBytes.length);
  view.setUint32(out.length - 4, crc32(out.subarray(0, out.length - 4)));
  return out;
}

/** decodeSnapshotFile checks magic, version, lengths and both checksums, or throws SnapshotFileError. */
export function decodeSnapshotFile(bytes: Uint8Array, source: string): SnapshotFile {
  const fail = (what: string): SnapshotFileError => new SnapshotFileError(`${source} is not a usable raftlock snapshot: ${what}`);
  if (bytes.length < MAGIC.length + 8) throw fail(`${bytes.length} bytes is too short for a snapshot file`);
  for (let i = 0; i < MAGIC.length; i++) {
    if (bytes[i] !== MAGIC[i]) throw fail('it does not start with "RAFTLOCK-SNAPSHOT" (was it written by `raftlock snapshot save`?)');
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const storedCrc = view.getUint32(bytes.length - 4);
  const actualCrc = crc32(bytes.subarray(0, bytes.length - 4));
  if (storedCrc !== actualCrc) throw fail(`file checksum mismatch (stored ${hex(storedCrc)}, computed ${hex(actualCrc)}): the file is truncated or altered`);
  const headerBytes = view.getUint32(MAGIC.length);
  const dataAt = MAGIC.length + 4 + headerBytes;
  if (headerBytes > MAX_HEADER_BYTES || dataAt > bytes.length - 4) throw fail(`header length ${headerBytes} does not fit the file`);
  const header = parseHeader(bytes.subarray(MAGIC.length + 4, dataAt), fail);
  const data = bytes.subarray(dataAt, bytes.length - 4);
  if (data.length !== header.dataBytes) throw fail(`header says ${header.dataBytes} data bytes, the file holds ${data.length}`);
  const dataCrc = crc32(data);
  if (dataCrc !== header.dataCrc32) throw fail(`data checksum mismatch (header ${hex(header.dataCrc32)}, computed ${hex(dataCrc)})`);
  return { header, data };
}

function parseHeader(bytes: Uint8Array, fail: (what: string) => SnapshotFileError): SnapshotFileHeader {
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (err) {
    throw fail(`the header is not UTF-8 JSON (${(err as Error).message})`);
  }
  const h = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  if (h['formatVersion'] !== SNAPSHOT_FILE_VERSION) {
    throw fail(`format version ${JSON.stringify(h['formatVersion'])}; this build reads version ${SNAPSHOT_FILE_VERSION} only`);
  }
  const count = (key: string, min: number): number => {
    const v = h[key];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) throw fail(`header field ${key} must be an integer >= ${min}, got ${JSON.stringify(v)}`);
    return v;
  };
  const text = (key: string): string => {
    const v = h[key];
    if (typeof v !== 'string' || v === '') throw fail(`header field ${key} must be a non-empty string, got ${JSON.stringify(v)}`);
    return v;
  };
  const header: SnapshotFileHeader = {
    formatVersion: SNAPSHOT_FILE_VERSION,
    clusterId: text('clusterId'),
    index: count('index', 1),
    term: count('term', 1),
    createdAt: text('createdAt'),
    dataBytes: count('dataBytes', 0),
    dataCrc32: count('dataCrc32', 0),
  };
  if (header.dataCrc32 > 0xffffffff) throw fail(`header field dataCrc32 ${header.dataCrc32} is not a 32-bit value`);
  return header;
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}

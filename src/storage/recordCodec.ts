import { crc32 } from 'node:zlib';
import type { Entry, EntryType, HardState, SnapshotMeta } from '../raft/types.js';
import { StorageInvariantError } from './errors.js';
import type { NodeIdentity } from './raftStorage.js';

/**
 * The binary encodings of everything LevelStorage writes. Every value is a
 * framed record:
 *
 *   version u8 | payload | crc32 u32 BE
 *
 * where the CRC-32 (zlib.crc32) covers the version byte and the payload, so a
 * flipped bit, a torn (shortened) value or garbage fails the check. Integers
 * are big-endian; u64 holds a safe integer (< 2^53). Payloads:
 *
 *   Entry        term u64 | index u64 | type u8 (0 normal, 1 empty, 2 config) | len u32 | data
 *   HardState    term u64 | commit u64 | len u16 | vote UTF-8
 *   SnapshotMeta index u64 | term u64 | dataBytes u64 | dataCrc u32 | chunks u32 |
 *                voters u16 | (len u16 | voter UTF-8)*
 *                [learners u16 | (len u16 | learner UTF-8)* |
 *                 contexts u16 | (len u16 | id UTF-8 | len u32 | context)*]
 *                (the bracketed tail is absent in snapshots from before membership changes)
 *   chunk        raw snapshot bytes (chunk i holds bytes [i*CHUNK, (i+1)*CHUNK))
 *   Identity     UTF-8 JSON (dataDirIdentity.ts); dirs from before it: len u16 | clusterId UTF-8 | len u16 | nodeId UTF-8
 *   Format       storage format version u32
 *
 * Log keys are the index as 8 bytes big-endian, so key order is index order.
 * Decoders check lengths exactly and throw RecordFormatError saying what they
 * expected and what they found; the store turns that into CorruptDataError.
 */

/** RECORD_VERSION is the framing/payload version written in each record's first byte. */
export const RECORD_VERSION = 1;

/** SNAPSHOT_CHUNK_BYTES bounds one snapshot data record, so a big snapshot never becomes one giant LevelDB value. */
export const SNAPSHOT_CHUNK_BYTES = 1 << 20;

const FRAME_BYTES = 5;
const U16_MAX = 0xffff;
const U32_MAX = 0xffffffff;
const TWO_32 = 2 ** 32;

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/** RecordFormatError is a decode failure: what the bytes should have been, and what they were. */
export class RecordFormatError extends Error {
  override readonly name = 'RecordFormatError';

  constructor(
    readonly expected: string,
    readonly found: string,
  ) {
    super(`expected ${expected}, found ${found}`);
  }
}

function check(condition: boolean, message: () => string): asserts condition {
  if (!condition) throw new StorageInvariantError(message());
}

function checkU64(value: number, what: string): void {
  check(Number.isSafeInteger(value) && value >= 0, () => `${what} ${value} is not a non-negative safe integer`);
}

// ---------------------------------------------------------------- framing

/** Writer fills a framed record of a size known up front. */
class Writer {
  readonly bytes: Uint8Array;
  private readonly view: DataView;
  private pos = 1;

  constructor(payloadBytes: number) {
    this.bytes = new Uint8Array(payloadBytes + FRAME_BYTES);
    this.view = new DataView(this.bytes.buffer);
    this.bytes[0] = RECORD_VERSION;
  }

  u8(v: number): void {
    this.view.setUint8(this.pos, v);
    this.pos += 1;
  }

  u16(v: number): void {
    this.view.setUint16(this.pos, v);
    this.pos += 2;
  }

  u32(v: number): void {
    this.view.setUint32(this.pos, v);
    this.pos += 4;
  }

  u64(v: number): void {
    this.view.setUint32(this.pos, Math.floor(v / TWO_32));
    this.view.setUint32(this.pos + 4, v >>> 0);
    this.pos += 8;
  }

  raw(b: Uint8Array): void {
    this.bytes.set(b, this.pos);
    this.pos += b.length;
  }

  /** finish appends the CRC; the payload must have filled exactly the size given. */
  finish(): Uint8Array {
    check(this.pos === this.bytes.length - 4, () => `record writer filled ${this.pos - 1} of ${this.bytes.length - FRAME_BYTES} payload bytes`);
    this.view.setUint32(this.pos, crc32(this.bytes.subarray(0, this.pos)));
    return this.bytes;
  }
}

/** Reader walks a payload whose frame has been checked, failing on any short or long read. */
class Reader {
  private readonly view: DataView;
  private pos = 0;

  constructor(
    private readonly payload: Uint8Array,
    private readonly what: string,
  ) {
    this.view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  }

  private need(n: number, field: string): void {
    if (this.pos + n > this.payload.length) {
      throw new RecordFormatError(`${n} bytes of ${field} at offset ${this.pos} of the ${this.what} payload`, `only ${this.payload.length - this.pos} left`);
    }
  }

  atEnd(): boolean {
    return this.pos === this.payload.length;
  }

  u8(field: string): number {
    this.need(1, field);
    const v = this.view.getUint8(this.pos);
    this.pos += 1;
    return v;
  }

  u16(field: string): number {
    this.need(2, field);
    const v = this.view.getUint16(this.pos);
    this.pos += 2;
    return v;
  }

  u32(field: string): number {
    this.need(4, field);
    const v = this.view.getUint32(this.pos);
    this.pos += 4;
    return v;
  }

  u64(field: string): number {
    this.need(8, field);
    const hi = this.view.getUint32(this.pos);
    const lo = this.view.getUint32(this.pos + 4);
    if (hi >= 2 ** 21) throw new RecordFormatError(`${field} below 2^53`, `high word 0x${hi.toString(16)}`);
    this.pos += 8;
    return hi * TWO_32 + lo;
  }

  /** bytes copies `n` bytes out, so the result owns its memory. */
  bytes(n: number, field: string): Uint8Array {
    this.need(n, field);
    const out = new Uint8Array(n);
    out.set(this.payload.subarray(this.pos, this.pos + n));
    this.pos += n;
    return out;
  }

  string(field: string): string {
    const n = this.u16(`${field} length`);
    this.need(n, field);
    const raw = this.payload.subarray(this.pos, this.pos + n);
    this.pos += n;
    try {
      return utf8Strict.decode(raw);
    } catch {
      throw new RecordFormatError(`${field} in UTF-8`, 'invalid UTF-8');
    }
  }

  end(): void {
    if (this.pos !== this.payload.length) {
      throw new RecordFormatError(`a ${this.what} payload of ${this.pos} bytes`, `${this.payload.length} bytes`);
    }
  }
}

/** frame wraps a payload as a record: version byte, payload, CRC-32 (for records whose payload another module encodes). */
export function frame(payload: Uint8Array): Uint8Array {
  const w = new Writer(payload.length);
  w.raw(payload);
  return w.finish();
}

/** unframe checks a record's version and checksum and returns a view of its payload. */
export function unframe(record: Uint8Array): Uint8Array {
  if (record.length < FRAME_BYTES) {
    throw new RecordFormatError(`a framed record of at least ${FRAME_BYTES} bytes (version, payload, crc32)`, `${record.length} bytes`);
  }
  const version = record[0] as number;
  if (version !== RECORD_VERSION) throw new RecordFormatError(`record format version ${RECORD_VERSION}`, `version ${version}`);
  const body = record.subarray(0, record.length - 4);
  const stored = new DataView(record.buffer, record.byteOffset + record.length - 4, 4).getUint32(0);
  const actual = crc32(body);
  if (stored !== actual) {
    throw new RecordFormatError(`crc32 0x${hex32(actual)} over ${body.length} bytes`, `stored crc32 0x${hex32(stored)}`);
  }
  return record.subarray(1, record.length - 4);
}

function hex32(v: number): string {
  return v.toString(16).padStart(8, '0');
}

function stringBytes(s: string, what: string): Uint8Array {
  const b = utf8.encode(s);
  check(b.length <= U16_MAX, () => `${what} is ${b.length} bytes of UTF-8; at most ${U16_MAX} fit a record`);
  return b;
}

// ---------------------------------------------------------------- keys

/** indexKey is a log key: the index as 8 bytes big-endian. */
export function indexKey(index: number): Uint8Array {
  checkU64(index, 'log index');
  const k = new Uint8Array(8);
  const v = new DataView(k.buffer);
  v.setUint32(0, Math.floor(index / TWO_32));
  v.setUint32(4, index >>> 0);
  return k;
}

export function decodeIndexKey(key: Uint8Array): number {
  if (key.length !== 8) throw new RecordFormatError('an 8-byte big-endian index key', `${key.length} bytes`);
  const v = new DataView(key.buffer, key.byteOffset, 8);
  const hi = v.getUint32(0);
  if (hi >= 2 ** 21) throw new RecordFormatError('an index below 2^53', `high word 0x${hi.toString(16)}`);
  return hi * TWO_32 + v.getUint32(4);
}

/** hexKey renders a binary key for messages: 0x0000000000000039. */
export function hexKey(key: Uint8Array): string {
  return '0x' + Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('hex');
}

/** chunkKey names snapshot data chunk `i`; zero-padded so key order is chunk order. */
export function chunkKey(i: number): string {
  return `data/${String(i).padStart(8, '0')}`;
}

// ---------------------------------------------------------------- Entry

const ENTRY_TYPES: readonly EntryType[] = ['normal', 'empty', 'config'];

export function encodeEntry(e: Entry): Uint8Array {
  checkU64(e.term, 'entry term');
  checkU64(e.index, 'entry index');
  const type = ENTRY_TYPES.indexOf(e.type);
  check(type >= 0, () => `entry ${e.index} has unknown type ${String(e.type)}`);
  check(e.data.length <= U32_MAX, () => `entry ${e.index} data is ${e.data.length} bytes`);
  const w = new Writer(8 + 8 + 1 + 4 + e.data.length);
  w.u64(e.term);
  w.u64(e.index);
  w.u8(type);
  w.u32(e.data.length);
  w.raw(e.data);
  return w.finish();
}

export function decodeEntry(record: Uint8Array): Entry {
  const r = new Reader(unframe(record), 'entry');
  const term = r.u64('term');
  const index = r.u64('index');
  const typeCode = r.u8('type');
  const type = ENTRY_TYPES[typeCode];
  if (type === undefined) throw new RecordFormatError('entry type 0 (normal), 1 (empty) or 2 (config)', `type ${typeCode}`);
  const data = r.bytes(r.u32('data length'), 'data');
  r.end();
  return { term, index, type, data };
}

// ---------------------------------------------------------------- HardState

export function encodeHardState(hs: HardState): Uint8Array {
  checkU64(hs.term, 'hard state term');
  checkU64(hs.commit, 'hard state commit');
  const vote = stringBytes(hs.vote, 'vote');
  const w = new Writer(8 + 8 + 2 + vote.length);
  w.u64(hs.term);
  w.u64(hs.commit);
  w.u16(vote.length);
  w.raw(vote);
  return w.finish();
}

export function decodeHardState(record: Uint8Array): HardState {
  const r = new Reader(unframe(record), 'hard state');
  const term = r.u64('term');
  const commit = r.u64('commit');
  const vote = r.string('vote');
  r.end();
  return { term, vote, commit };
}

// ---------------------------------------------------------------- Snapshot

/** StoredSnapshotMeta is the snapshot's meta plus what is needed to reassemble and check its data. */
export interface StoredSnapshotMeta {
  readonly meta: SnapshotMeta;
  readonly dataBytes: number;
  readonly dataCrc: number;
  readonly chunks: number;
}

export function chunkCount(dataBytes: number): number {
  return Math.ceil(dataBytes / SNAPSHOT_CHUNK_BYTES);
}

/** describeSnapshot computes the stored meta of a snapshot's data. */
export function describeSnapshot(meta: SnapshotMeta, data: Uint8Array): StoredSnapshotMeta {
  return { meta, dataBytes: data.length, dataCrc: crc32(data), chunks: chunkCount(data.length) };
}

export function encodeSnapshotMeta(s: StoredSnapshotMeta): Uint8Array {
  checkU64(s.meta.index, 'snapshot index');
  checkU64(s.meta.term, 'snapshot term');
  check(s.meta.voters.length <= U16_MAX, () => `snapshot has ${s.meta.voters.length} voters`);
  const voters = s.meta.voters.map((v) => stringBytes(v, 'voter id'));
  const votersBytes = voters.reduce((n, v) => n + 2 + v.length, 0);
  const learners = (s.meta.learners ?? []).map((v) => stringBytes(v, 'learner id'));
  const learnersBytes = learners.reduce((n, v) => n + 2 + v.length, 0);
  const contexts = (s.meta.contexts ?? []).map((c) => ({ id: stringBytes(c.id, 'member id'), context: c.context }));
  const contextsBytes = contexts.reduce((n, c) => n + 2 + c.id.length + 4 + c.context.length, 0);
  check(learners.length <= U16_MAX && contexts.length <= U16_MAX, () => `snapshot has ${learners.length} learners and ${contexts.length} contexts`);
  const w = new Writer(8 + 8 + 8 + 4 + 4 + 2 + votersBytes + 2 + learnersBytes + 2 + contextsBytes);
  w.u64(s.meta.index);
  w.u64(s.meta.term);
  w.u64(s.dataBytes);
  w.u32(s.dataCrc);
  w.u32(s.chunks);
  w.u16(voters.length);
  for (const v of voters) {
    w.u16(v.length);
    w.raw(v);
  }
  w.u16(learners.length);
  for (const v of learners) {
    w.u16(v.length);
    w.raw(v);
  }
  w.u16(contexts.length);
  for (const c of contexts) {
    w.u16(c.id.length);
    w.raw(c.id);
    w.u32(c.context.length);
    w.raw(c.context);
  }
  return w.finish();
}

export function decodeSnapshotMeta(record: Uint8Array): StoredSnapshotMeta {
  const r = new Reader(unframe(record), 'snapshot meta');
  const index = r.u64('index');
  const term = r.u64('term');
  const dataBytes = r.u64('data length');
  const dataCrc = r.u32('data crc32');
  const chunks = r.u32('chunk count');
  const voterCount = r.u16('voter count');
  const voters: string[] = [];
  for (let i = 0; i < voterCount; i++) voters.push(r.string(`voter ${i}`));
  const learners: string[] = [];
  const contexts: { id: string; context: Uint8Array }[] = [];
  if (!r.atEnd()) {
    const learnerCount = r.u16('learner count');
    for (let i = 0; i < learnerCount; i++) learners.push(r.string(`learner ${i}`));
    const contextCount = r.u16('context count');
    for (let i = 0; i < contextCount; i++) {
      const id = r.string(`context ${i} id`);
      contexts.push({ id, context: r.bytes(r.u32(`context ${i} length`), `context ${i}`) });
    }
  }
  r.end();
  if (chunks !== chunkCount(dataBytes)) {
    throw new RecordFormatError(`${chunkCount(dataBytes)} chunks for ${dataBytes} bytes of data`, `${chunks} chunks`);
  }
  const meta = {
    index, term, voters,
    ...(learners.length > 0 ? { learners } : {}),
    ...(contexts.length > 0 ? { contexts } : {}),
  };
  return { meta, dataBytes, dataCrc, chunks };
}

/** encodeChunk frames chunk `i` of a snapshot's data. */
export function encodeChunk(data: Uint8Array, i: number): Uint8Array {
  const part = data.subarray(i * SNAPSHOT_CHUNK_BYTES, (i + 1) * SNAPSHOT_CHUNK_BYTES);
  const w = new Writer(part.length);
  w.raw(part);
  return w.finish();
}

/** decodeChunk returns chunk `i`'s bytes (a view into `record`), checking its length against the meta. */
export function decodeChunk(record: Uint8Array, i: number, s: StoredSnapshotMeta): Uint8Array {
  const part = unframe(record);
  const want = Math.min(SNAPSHOT_CHUNK_BYTES, s.dataBytes - i * SNAPSHOT_CHUNK_BYTES);
  if (part.length !== want) throw new RecordFormatError(`chunk ${i} of ${want} bytes`, `${part.length} bytes`);
  return part;
}

/** snapshotDataCrc is the CRC-32 over a whole reassembled snapshot, compared with the meta's. */
export function snapshotDataCrc(data: Uint8Array): number {
  return crc32(data);
}

// ---------------------------------------------------------------- meta

/**
 * encodeIdentity writes the binary identity payload of data dirs created
 * before dataDirIdentity.ts (which reads it still); kept so tests can build
 * such a dir.
 */
export function encodeIdentity(id: NodeIdentity): Uint8Array {
  const cluster = stringBytes(id.clusterId, 'cluster id');
  const node = stringBytes(id.nodeId, 'node id');
  const w = new Writer(2 + cluster.length + 2 + node.length);
  w.u16(cluster.length);
  w.raw(cluster);
  w.u16(node.length);
  w.raw(node);
  return w.finish();
}

export function decodeIdentity(record: Uint8Array): NodeIdentity {
  const r = new Reader(unframe(record), 'identity');
  const clusterId = r.string('cluster id');
  const nodeId = r.string('node id');
  r.end();
  return { clusterId, nodeId };
}

export function encodeFormatVersion(version: number): Uint8Array {
  const w = new Writer(4);
  w.u32(version);
  return w.finish();
}

export function decodeFormatVersion(record: Uint8Array): number {
  const r = new Reader(unframe(record), 'format version');
  const v = r.u32('version');
  r.end();
  return v;
}

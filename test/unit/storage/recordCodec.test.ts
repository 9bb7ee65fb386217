import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { Entry } from '../../../src/raft/types.js';
import { StorageInvariantError } from '../../../src/storage/errors.js';
import {
  chunkCount,
  chunkKey,
  decodeChunk,
  decodeEntry,
  decodeFormatVersion,
  decodeHardState,
  decodeIdentity,
  decodeIndexKey,
  decodeSnapshotMeta,
  describeSnapshot,
  encodeChunk,
  encodeEntry,
  encodeFormatVersion,
  encodeHardState,
  encodeIdentity,
  encodeSnapshotMeta,
  indexKey,
  RecordFormatError,
  SNAPSHOT_CHUNK_BYTES,
} from '../../../src/storage/recordCodec.js';

/** reframe replaces a record's payload bytes and recomputes a valid CRC, to reach the payload checks. */
function reframe(record: Uint8Array, edit: (payload: Uint8Array) => Uint8Array): Uint8Array {
  const payload = edit(record.slice(1, record.length - 4));
  const out = new Uint8Array(payload.length + 5);
  out[0] = 1;
  out.set(payload, 1);
  Buffer.from(out.buffer).writeUInt32BE(crc32(out.subarray(0, out.length - 4)), out.length - 4);
  return out;
}

const entry: Entry = { index: 2 ** 40 + 7, term: 9, type: 'normal', data: new Uint8Array([1, 2, 3, 250]) };

describe('recordCodec', () => {
  it('round-trips every record type', () => {
    expect(decodeEntry(encodeEntry(entry))).toEqual(entry);
    const empty: Entry = { index: 1, term: 1, type: 'empty', data: new Uint8Array(0) };
    expect(decodeEntry(encodeEntry(empty))).toEqual(empty);
    const big: Entry = { index: Number.MAX_SAFE_INTEGER, term: Number.MAX_SAFE_INTEGER, type: 'normal', data: new Uint8Array(70_000).fill(7) };
    expect(decodeEntry(encodeEntry(big))).toEqual(big);
    for (const hs of [{ term: 0, vote: '', commit: 0 }, { term: 5, vote: 'nœud-1', commit: 2 ** 50 }]) {
      expect(decodeHardState(encodeHardState(hs))).toEqual(hs);
    }
    const meta = describeSnapshot({ index: 77, term: 3, voters: ['n1', 'n2', 'n3'] }, new Uint8Array(SNAPSHOT_CHUNK_BYTES + 1));
    expect(decodeSnapshotMeta(encodeSnapshotMeta(meta))).toEqual(meta);
    expect(meta.chunks).toBe(2);
    const config: Entry = { index: 9, term: 2, type: 'config', data: new Uint8Array([2, 2, 110, 52, 0, 0, 0, 0]) };
    expect(decodeEntry(encodeEntry(config))).toEqual(config);
    const members = describeSnapshot({
      index: 80, term: 4, voters: ['n1', 'n2', 'n3'], learners: ['n4'],
      contexts: [{ id: 'n4', context: new Uint8Array([1, 2, 3]) }],
    }, new Uint8Array(3));
    expect(decodeSnapshotMeta(encodeSnapshotMeta(members))).toEqual(members);
    expect(decodeIdentity(encodeIdentity({ clusterId: 'prod-eu', nodeId: 'n3' }))).toEqual({ clusterId: 'prod-eu', nodeId: 'n3' });
    expect(decodeFormatVersion(encodeFormatVersion(1))).toBe(1);
  });

  it('lays an entry out as version | term | index | type | len | data | crc32', () => {
    const bytes = encodeEntry({ index: 258, term: 3, type: 'empty', data: new Uint8Array([0xaa]) });
    const hex = Buffer.from(bytes).toString('hex');
    expect(hex.slice(0, 2 + 16 + 16 + 2 + 8 + 2)).toBe('01' + '0000000000000003' + '0000000000000102' + '01' + '00000001' + 'aa');
    expect(Buffer.from(bytes).readUInt32BE(bytes.length - 4)).toBe(crc32(bytes.subarray(0, bytes.length - 4)));
  });

  it('orders log keys as indexes', () => {
    const indexes = [0, 1, 255, 256, 65_535, 65_536, 2 ** 32 - 1, 2 ** 32, 2 ** 40 + 3, Number.MAX_SAFE_INTEGER];
    const keys = [...indexes].reverse().map(indexKey);
    keys.sort((a, b) => Buffer.compare(a, b));
    expect(keys.map(decodeIndexKey)).toEqual(indexes);
    expect(() => decodeIndexKey(new Uint8Array(7))).toThrow(/8-byte big-endian index key/);
    expect(chunkKey(3) < chunkKey(10)).toBe(true);
  });

  it('detects every single flipped bit and every truncation', () => {
    const record = encodeEntry(entry);
    for (let bit = 0; bit < record.length * 8; bit++) {
      const bad = new Uint8Array(record);
      bad[bit >> 3] = (bad[bit >> 3] as number) ^ (1 << (bit & 7));
      expect(() => decodeEntry(bad), `bit ${bit}`).toThrow(RecordFormatError);
    }
    for (let n = 0; n < record.length; n++) expect(() => decodeEntry(record.subarray(0, n)), `length ${n}`).toThrow(RecordFormatError);
  });

  it('checks payload framing behind a valid checksum', () => {
    const record = encodeEntry(entry);
    expect(() => decodeEntry(reframe(record, (p) => { p[16] = 9; return p; }))).toThrow(/entry type 0 \(normal\), 1 \(empty\) or 2 \(config\), found type 9/);
    expect(() => decodeEntry(reframe(record, (p) => { p[0] = 0xff; return p; }))).toThrow(/term below 2\^53/);
    expect(() => decodeEntry(reframe(record, (p) => p.subarray(0, p.length - 1)))).toThrow(/data/);
    expect(() => decodeEntry(reframe(record, (p) => Uint8Array.from([...p, 0])))).toThrow(/payload of 25 bytes, found 26 bytes/);
    const hs = encodeHardState({ term: 1, vote: 'n1', commit: 0 });
    expect(() => decodeHardState(reframe(hs, (p) => { p[p.length - 1] = 0xff; return p; }))).toThrow(/vote in UTF-8, found invalid UTF-8/);
    const meta = encodeSnapshotMeta(describeSnapshot({ index: 1, term: 1, voters: [] }, new Uint8Array(10)));
    expect(() => decodeSnapshotMeta(reframe(meta, (p) => { p[31] = 5; return p; }))).toThrow(/1 chunks for 10 bytes of data, found 5 chunks/);
  });

  it('splits snapshot data into chunks and checks each chunk’s length', () => {
    expect([0, 1, SNAPSHOT_CHUNK_BYTES, SNAPSHOT_CHUNK_BYTES + 1].map(chunkCount)).toEqual([0, 1, 1, 2]);
    const data = new Uint8Array(SNAPSHOT_CHUNK_BYTES + 3).map((_, i) => i & 0xff);
    const meta = describeSnapshot({ index: 1, term: 1, voters: ['n1'] }, data);
    const parts = [0, 1].map((i) => decodeChunk(encodeChunk(data, i), i, meta));
    expect(parts.map((p) => p.length)).toEqual([SNAPSHOT_CHUNK_BYTES, 3]);
    expect(Buffer.compare(Buffer.concat(parts), data)).toBe(0);
    expect(() => decodeChunk(encodeChunk(data, 1), 0, meta)).toThrow(/chunk 0 of 1048576 bytes, found 3 bytes/);
  });

  it('reads a snapshot meta written before learners existed (voters only)', () => {
    // The old layout: the payload ends after the voter list.
    const old = describeSnapshot({ index: 5, term: 1, voters: ['n1'] }, new Uint8Array(4));
    const record = encodeSnapshotMeta(old);
    const payload = record.subarray(1, record.length - 4);
    const oldPayload = payload.subarray(0, payload.length - 4); // drop learners u16 0 and contexts u16 0
    const framed = new Uint8Array(1 + oldPayload.length + 4);
    framed[0] = record[0] as number;
    framed.set(oldPayload, 1);
    new DataView(framed.buffer).setUint32(1 + oldPayload.length, crc32(framed.subarray(0, 1 + oldPayload.length)));
    expect(decodeSnapshotMeta(framed)).toEqual(old);
  });

  it('refuses to encode what it cannot represent', () => {
    expect(() => encodeEntry({ ...entry, index: 2 ** 53 })).toThrow(StorageInvariantError);
    expect(() => encodeEntry({ ...entry, term: -1 })).toThrow(StorageInvariantError);
    expect(() => encodeHardState({ term: 1, vote: 'x'.repeat(70_000), commit: 0 })).toThrow(/vote is 70000 bytes/);
    expect(() => encodeIdentity({ clusterId: 'c', nodeId: 'é'.repeat(40_000) })).toThrow(StorageInvariantError);
  });
});

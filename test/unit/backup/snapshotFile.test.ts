import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodeSnapshotFile, encodeSnapshotFile, SnapshotFileError } from '../../../src/backup/snapshotFile.js';

const data = new TextEncoder().encode('lock state bytes '.repeat(20));
const createdAt = new Date('2026-01-02T03:04:05.000Z');
const file = encodeSnapshotFile({ clusterId: 'prod-locks', index: 4242, term: 7, createdAt, data });

describe('snapshot file', () => {
  it('round-trips the header and the data', () => {
    const back = decodeSnapshotFile(file, 'f');
    expect(back.header).toMatchObject({ formatVersion: 1, clusterId: 'prod-locks', index: 4242, term: 7, createdAt: createdAt.toISOString(), dataBytes: data.length });
    expect(Buffer.from(back.data).equals(Buffer.from(data))).toBe(true);
  });

  it('refuses every single flipped bit, naming the file', () => {
    for (let at = 0; at < file.length; at++) {
      const bad = file.slice();
      bad[at] ^= 1 << (at % 8);
      expect(() => decodeSnapshotFile(bad, 'b.rlsnap'), `bit flipped at byte ${at}`).toThrow(SnapshotFileError);
    }
  });

  it('refuses truncation and trailing bytes', () => {
    for (const len of [0, 10, file.length - 1]) expect(() => decodeSnapshotFile(file.subarray(0, len), 'f')).toThrow(/f is not a usable raftlock snapshot/);
    const longer = new Uint8Array(file.length + 1);
    longer.set(file);
    expect(() => decodeSnapshotFile(longer, 'f')).toThrow(SnapshotFileError);
  });

  it('refuses another format version, with a re-computed checksum, saying which it reads', () => {
    const text = Buffer.from(file).toString('latin1').replace('"formatVersion":1', '"formatVersion":2');
    const bytes = new Uint8Array(Buffer.from(text, 'latin1'));
    new DataView(bytes.buffer).setUint32(bytes.length - 4, crc32(bytes.subarray(0, bytes.length - 4)));
    expect(() => decodeSnapshotFile(bytes, 'f')).toThrow('format version 2; this build reads version 1 only');
  });
});

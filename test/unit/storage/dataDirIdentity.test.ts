import { describe, expect, it } from 'vitest';
import {
  checkDataDirIdentity,
  DATA_DIR_IDENTITY_VERSION,
  decodeDataDirIdentity,
  encodeDataDirIdentity,
  newDataDirIdentity,
} from '../../../src/storage/dataDirIdentity.js';
import { DataDirMismatchError, UnsupportedFormatError } from '../../../src/storage/errors.js';
import { encodeIdentity, frame, RecordFormatError } from '../../../src/storage/recordCodec.js';

const json = (o: unknown): Uint8Array => frame(new TextEncoder().encode(JSON.stringify(o)));

describe('data dir identity record', () => {
  it('round-trips cluster id, node id, version and creation time', () => {
    const id = newDataDirIdentity({ clusterId: 'prod-eu', nodeId: 'n3' }, new Date('2026-03-04T05:06:07.000Z'));
    expect(decodeDataDirIdentity(encodeDataDirIdentity(id), '/d')).toEqual({
      version: DATA_DIR_IDENTITY_VERSION,
      clusterId: 'prod-eu',
      nodeId: 'n3',
      createdAt: '2026-03-04T05:06:07.000Z',
    });
  });

  it('reads the binary identity of dirs created before the record had a version', () => {
    expect(decodeDataDirIdentity(encodeIdentity({ clusterId: 'old', nodeId: 'n1' }), '/d')).toEqual({ version: 1, clusterId: 'old', nodeId: 'n1', createdAt: null });
  });

  it('refuses a newer version instead of ignoring what it might add (e.g. "removed, never rejoin")', () => {
    const record = json({ version: DATA_DIR_IDENTITY_VERSION + 1, clusterId: 'c', nodeId: 'n1', removed: true });
    expect(() => decodeDataDirIdentity(record, '/data/n1')).toThrow(UnsupportedFormatError);
    expect(() => decodeDataDirIdentity(record, '/data/n1')).toThrow(`data dir /data/n1 uses data dir identity version ${DATA_DIR_IDENTITY_VERSION + 1}`);
  });

  it('refuses malformed fields and a damaged frame as format errors (reported as corruption)', () => {
    for (const bad of [{ version: 1, clusterId: '', nodeId: 'n1' }, { version: 1, clusterId: 'c' }, { version: '1', clusterId: 'c', nodeId: 'n1' }, { clusterId: 'c', nodeId: 'n1' }]) {
      expect(() => decodeDataDirIdentity(json(bad), '/d'), JSON.stringify(bad)).toThrow(RecordFormatError);
    }
    const record = encodeDataDirIdentity(newDataDirIdentity({ clusterId: 'c', nodeId: 'n1' }, new Date(0)));
    record[5] ^= 0x20;
    expect(() => decodeDataDirIdentity(record, '/d')).toThrow(RecordFormatError);
  });

  it('says whose the dir is, and what this process was started as, for another node and for another cluster', () => {
    const stored = newDataDirIdentity({ clusterId: 'a', nodeId: 'n1' }, new Date(0));
    expect(() => checkDataDirIdentity('/d', stored, { clusterId: 'a', nodeId: 'n1' })).not.toThrow();
    expect(() => checkDataDirIdentity('/d', stored, { clusterId: 'a', nodeId: 'n2' })).toThrow(
      'data dir /d belongs to another node: it holds node "n1" of cluster "a", but this process was started as node "n2" of cluster "a"',
    );
    expect(() => checkDataDirIdentity('/d', stored, { clusterId: 'b', nodeId: 'n1' })).toThrow(DataDirMismatchError);
    expect(() => checkDataDirIdentity('/d', stored, { clusterId: 'b', nodeId: 'n1' })).toThrow(/belongs to another cluster: .*Point this node at its own data dir/);
  });
});

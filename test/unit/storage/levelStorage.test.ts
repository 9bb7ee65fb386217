import { rm } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import { Level } from 'level';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RestoredState } from '../../../src/raft/raft.js';
import { CorruptDataError, UnsupportedFormatError } from '../../../src/storage/errors.js';
import { LevelStorage } from '../../../src/storage/levelStorage.js';
import { MemoryStorage } from '../../../src/storage/memoryStorage.js';
import { chunkKey, encodeEntry, encodeFormatVersion, indexKey } from '../../../src/storage/recordCodec.js';
import { ents, hs, ID, snap, tempDir } from './harness.js';
import { mulberry32 } from '../../support/prng.js';
import { applyOp, Workload } from './workload.js';

/** raw opens a data dir with plain `level`, as an operator's tool (or a disk fault) would touch it. */
async function raw<T>(dir: string, body: (db: Level<Uint8Array, Uint8Array>) => Promise<T>): Promise<T> {
  const db = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' });
  await db.open();
  try {
    return await body(db);
  } finally {
    await db.close();
  }
}

const logOf = (db: Level<Uint8Array, Uint8Array>) => db.sublevel<Uint8Array, Uint8Array>('log', { keyEncoding: 'view', valueEncoding: 'view' });
const namedOf = (db: Level<Uint8Array, Uint8Array>, name: string) => db.sublevel<string, Uint8Array>(name, { keyEncoding: 'utf8', valueEncoding: 'view' });

describe('LevelStorage', () => {
  let dir: string;
  let opened: LevelStorage[];

  beforeEach(async () => {
    dir = await tempDir();
    opened = [];
  });

  afterEach(async () => {
    await Promise.allSettled(opened.map((s) => s.close()));
    await rm(dir, { recursive: true, force: true });
  });

  function storage(): LevelStorage {
    const s = new LevelStorage(dir);
    opened.push(s);
    return s;
  }

  /** seed writes entries 1..8 (term 2, commit 5) and a hard state, then closes. */
  async function seed(): Promise<void> {
    const s = storage();
    await s.open(ID);
    await s.persist({ hardState: hs(2, 5), entries: ents(1, 8, 2), snapshot: null });
    await s.close();
  }

  async function openError(): Promise<CorruptDataError> {
    const err = await storage().open(ID).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptDataError);
    const corrupt = err as CorruptDataError;
    expect(corrupt.message).toContain(dir);
    expect(corrupt.message).toMatch(/restore the data dir from a healthy member or from a backup/);
    return corrupt;
  }

  it('lays records out as documented: 8-byte big-endian log keys, version byte, trailing crc32', async () => {
    await seed();
    await raw(dir, async (db) => {
      const keys: Uint8Array[] = [];
      for await (const [key, value] of logOf(db).iterator()) {
        keys.push(key);
        expect(value[0]).toBe(1);
        const body = value.subarray(0, value.length - 4);
        expect(Buffer.from(value.subarray(value.length - 4)).readUInt32BE(0)).toBe(crc32(body));
      }
      expect(keys.map((k) => Buffer.from(k).toString('hex'))).toEqual(ents(1, 8, 2).map((e) => e.index.toString(16).padStart(16, '0')));
      expect(Buffer.from((await logOf(db).get(indexKey(3))) as Uint8Array)).toEqual(Buffer.from(encodeEntry(ents(3, 3, 2)[0]!)));
      expect([...(await namedOf(db, 'meta').keys().all())]).toEqual(['format', 'identity']);
      expect(await namedOf(db, 'hard').keys().all()).toEqual(['state']);
    });
  });

  it('reopens the same instance after close', async () => {
    const s = storage();
    await s.open(ID);
    await s.persist({ hardState: hs(1, 1), entries: ents(1, 2, 1), snapshot: null });
    await s.close();
    expect((await s.open(ID)).entries).toEqual(ents(1, 2, 1));
    await s.persist({ hardState: hs(1, 2), entries: ents(3, 3, 1), snapshot: null });
    await s.close();
    expect(await s.open(ID)).toEqual({ hardState: hs(1, 2), snapshot: null, entries: ents(1, 3, 1) });
  });

  it('refuses a log entry with a flipped byte, naming the record and key', async () => {
    await seed();
    await raw(dir, async (db) => {
      const log = logOf(db);
      const value = (await log.get(indexKey(3))) as Uint8Array;
      const flipped = new Uint8Array(value);
      flipped[12] = (flipped[12] as number) ^ 0x01;
      await log.put(indexKey(3), flipped);
    });
    const err = await openError();
    expect(err.record).toBe('log entry 3');
    expect(err.key).toBe('log/0x0000000000000003');
    expect(err.message).toMatch(/corrupt log entry 3 at key log\/0x0000000000000003 .*expected crc32 0x[0-9a-f]{8} over \d+ bytes, found stored crc32/);
  });

  it('refuses a torn log value and a garbage hard state', async () => {
    await seed();
    await raw(dir, async (db) => {
      const value = (await logOf(db).get(indexKey(8))) as Uint8Array;
      await logOf(db).put(indexKey(8), value.subarray(0, value.length - 3));
    });
    expect((await openError()).record).toBe('log entry 8');

    await rm(dir, { recursive: true, force: true });
    await seed();
    await raw(dir, (db) => namedOf(db, 'hard').put('state', new Uint8Array([1, 2, 3])));
    const err = await openError();
    expect(err.record).toBe('hard state');
    expect(err.key).toBe('hard/state');
    expect(err.expected).toMatch(/at least 5 bytes/);
  });

  it('refuses a record of an unknown record-format version', async () => {
    await seed();
    await raw(dir, async (db) => {
      const value = new Uint8Array((await namedOf(db, 'hard').get('state')) as Uint8Array);
      value[0] = 2;
      await namedOf(db, 'hard').put('state', value);
    });
    expect((await openError()).message).toMatch(/expected record format version 1, found version 2/);
  });

  it('refuses records that do not fit together', async () => {
    const cases: [string, (db: Level<Uint8Array, Uint8Array>) => Promise<void>, RegExp][] = [
      ['a gap in the log', (db) => logOf(db).del(indexKey(4)), /log entry 5 .*expected index 4 after 3/],
      ['an entry under another index', async (db) => logOf(db).put(indexKey(6), encodeEntry(ents(5, 5, 2)[0]!)), /log entry 6 .*expected an entry with index 6 \(its key\), found index 5/],
      ['a lost tail below the commit', async (db) => { for (const i of [5, 6, 7, 8]) await logOf(db).del(indexKey(i)); }, /hard state .*commit within \[0, 4\].*found commit 5/],
      ['a log that does not start at 1', (db) => logOf(db).del(indexKey(1)), /log entry 2 .*first entry at index 1/],
      ['a lost identity', (db) => namedOf(db, 'meta').del('identity'), /corrupt identity .*an identity record in a data dir that holds Raft data/],
      ['an unknown snapshot record', (db) => namedOf(db, 'snap').put(chunkKey(0), new Uint8Array(8)), /snapshot chunk at key snap\/data\/00000000/],
    ];
    for (const [what, damage, message] of cases) {
      await rm(dir, { recursive: true, force: true });
      await seed();
      await raw(dir, damage);
      const err = await openError();
      expect(err.message, what).toMatch(message);
    }
  });

  it('refuses a snapshot whose entry term disagrees or whose data chunk is damaged', async () => {
    const s = storage();
    await s.open(ID);
    await s.persist({ hardState: hs(2, 8), entries: ents(1, 10, 2), snapshot: null });
    await s.saveSnapshot(snap(8, 2), 5);
    await s.close();
    await raw(dir, (db) => logOf(db).put(indexKey(8), encodeEntry(ents(8, 8, 1)[0]!)));
    expect((await openError()).message).toMatch(/log entry 8 .*term 2 \(the snapshot's term at index 8\), found term 1/);

    await raw(dir, async (db) => {
      await logOf(db).put(indexKey(8), encodeEntry(ents(8, 8, 2)[0]!));
      const chunk = new Uint8Array((await namedOf(db, 'snap').get(chunkKey(0))) as Uint8Array);
      chunk[1] = (chunk[1] as number) ^ 0x80;
      await namedOf(db, 'snap').put(chunkKey(0), chunk);
    });
    const err = await openError();
    expect(err.record).toBe('snapshot chunk 0');
    expect(err.key).toBe('snap/data/00000000');
  });

  it('refuses a data dir of another storage format version without touching it', async () => {
    await seed();
    await raw(dir, (db) => namedOf(db, 'meta').put('format', encodeFormatVersion(2)));
    const err = await storage().open(ID).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsupportedFormatError);
    expect((err as Error).message).toMatch(/storage format version 2; this build reads version 1/);
  });

  it('stores and restores a 20 MB snapshot, and replaces it with a smaller one', async () => {
    const data = new Uint8Array(20 * 1024 * 1024 + 12345);
    for (let i = 0; i < data.length; i += 4096) data[i] = (i / 4096) & 0xff;
    data[data.length - 1] = 0xab;
    const s = storage();
    await s.open(ID);
    await s.persist({ hardState: hs(4, 1000), entries: ents(1001, 1002, 4), snapshot: { meta: { index: 1000, term: 4, voters: ['n1', 'n2', 'n3'] }, data } });
    await s.close();
    const restored = await s.open(ID);
    expect(restored.snapshot?.meta).toEqual({ index: 1000, term: 4, voters: ['n1', 'n2', 'n3'] });
    expect(restored.snapshot?.data.length).toBe(data.length);
    expect(Buffer.compare(restored.snapshot!.data, data)).toBe(0);
    expect(restored.entries).toEqual(ents(1001, 1002, 4));

    await s.persist({ hardState: hs(4, 1002), entries: [], snapshot: null });
    await s.saveSnapshot(snap(1002, 4, 'small'), 1002);
    await s.close();
    expect((await s.open(ID)).snapshot).toEqual(snap(1002, 4, 'small'));
    await s.close();
    // The old snapshot's 21 chunks are gone, not just unreferenced.
    expect(await raw(dir, (db) => namedOf(db, 'snap').keys().all())).toEqual([chunkKey(0), 'meta']);
  });

  it('agrees with MemoryStorage over random workloads across restarts', async () => {
    for (let seed = 1; seed <= 4; seed++) {
      await rm(dir, { recursive: true, force: true });
      const rand = mulberry32(seed);
      const level = storage();
      const memory = new MemoryStorage();
      let restored: RestoredState = await level.open(ID);
      expect(await memory.open(ID)).toEqual(restored);
      for (let round = 0; round < 3; round++) {
        const work = new Workload(restored, rand, 12);
        for (let i = 0; i < 30; i++) {
          const op = work.next();
          await applyOp(level, op);
          await applyOp(memory, op);
        }
        await level.close();
        await memory.close();
        restored = await level.open(ID);
        expect(await memory.open(ID), `seed ${seed} round ${round}`).toEqual(restored);
      }
      await level.close();
    }
  });
});

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RestoredState } from '../../../src/raft/raft.js';
import { DataDirMismatchError, StorageError, StorageInvariantError } from '../../../src/storage/errors.js';
import type { RaftStorage } from '../../../src/storage/raftStorage.js';
import { ent, ents, hs, ID, levelSubject, memorySubject, snap, type Fixture, type Subject } from './harness.js';

/**
 * The RaftStorage contract, run against LevelStorage and its in-memory twin:
 * whatever one stores and restores, the other must too.
 */
describe.each<Subject>([memorySubject, levelSubject])('RaftStorage contract: $name', (subject) => {
  let fx: Fixture;
  let store: RaftStorage;

  beforeEach(async () => {
    fx = await subject.fixture();
    store = fx.storage();
  });

  afterEach(async () => {
    await fx.cleanup();
  });

  /** reopen closes the store and opens a new instance on the same dir, as a restart does. */
  async function reopen(): Promise<RestoredState> {
    await store.close();
    store = fx.storage();
    return store.open(ID);
  }

  it('opens a fresh dir with the empty state', async () => {
    expect(await store.open(ID)).toEqual({ hardState: { term: 0, vote: '', commit: 0 }, snapshot: null, entries: [] });
    expect(await reopen()).toEqual({ hardState: { term: 0, vote: '', commit: 0 }, snapshot: null, entries: [] });
  });

  it('round-trips hard state and entries exactly', async () => {
    await store.open(ID);
    const entries = [ent(1, 1, '', 'empty'), ent(2, 1, 'acquire ünïcødé'), { index: 3, term: 2, type: 'normal' as const, data: new Uint8Array([0, 255, 1, 254]) }];
    await store.persist({ hardState: hs(2, 1, 'n2'), entries, snapshot: null });
    await store.persist({ hardState: hs(2, 3, 'n2'), entries: [], snapshot: null });
    expect(await reopen()).toEqual({ hardState: hs(2, 3, 'n2'), snapshot: null, entries });
  });

  it('round-trips a snapshot with the entries that follow it', async () => {
    await store.open(ID);
    await store.persist({ hardState: hs(3, 10, ''), entries: ents(11, 12, 3), snapshot: snap(10, 2) });
    expect(await reopen()).toEqual({ hardState: hs(3, 10, ''), snapshot: snap(10, 2), entries: ents(11, 12, 3) });
  });

  it('replaces the stored suffix from the first new entry', async () => {
    await store.open(ID);
    await store.persist({ hardState: hs(1, 3), entries: ents(1, 10, 1), snapshot: null });
    await store.persist({ hardState: hs(2, 3, 'n2'), entries: ents(5, 6, 2), snapshot: null });
    expect((await reopen()).entries).toEqual([...ents(1, 4, 1), ...ents(5, 6, 2)]);
    // A longer replacement, then a plain append: keys are rewritten, nothing stale survives.
    await store.persist({ hardState: hs(3, 4, 'n3'), entries: ents(5, 9, 3), snapshot: null });
    await store.persist({ hardState: null, entries: ents(10, 11, 3), snapshot: null });
    expect(await reopen()).toEqual({ hardState: hs(3, 4, 'n3'), snapshot: null, entries: [...ents(1, 4, 1), ...ents(5, 11, 3)] });
  });

  it('lets a snapshot replace the whole stored log', async () => {
    await store.open(ID);
    await store.persist({ hardState: hs(1, 5), entries: ents(1, 10, 1), snapshot: null });
    // A snapshot inside the stored log still replaces all of it.
    await store.persist({ hardState: hs(2, 8), entries: [], snapshot: snap(8, 2) });
    expect(await reopen()).toEqual({ hardState: hs(2, 8), snapshot: snap(8, 2), entries: [] });
    // A snapshot beyond the log, with the leader's next entries in the same write.
    await store.persist({ hardState: hs(2, 9), entries: ents(9, 12, 2), snapshot: null });
    await store.persist({ hardState: hs(3, 20), entries: ents(21, 22, 3), snapshot: snap(20, 3) });
    expect(await reopen()).toEqual({ hardState: hs(3, 20), snapshot: snap(20, 3), entries: ents(21, 22, 3) });
  });

  it('compacts with saveSnapshot, keeping a trailing window', async () => {
    await store.open(ID);
    await store.persist({ hardState: hs(1, 18), entries: ents(1, 20, 1), snapshot: null });
    await store.saveSnapshot(snap(15, 1), 11);
    expect(await reopen()).toEqual({ hardState: hs(1, 18), snapshot: snap(15, 1), entries: ents(11, 20, 1) });
    // A later snapshot moves the window; a first index at or below the stored one deletes nothing.
    await store.saveSnapshot(snap(16, 1), 5);
    expect((await reopen()).entries).toEqual(ents(11, 20, 1));
    await store.saveSnapshot(snap(18, 1), 19);
    expect(await reopen()).toEqual({ hardState: hs(1, 18), snapshot: snap(18, 1), entries: ents(19, 20, 1) });
    // The log keeps growing after compaction; a suffix replacement inside the window works.
    await store.persist({ hardState: hs(2, 19, 'n2'), entries: ents(20, 21, 2), snapshot: null });
    expect(await reopen()).toEqual({ hardState: hs(2, 19, 'n2'), snapshot: snap(18, 1), entries: [ent(19, 1), ...ents(20, 21, 2)] });
  });

  it('compacts every entry up to the snapshot when firstIndex is snapshot index + 1', async () => {
    await store.open(ID);
    await store.persist({ hardState: hs(1, 10), entries: ents(1, 10, 1), snapshot: null });
    await store.saveSnapshot(snap(10, 1), 11);
    expect(await reopen()).toEqual({ hardState: hs(1, 10), snapshot: snap(10, 1), entries: [] });
    await store.persist({ hardState: hs(1, 11), entries: ents(11, 11, 1), snapshot: null });
    expect((await reopen()).entries).toEqual(ents(11, 11, 1));
  });

  it('refuses a dir of another cluster or another node, naming both', async () => {
    await store.open(ID);
    await store.close();
    store = fx.storage();
    const otherCluster = store.open({ clusterId: 'c-beta', nodeId: 'n1' });
    await expect(otherCluster).rejects.toThrow(DataDirMismatchError);
    await expect(otherCluster).rejects.toThrow(/another cluster.*node "n1" of cluster "c-alpha".*node "n1" of cluster "c-beta"/);
    const otherNode = store.open({ clusterId: 'c-alpha', nodeId: 'n2' });
    await expect(otherNode).rejects.toThrow(/another node.*node "n1" of cluster "c-alpha".*node "n2" of cluster "c-alpha"/);
    const err = await store.open({ clusterId: 'c-alpha', nodeId: 'n2' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageError);
    expect((err as DataDirMismatchError).stored).toEqual(ID);
    expect((err as DataDirMismatchError).expected).toEqual({ clusterId: 'c-alpha', nodeId: 'n2' });
    expect((err as Error).message).toContain(fx.dir);
    // A refused open leaves the dir usable by its owner.
    expect(await store.open(ID)).toEqual({ hardState: hs(0, 0, ''), snapshot: null, entries: [] });
  });

  it('refuses writes that break the contract and keeps the stored state', async () => {
    await store.open(ID);
    await store.persist({ hardState: hs(2, 5), entries: ents(1, 8, 2), snapshot: null });
    const refused: [string, () => Promise<void>][] = [
      ['a gap', () => store.persist({ hardState: null, entries: ents(10, 11, 2), snapshot: null })],
      ['non-contiguous entries', () => store.persist({ hardState: null, entries: [ent(9, 2), ent(11, 2)], snapshot: null })],
      ['a committed entry rewritten', () => store.persist({ hardState: hs(3, 5), entries: ents(5, 6, 3), snapshot: null })],
      ['a lower term after a higher one', () => store.persist({ hardState: null, entries: ents(9, 9, 1), snapshot: null })],
      ['commit going back', () => store.persist({ hardState: hs(2, 4), entries: [], snapshot: null })],
      ['commit beyond the log', () => store.persist({ hardState: hs(2, 9), entries: [], snapshot: null })],
      ['term going back', () => store.persist({ hardState: hs(1, 5), entries: [], snapshot: null })],
      ['a changed vote', () => store.persist({ hardState: hs(2, 5, 'n3'), entries: [], snapshot: null })],
      ['a snapshot at the commit', () => store.persist({ hardState: hs(2, 5), entries: [], snapshot: snap(5, 2) })],
      ['a local snapshot beyond the commit', () => store.saveSnapshot(snap(6, 2), 1)],
      ['a local snapshot with the wrong term', () => store.saveSnapshot(snap(4, 1), 1)],
      ['a first index beyond the snapshot', () => store.saveSnapshot(snap(4, 2), 6)],
      ['a fractional index', () => store.persist({ hardState: null, entries: [ent(8.5, 2)], snapshot: null })],
    ];
    for (const [what, write] of refused) await expect(write(), what).rejects.toThrow(StorageInvariantError);
    expect(await reopen()).toEqual({ hardState: hs(2, 5), snapshot: null, entries: ents(1, 8, 2) });
  });

  it('accepts an empty update and rewrites uncommitted entries with the same term', async () => {
    await store.open(ID);
    await store.persist({ hardState: null, entries: [], snapshot: null });
    await store.persist({ hardState: hs(1, 2), entries: ents(1, 4, 1), snapshot: null });
    await store.persist({ hardState: null, entries: [ent(2, 1), ent(3, 1, 'other')], snapshot: null });
    expect((await reopen()).entries).toEqual([ent(1, 1), ent(2, 1), ent(3, 1, 'other')]);
  });

  it('stores copies: changing the caller’s buffers afterwards changes nothing', async () => {
    await store.open(ID);
    const e = ent(1, 1, 'abc');
    const s = snap(5, 1, 'image');
    await store.persist({ hardState: hs(1, 1), entries: [e], snapshot: null });
    e.data[0] = 0x7a;
    await store.persist({ hardState: hs(1, 5), entries: [], snapshot: s });
    s.data[0] = 0x7a;
    expect(await reopen()).toEqual({ hardState: hs(1, 5), snapshot: snap(5, 1, 'image'), entries: [] });
  });

  it('refuses calls when not open, a second open, and a concurrent write', async () => {
    await expect(store.persist({ hardState: hs(1, 0), entries: [], snapshot: null })).rejects.toThrow(/not open/);
    await store.open(ID);
    await expect(store.open(ID)).rejects.toThrow(/already open/);
    const other = fx.storage();
    await expect(other.open(ID)).rejects.toThrow(/locked/);
    const first = store.persist({ hardState: hs(1, 0), entries: ents(1, 1, 1), snapshot: null });
    await expect(store.persist({ hardState: null, entries: ents(2, 2, 1), snapshot: null })).rejects.toThrow(/in flight/);
    await first;
    await store.close();
    await store.close();
    await expect(store.saveSnapshot(snap(1, 1), 1)).rejects.toThrow(/not open/);
    expect((await other.open(ID)).entries).toEqual(ents(1, 1, 1));
    await other.close();
  });
});

import { describe, expect, it } from 'vitest';
import { StorageInvariantError } from '../../../src/storage/errors.js';
import { MemoryDataDir, MemoryStorage } from '../../../src/storage/memoryStorage.js';
import { ents, hs, ID } from './harness.js';

describe('MemoryStorage', () => {
  it('survives a crash with exactly what was persisted, and releases the dir', async () => {
    const dir = new MemoryDataDir();
    const before = new MemoryStorage(dir);
    await before.open(ID);
    await before.persist({ hardState: hs(1, 2), entries: ents(1, 3, 1), snapshot: null });
    before.crash();
    await expect(before.persist({ hardState: null, entries: ents(4, 4, 1), snapshot: null })).rejects.toThrow(/not open/);
    expect(await new MemoryStorage(dir).open(ID)).toEqual({ hardState: hs(1, 2), snapshot: null, entries: ents(1, 3, 1) });
  });

  it('writes nothing for an empty update and nothing for a refused one', async () => {
    const dir = new MemoryDataDir();
    const s = new MemoryStorage(dir);
    await s.open(ID);
    const writes = dir.writes;
    await s.persist({ hardState: null, entries: [], snapshot: null });
    await expect(s.persist({ hardState: hs(1, 5), entries: [], snapshot: null })).rejects.toThrow(StorageInvariantError);
    await expect(s.persist({ hardState: hs(1, 0, 'x'.repeat(70_000)), entries: [], snapshot: null })).rejects.toThrow(/UTF-8 bytes/);
    expect(dir.writes).toBe(writes);
    await s.persist({ hardState: hs(1, 0), entries: [], snapshot: null });
    expect(dir.writes).toBe(writes + 1);
  });
});

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Entry, EntryType, HardState, Snapshot } from '../../../src/raft/types.js';
import { LevelStorage } from '../../../src/storage/levelStorage.js';
import { MemoryDataDir, MemoryStorage } from '../../../src/storage/memoryStorage.js';
import type { NodeIdentity, RaftStorage } from '../../../src/storage/raftStorage.js';

/** A data dir under test: each call to storage() is a new instance on it (a restart). */
export interface Fixture {
  readonly dir: string;
  storage(): RaftStorage;
  /** Closes every instance handed out and removes the dir. */
  cleanup(): Promise<void>;
}

export interface Subject {
  readonly name: string;
  fixture(): Promise<Fixture>;
}

/** tempDir makes a fresh directory under the OS temp dir. */
export async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'raftlock-storage-'));
}

export const levelSubject: Subject = {
  name: 'LevelStorage',
  async fixture() {
    const dir = await tempDir();
    const made: RaftStorage[] = [];
    return {
      dir,
      storage() {
        const s = new LevelStorage(dir);
        made.push(s);
        return s;
      },
      async cleanup() {
        await Promise.allSettled(made.map((s) => s.close()));
        await rm(dir, { recursive: true, force: true });
      },
    };
  },
};

export const memorySubject: Subject = {
  name: 'MemoryStorage',
  async fixture() {
    const dir = new MemoryDataDir('mem:test');
    const made: RaftStorage[] = [];
    return {
      dir: dir.name,
      storage() {
        const s = new MemoryStorage(dir);
        made.push(s);
        return s;
      },
      async cleanup() {
        await Promise.allSettled(made.map((s) => s.close()));
      },
    };
  },
};

export const ID: NodeIdentity = { clusterId: 'c-alpha', nodeId: 'n1' };

export function ent(index: number, term: number, text = `cmd-${index}-${term}`, type: EntryType = 'normal'): Entry {
  return { index, term, type, data: new TextEncoder().encode(text) };
}

/** ents makes entries [from, to] at one term. */
export function ents(from: number, to: number, term: number): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) out.push(ent(i, term));
  return out;
}

export function hs(term: number, commit: number, vote = 'n1'): HardState {
  return { term, vote, commit };
}

export function snap(index: number, term: number, text = `image@${index}`): Snapshot {
  return { meta: { index, term, voters: ['n1', 'n2', 'n3'] }, data: new TextEncoder().encode(text) };
}

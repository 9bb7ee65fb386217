import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { ReplicatedState } from '../node/replicatedState.js';
import { LevelStorage } from '../storage/levelStorage.js';
import type { NodeIdentity } from '../storage/raftStorage.js';
import { BackupError } from './backupError.js';

/** SeedState is a lock state and the Raft position it stands at. */
export interface SeedState {
  /** index: the Raft index the state was taken at; the new log starts at index + 1, so new tokens are above every old one. */
  readonly index: number;
  /** term: the term recorded for `index` (the new cluster's first election is in a later term). */
  readonly term: number;
  /** data: the replicated state's snapshot bytes (src/node/replicatedState.ts: the lock snapshot, or a container with the auth state too). */
  readonly data: Uint8Array;
}

/**
 * seedDataDir creates a data dir for `identity` that starts from `state`: its
 * identity record, a Raft snapshot at (index, term) whose members are
 * `voters`, an empty log after it, and a hard state with commit = index and
 * no vote. The node started on it resumes from the snapshot like after a
 * compaction: the lock state is loaded, lease clocks restart at full TTL once
 * it leads (LeaseClock.reset + activate), and its first entry is index + 1.
 *
 * Refuses a dir that already holds anything: seeding never overwrites data.
 */
export async function seedDataDir(dataDir: string, identity: NodeIdentity, voters: readonly string[], state: SeedState): Promise<void> {
  if (existsSync(dataDir) && readdirSync(dataDir).length > 0) {
    throw new BackupError(`data dir ${dataDir} is not empty; restore and recover write only into a new or empty directory (move the old one aside first)`);
  }
  if (!voters.includes(identity.nodeId)) {
    throw new BackupError(`node ${identity.nodeId} is not one of the members ${voters.join(', ')}; pick a --node-id from the config`);
  }
  const sm = ReplicatedState.restore(state.data, {});
  if (sm.lastAppliedIndex !== state.index) {
    throw new BackupError(`the lock state is at index ${sm.lastAppliedIndex}, but it was described as index ${state.index}; the snapshot is inconsistent`);
  }
  mkdirSync(dataDir, { recursive: true });
  const storage = new LevelStorage(dataDir);
  await storage.open(identity);
  try {
    await storage.persist({
      snapshot: { meta: { index: state.index, term: state.term, voters: [...voters] }, data: state.data },
      entries: [],
      hardState: { term: state.term, vote: '', commit: state.index },
    });
  } finally {
    await storage.close();
  }
}

import { resolve } from 'node:path';
import type { Entry } from '../raft/types.js';
import { ReplicatedState } from '../node/replicatedState.js';
import { nodeSpec, type ClusterConfig } from '../node/clusterConfig.js';
import { LevelStorage, readStoredIdentity } from '../storage/levelStorage.js';
import type { NodeIdentity } from '../storage/raftStorage.js';
import { BackupError } from './backupError.js';
import { seedDataDir } from './seedDataDir.js';

export interface ForceNewClusterOptions {
  /** fromDataDir: the survivor's data dir; it is read, never written. */
  readonly fromDataDir: string;
  /** config: the new single-member cluster: exactly one node, a new clusterId, the dataDir to create. */
  readonly config: ClusterConfig;
  readonly nodeId: string;
}

export interface ForceNewClusterResult {
  readonly from: NodeIdentity;
  readonly dataDir: string;
  /** index: the last index of the survivor's log; the new cluster's first entry is index + 1. */
  readonly index: number;
  readonly term: number;
  /** committedIndex: what the survivor knew to be committed; entries above it were applied too. */
  readonly committedIndex: number;
  readonly leases: number;
  readonly locks: number;
}

/**
 * forceNewCluster is the disaster-recovery path when a majority of the
 * members is lost for good: it turns one survivor's data into the data dir
 * of a new cluster whose only member is that node.
 *
 * Every entry in the survivor's log is applied, not only those it knew to be
 * committed: its commit index lags the leader's, and an entry the old
 * cluster committed (a grant a client was told of) may be above it. Applying
 * an entry that never committed grants at most a lock nobody was told of,
 * which its lease's expiry undoes; dropping a committed one could hand a held
 * lock to a second holder. The new log starts after the survivor's last
 * index, so fencing tokens continue above every token the old cluster gave.
 *
 * The old data dir is left untouched (evidence, and a way back); the new one
 * is seeded with a new cluster id so the lost members, should one come back,
 * are refused instead of joining a cluster whose membership they do not know.
 */
export async function forceNewCluster(o: ForceNewClusterOptions): Promise<ForceNewClusterResult> {
  const self = nodeSpec(o.config, o.nodeId);
  if (o.config.nodes.length !== 1) {
    throw new BackupError(
      `the config lists ${o.config.nodes.length} members (${o.config.nodes.map((n) => n.id).join(', ')}); recovery starts a single-member cluster, so the config must list only ${o.nodeId} (add members afterwards with \`raftlock member add\`)`,
    );
  }
  if (resolve(self.dataDir) === resolve(o.fromDataDir)) {
    throw new BackupError(`the new data dir ${self.dataDir} is the survivor's own data dir; give the new member another dataDir in the config (the old one is kept untouched)`);
  }
  const identity = await readStoredIdentity(o.fromDataDir);
  if (identity.clusterId === o.config.clusterId) {
    throw new BackupError(
      `the config's clusterId "${o.config.clusterId}" is the lost cluster's own; the recovered member forms a new cluster, so give the config a new clusterId (e.g. "${o.config.clusterId}-recovered")`,
    );
  }
  const storage = new LevelStorage(o.fromDataDir);
  const restored = await storage.open(identity);
  await storage.close();

  const sm = restored.snapshot === null
    ? ReplicatedState.empty(o.config.limits, o.config.auth.limits)
    : ReplicatedState.restore(restored.snapshot.data, o.config.limits, o.config.auth.limits);
  let term = Math.max(restored.hardState.term, restored.snapshot?.meta.term ?? 0);
  for (const e of restored.entries) {
    if (e.index <= sm.lastAppliedIndex) continue;
    applyEntry(sm, e);
    term = Math.max(term, e.term);
  }
  const index = sm.lastAppliedIndex;
  if (index === 0) throw new BackupError(`data dir ${o.fromDataDir} holds no log entries and no snapshot: there is nothing to recover`);
  await seedDataDir(self.dataDir, { clusterId: o.config.clusterId, nodeId: o.nodeId }, [o.nodeId], { index, term, data: sm.snapshot() });
  return {
    from: identity,
    dataDir: self.dataDir,
    index,
    term,
    committedIndex: restored.hardState.commit,
    leases: sm.lock.listLeases().length,
    locks: sm.lock.listLocks().length,
  };
}

function applyEntry(sm: ReplicatedState, e: Entry): void {
  switch (e.type) {
    case 'normal':
      sm.apply({ index: e.index, term: e.term, data: e.data });
      return;
    case 'empty':
      sm.applyNoop(e.index);
      return;
    case 'config':
      // The lost cluster's membership changes do not carry over: the new cluster's only member is this node.
      sm.applyNoop(e.index);
      return;
    default: {
      // A new entry type must be handled here before recovery can read logs holding it.
      const unknown: never = e.type;
      throw new BackupError(`log entry ${e.index} has type ${String(unknown)}, which this build cannot recover`);
    }
  }
}

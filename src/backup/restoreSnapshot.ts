import { nodeSpec, type ClusterConfig } from '../node/clusterConfig.js';
import { BackupError } from './backupError.js';
import { seedDataDir } from './seedDataDir.js';
import { readSnapshotFile } from './snapshotFileIo.js';
import type { SnapshotFileHeader } from './snapshotFile.js';

export interface RestoreOptions {
  /** file: a snapshot written by `raftlock snapshot save`. */
  readonly file: string;
  /** config: the NEW cluster's config; its cluster id must differ from the snapshot's. */
  readonly config: ClusterConfig;
  readonly nodeId: string;
  /** dataDir: where to seed; by default the node's dataDir in the config. */
  readonly dataDir?: string;
  /** clusterId: stated on the command line as a check; must equal the config's. */
  readonly clusterId?: string;
}

export interface RestoreResult {
  readonly dataDir: string;
  readonly clusterId: string;
  readonly from: SnapshotFileHeader;
}

/**
 * restoreSnapshot seeds one member's data dir of a new cluster from a
 * snapshot file, offline (like `etcdctl snapshot restore`): run it once per
 * member with the same file. The checksums are verified first; the Raft log
 * of the new cluster starts right after the snapshot's index, so every grant
 * it makes has a fencing token above every token in the snapshot.
 *
 * The cluster id must change: members of the old cluster, still running or
 * restarted by mistake, are then refused by every new member's transport
 * (and a data dir of one cluster never opens under the other's config).
 */
export async function restoreSnapshot(o: RestoreOptions): Promise<RestoreResult> {
  const self = nodeSpec(o.config, o.nodeId);
  const file = readSnapshotFile(o.file);
  const clusterId = o.config.clusterId;
  if (o.clusterId !== undefined && o.clusterId !== clusterId) {
    throw new BackupError(`--cluster-id ${o.clusterId} differs from the config's clusterId ${clusterId}; the node starts with the config's, so set "clusterId": "${o.clusterId}" in the config`);
  }
  if (clusterId === file.header.clusterId) {
    throw new BackupError(
      `the config's clusterId "${clusterId}" is the snapshot's own cluster id; a restore makes a new cluster, so give the config a new clusterId (e.g. "${clusterId}-restored")`,
    );
  }
  const dataDir = o.dataDir ?? self.dataDir;
  const voters = o.config.nodes.map((n) => n.id);
  await seedDataDir(dataDir, { clusterId, nodeId: o.nodeId }, voters, { index: file.header.index, term: file.header.term, data: file.data });
  return { dataDir, clusterId, from: file.header };
}

import { existsSync, readFileSync, writeFileSync, renameSync, openSync, fsyncSync, closeSync } from 'node:fs';
import { join } from 'node:path';

/**
 * removalRecord: a node that applies its own removal from the cluster writes
 * `removed.json` into its data dir, and refuses to start from that data dir
 * again. A removed member that came back would hold a stale configuration
 * and a log the cluster has moved on from; it must rejoin as a new member
 * (new id, empty data dir). Kept apart so the data-dir identity record can
 * absorb it.
 */
export interface RemovalRecord {
  readonly clusterId: string;
  readonly nodeId: string;
  /** The log index of the change that removed the node. */
  readonly index: number;
}

const FILE = 'removed.json';

export function recordRemoval(dataDir: string, record: RemovalRecord): void {
  const path = join(dataDir, FILE);
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(record)}\n`);
  const fd = openSync(tmp, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

export function readRemoval(dataDir: string): RemovalRecord | null {
  const path = join(dataDir, FILE);
  if (!existsSync(path)) return null;
  return JSON.parse(readFileSync(path, 'utf8')) as RemovalRecord;
}

/** RemovedNodeError stops a removed node from starting again with its old data. */
export class RemovedNodeError extends Error {
  override readonly name = 'RemovedNodeError';
  constructor(readonly record: RemovalRecord, dataDir: string) {
    super(`node ${record.nodeId} was removed from cluster ${record.clusterId} (log index ${record.index}) and will not start from ${dataDir} again: ` +
      'to bring this machine back, give it an empty data dir and a new id, then `raftlock member add` it');
  }
}

import type { NodeId } from './types.js';

/**
 * RaftConfig holds the core's tunables. Time is counted in ticks: the caller
 * decides how long a tick is (the node uses milliseconds of monotonic time, the
 * simulator virtual time). Every limit bounds a queue or a batch.
 */
export interface RaftConfig {
  readonly id: NodeId;
  /** Voters used when the node starts with no snapshot (a fresh cluster). */
  readonly voters: readonly NodeId[];
  /** Election timeout base; each timeout is drawn from [electionTicks, 2 * electionTicks). */
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  /** Limits on one AppendEntries message. */
  readonly maxEntriesPerMsg: number;
  readonly maxBytesPerMsg: number;
  /** Append messages in flight to one follower before the leader waits for acknowledgements. */
  readonly maxInflightMsgs: number;
  /** Bytes of uncommitted entries the leader accepts before refusing proposals. */
  readonly maxUncommittedBytes: number;
  /** Bytes of committed entries handed out in one Ready. */
  readonly maxCommittedBytesPerReady: number;
  /** Linearizable reads waiting for a quorum round. */
  readonly maxPendingReads: number;
  /** Bytes of snapshot data in one InstallSnapshot chunk. */
  readonly snapshotChunkBytes: number;
  /** Largest accepted proposal. */
  readonly maxEntryBytes: number;
  /**
   * Started to join an existing cluster: neither campaign nor vote until a
   * leader's configuration names this node (see Raft.joinPending).
   */
  readonly joining?: boolean;
  /** A learner is promoted only when its match is within this many entries of the leader's last index. */
  readonly maxPromoteLagEntries?: number;
}

export function defaultRaftConfig(id: NodeId, voters: readonly NodeId[]): RaftConfig {
  return {
    id,
    voters,
    electionTicks: 10,
    heartbeatTicks: 1,
    preVote: true,
    checkQuorum: true,
    maxEntriesPerMsg: 512,
    maxBytesPerMsg: 1 << 20,
    maxInflightMsgs: 64,
    maxUncommittedBytes: 64 << 20,
    maxCommittedBytesPerReady: 4 << 20,
    maxPendingReads: 100_000,
    snapshotChunkBytes: 1 << 20,
    maxEntryBytes: 1 << 20,
  };
}

/** validateRaftConfig throws with a message naming the bad field and what is accepted. */
export function validateRaftConfig(c: RaftConfig): void {
  const positive: Array<keyof RaftConfig> = [
    'electionTicks', 'heartbeatTicks', 'maxEntriesPerMsg', 'maxBytesPerMsg', 'maxInflightMsgs',
    'maxUncommittedBytes', 'maxCommittedBytesPerReady', 'maxPendingReads', 'snapshotChunkBytes', 'maxEntryBytes',
  ];
  for (const key of positive) {
    const v = c[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
      throw new Error(`raft config: ${key} must be a positive integer, got ${String(v)}`);
    }
  }
  if (c.heartbeatTicks >= c.electionTicks) {
    throw new Error(`raft config: heartbeatTicks (${c.heartbeatTicks}) must be below electionTicks (${c.electionTicks})`);
  }
  if (c.voters.length === 0) throw new Error('raft config: voters must name at least one node');
  if (new Set(c.voters).size !== c.voters.length) throw new Error(`raft config: voters has duplicates: ${c.voters.join(',')}`);
}

import { emptyClientStats, type ClientStats } from './lockClient.js';
import { emptyLockStats, type LockStats } from './lockChecker.js';

/** FaultStats counts injected faults by kind. */
export interface FaultStats {
  lost: number;
  duplicated: number;
  cutDrops: number;
  linkFullDrops: number;
  partitions: number;
  crashes: number;
  /** Crashes of newly elected leaders (included in crashes). */
  leaderCrashes: number;
  restarts: number;
  pauses: number;
  /** Pauses of the leader past an election timeout and the longest TTL (included in pauses). */
  leaderPauses: number;
  backlogDrops: number;
  transfers: number;
  /** Membership changes the leader accepted, and those it refused (a change in progress, a learner behind...). */
  memberChanges: number;
  memberChangesRefused: number;
  /** Removed nodes wiped and started again under a new identity, to be added back. */
  rejoins: number;
  /** Accepted removals of the leader itself. */
  leaderRemovals: number;
}

/** SimStats is everything a run counted; all of it is deterministic for a seed. */
export interface SimStats {
  nodes: number;
  virtualTimeMs: number;
  events: number;
  faults: FaultStats;
  elections: number;
  leaderChanges: number;
  messagesSent: number;
  messagesDelivered: number;
  snapshotsSent: number;
  snapshotChunksSent: number;
  snapshotsInstalled: number;
  /** Final snapshot chunks delivered to a running node (a transfer completed on the wire). */
  snapshotsReceived: number;
  compactions: number;
  /** Compactions the core declined because a snapshot received from the leader was pending. */
  compactionsDeferred: number;
  /** Compactions over entries of a Ready the core rewrote (a new leader's truncation) before the shell acknowledged it. */
  compactionsOverRewrite: number;
  /** Proposals appended by the cores (clients' commands and lease expiries), and refused. */
  proposals: number;
  proposalsRefused: number;
  /** Proposals a node could not append and forwarded to the leader its core named. */
  forwardedProposals: number;
  /** ReadIndex rounds (one per keepalive) registered, served, and dropped on leadership loss. */
  readsIssued: number;
  readsServed: number;
  readsFailed: number;
  lock: LockStats;
  clients: ClientStats;
  /** Virtual time from healing to convergence, -1 when the run did not converge. */
  convergeMs: number;
}

export function emptyFaultStats(): FaultStats {
  return {
    lost: 0, duplicated: 0, cutDrops: 0, linkFullDrops: 0, partitions: 0,
    crashes: 0, leaderCrashes: 0, restarts: 0, pauses: 0, leaderPauses: 0, backlogDrops: 0, transfers: 0, memberChanges: 0, memberChangesRefused: 0, rejoins: 0, leaderRemovals: 0,
  };
}

export function emptyStats(nodes: number): SimStats {
  return {
    nodes, virtualTimeMs: 0, events: 0, faults: emptyFaultStats(), elections: 0, leaderChanges: 0,
    messagesSent: 0, messagesDelivered: 0, snapshotsSent: 0, snapshotChunksSent: 0, snapshotsInstalled: 0, snapshotsReceived: 0,
    compactions: 0, compactionsDeferred: 0, compactionsOverRewrite: 0, proposals: 0, proposalsRefused: 0, forwardedProposals: 0,
    readsIssued: 0, readsServed: 0, readsFailed: 0, lock: emptyLockStats(), clients: emptyClientStats(), convergeMs: -1,
  };
}

/**
 * NodeObserver is how the node's shell reports what it sees to whoever counts
 * it (the Prometheus metrics in src/observability). The node only calls these
 * hooks: it never imports a metrics library, and every hook is O(1) with no
 * allocation so the Ready loop stays cheap. Gauges (role, term, indexes, lock
 * counts) are read on scrape through the node's getters instead.
 */
export interface NodeObserver {
  /** proposalFinished: one of this leader's proposals was applied (`committed`) or lost with its leadership (`lost`), `seconds` after propose. */
  proposalFinished(outcome: 'committed' | 'lost', seconds: number): void;
  /** proposalRefused: a proposal was refused before reaching the log (not the leader, too many in flight, transferring). */
  proposalRefused(): void;
  /** storageSynced: one synced write of the data dir (a Ready's batch or a snapshot) took `seconds`. */
  storageSynced(seconds: number): void;
  /** leaderChanged: this node learned of a new leader (or of having none). */
  leaderChanged(): void;
  /** peerRoundTrip: a heartbeat to `peer` was answered `seconds` after it left (leader only). */
  peerRoundTrip(peer: string, seconds: number): void;
  /** leaseExpired: an expiry took effect in the state machine (counted on every node that applies it). */
  leaseExpired(): void;
  /** keepAlive: the leader accepted a keepalive for a live lease. */
  keepAlive(): void;
}

/** NO_OBSERVER ignores everything: a node without an HTTP address, and unit tests. */
export const NO_OBSERVER: NodeObserver = Object.freeze({
  proposalFinished: () => undefined,
  proposalRefused: () => undefined,
  storageSynced: () => undefined,
  leaderChanged: () => undefined,
  peerRoundTrip: () => undefined,
  leaseExpired: () => undefined,
  keepAlive: () => undefined,
});

import type { NodeInspection } from '../node/raftNode.js';

/**
 * statusView turns a node's inspection into the JSON of /status.json, the
 * data of the status page. On the leader it is the cluster's view: every
 * member's role, the index the leader knows it holds and its lag. On a
 * follower it is that follower's own view (roles of the others unknown); the
 * HTTP server prefers to fetch the leader's view and falls back to this one.
 * Lease ids and tokens are decimal strings, as on the gRPC API.
 */

/** LOCKS_SHOWN bounds the locks in one view; HOLDERS_SHOWN / WAITERS_SHOWN bound each lock's lists. */
export const LOCKS_SHOWN = 200;
export const HOLDERS_SHOWN = 20;
export const WAITERS_SHOWN = 20;

export interface MemberView {
  readonly id: string;
  readonly clientAddress: string;
  readonly peerAddress: string;
  readonly httpAddress: string | null;
  /** role: as the viewing node knows it; 'unknown' for other members in a follower's own view. */
  readonly role: string;
  /** matchIndex: the highest index the leader knows this member holds (null outside the leader's view). */
  readonly matchIndex: number | null;
  /** lagEntries: the leader's last index minus matchIndex (null outside the leader's view). */
  readonly lagEntries: number | null;
  /** replication: the leader's replication state for the member (probe, replicate, snapshot), or null. */
  readonly replication: string | null;
  /**
   * connected: whether the viewing node's link to this member is up (null for
   * itself). In a follower's own view, false may only mean idle: followers
   * rarely talk to each other. The leader's links carry heartbeats, so there
   * false means unreachable.
   */
  readonly connected: boolean | null;
}

export interface LockView {
  readonly name: string;
  readonly mode: string;
  readonly holders: ReadonlyArray<{ readonly leaseId: string; readonly token: string; readonly mode: string }>;
  readonly holdersTotal: number;
  readonly waiters: ReadonlyArray<{ readonly leaseId: string; readonly mode: string }>;
  readonly waitersTotal: number;
}

export interface StatusView {
  readonly clusterId: string;
  /** node: the member whose view this is. */
  readonly node: string;
  /** view: 'leader' when this is the leader's view of the cluster, 'local' for a follower's own view. */
  readonly view: 'leader' | 'local';
  /** servedBy: the member that answered the HTTP request (differs from `node` when a follower relays the leader's view). */
  readonly servedBy: string;
  /** note: why a follower shows its own view (no leader known, or the leader's page did not answer). */
  readonly note: string | null;
  readonly generatedAt: string;
  readonly leader: string | null;
  readonly term: number;
  readonly role: string;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly snapshotIndex: number;
  readonly lastIndex: number;
  readonly members: readonly MemberView[];
  readonly counts: { readonly leases: number; readonly locks: number; readonly holders: number; readonly waiters: number };
  readonly locks: readonly LockView[];
}

/**
 * buildStatusView is a pure function of the inspection, the members' HTTP
 * addresses and the transport's link states. The members are the node's
 * current member list (its status), so the page follows membership changes.
 */
export function buildStatusView(
  clusterId: string,
  inspection: NodeInspection,
  httpAddresses: ReadonlyMap<string, string>,
  connected: ReadonlyMap<string, boolean>,
  nowIso: string,
): StatusView {
  const s = inspection.status;
  const isLeader = s.role === 'leader';
  return {
    clusterId,
    node: s.id,
    view: isLeader ? 'leader' : 'local',
    servedBy: s.id,
    note: null,
    generatedAt: nowIso,
    leader: s.leader,
    term: s.term,
    role: s.role,
    commitIndex: s.commitIndex,
    appliedIndex: s.appliedIndex,
    snapshotIndex: s.snapshotIndex,
    lastIndex: inspection.lastIndex,
    members: s.members.map((m) => {
      const pr = inspection.progress.get(m.id);
      const role = m.id === s.id ? s.role : m.id === s.leader ? 'leader' : isLeader && pr !== undefined ? 'follower' : 'unknown';
      return {
        id: m.id,
        clientAddress: m.clientAddress,
        peerAddress: m.peerAddress,
        httpAddress: httpAddresses.get(m.id) ?? null,
        role,
        matchIndex: pr?.match ?? null,
        lagEntries: pr === undefined ? null : Math.max(0, inspection.lastIndex - pr.match),
        replication: pr === undefined || m.id === s.id ? null : pr.state,
        connected: m.id === s.id ? null : (connected.get(m.id) ?? false),
      };
    }),
    counts: inspection.counts,
    locks: inspection.locks.map((l) => ({
      name: l.name,
      mode: l.holders[0]?.mode ?? l.waiters[0]?.mode ?? 'exclusive',
      holders: l.holders.slice(0, HOLDERS_SHOWN).map((h) => ({ leaseId: String(h.leaseId), token: String(h.token), mode: h.mode })),
      holdersTotal: l.holders.length,
      waiters: l.waiters.slice(0, WAITERS_SHOWN).map((w) => ({ leaseId: String(w.leaseId), mode: w.mode })),
      waitersTotal: l.waiters.length,
    })),
  };
}

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { LockCounts } from '../lock/stateMachine.js';
import type { NodeStatus } from '../node/nodeApi.js';
import type { NodeObserver } from '../node/nodeObserver.js';

/**
 * NodeMetrics is one node's Prometheus registry. Events (proposals, synced
 * writes, keepalives, requests) are counted as they happen through the
 * NodeObserver hooks and the server's request counter, with label children
 * resolved once and cached so an observation is an increment, not a lookup
 * that builds a key. Levels (role, term, indexes, lock table sizes, peer
 * queues) are read from the node when Prometheus scrapes.
 */

/** MetricsSource is what the metrics read from the node at scrape time. */
export interface MetricsSource {
  status(): NodeStatus;
  lockCounts(): LockCounts;
  /** peerStats: per peer, the transport link's queue and counters (cumulative since start). */
  peerStats(): ReadonlyMap<string, { readonly queued: number; readonly connected: boolean; readonly sent: number; readonly dropped: number }>;
}

const ROLES = ['follower', 'pre-candidate', 'candidate', 'leader'] as const;
/** Buckets from 100 µs to 10 s: a synced write is milliseconds on a good disk, seconds on a sick one. */
const LATENCY_BUCKETS_SECONDS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** GRPC_CODE_NAMES: status code number -> name, as Prometheus users of gRPC expect ("OK", "UNAVAILABLE"). */
const GRPC_CODE_NAMES = ['OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS', 'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED'];
/** MAX_METHODS bounds the method label: the services define about twenty; anything beyond is counted as "other". */
const MAX_METHODS = 64;

type CounterChild = ReturnType<Counter<string>['labels']>;
type HistogramChild = ReturnType<Histogram<string>['labels']>;
interface MethodChildren {
  readonly label: string;
  readonly children: Array<CounterChild | undefined>;
}

export class NodeMetrics implements NodeObserver {
  readonly registry = new Registry();
  private readonly proposalsCommitted: CounterChild;
  private readonly proposalsLost: CounterChild;
  private readonly proposalsRefused: CounterChild;
  private readonly proposalSeconds: Histogram<string>;
  private readonly fsyncSeconds: Histogram<string>;
  private readonly leaderChanges: Counter<string>;
  private readonly peerRoundTripSeconds: Histogram<string>;
  private readonly peerRoundTripChildren = new Map<string, HistogramChild>();
  private readonly expiries: Counter<string>;
  private readonly keepAlives: Counter<string>;
  private readonly requests: Counter<string>;
  /** requestChildren: per method, one child per status code, created on first use (at most MAX_METHODS methods). */
  private readonly requestChildren = new Map<string, MethodChildren>();
  private readonly otherMethod: MethodChildren = { label: 'other', children: [] };

  constructor(source: MetricsSource, labels: { readonly clusterId: string; readonly nodeId: string }) {
    const r = this.registry;
    r.setDefaultLabels({ cluster: labels.clusterId, node: labels.nodeId });
    collectDefaultMetrics({ register: r });

    new Gauge({
      name: 'raftlock_role', help: 'The Raft role of this node: 1 for the current role, 0 for the others.', labelNames: ['role'], registers: [r],
      collect() {
        const role = source.status().role;
        for (const name of ROLES) this.set({ role: name }, name === role ? 1 : 0);
      },
    });
    const status = (name: string, help: string, read: (s: NodeStatus) => number): void => {
      new Gauge({ name, help, registers: [r], collect() { this.set(read(source.status())); } });
    };
    status('raftlock_is_leader', 'Whether this node is the leader (1) or not (0).', (s) => (s.role === 'leader' ? 1 : 0));
    status('raftlock_term', 'The current Raft term of this node.', (s) => s.term);
    status('raftlock_commit_index', 'The highest log index this node knows to be committed.', (s) => s.commitIndex);
    status('raftlock_applied_index', 'The highest log index applied to this node\'s lock state machine.', (s) => s.appliedIndex);
    status('raftlock_snapshot_index', 'The log index of this node\'s latest snapshot.', (s) => s.snapshotIndex);
    status('raftlock_members', 'The number of members in this node\'s view of the cluster.', (s) => s.members.length);

    const counts = (name: string, help: string, read: (c: LockCounts) => number): void => {
      new Gauge({ name, help, registers: [r], collect() { this.set(read(source.lockCounts())); } });
    };
    counts('raftlock_leases', 'Live leases in the state machine as applied here.', (c) => c.leases);
    counts('raftlock_locks', 'Locks with a holder or a waiter, as applied here.', (c) => c.locks);
    counts('raftlock_lock_holders', 'Lock holds (a shared lock counts each holder), as applied here.', (c) => c.holders);
    counts('raftlock_lock_waiters', 'Queued waits for locks, as applied here.', (c) => c.waiters);

    new Gauge({
      name: 'raftlock_peer_send_queue_messages', help: 'Messages waiting in the send queue to each peer.', labelNames: ['peer'], registers: [r],
      collect() { for (const [peer, s] of source.peerStats()) this.set({ peer }, s.queued); },
    });
    new Gauge({
      name: 'raftlock_peer_connected', help: 'Whether the stream to each peer is open and accepted (1) or not (0).', labelNames: ['peer'], registers: [r],
      collect() { for (const [peer, s] of source.peerStats()) this.set({ peer }, s.connected ? 1 : 0); },
    });
    cumulative(r, 'raftlock_peer_messages_sent_total', 'Raft messages handed to the stream to each peer.', source, (s) => s.sent);
    cumulative(r, 'raftlock_peer_messages_dropped_total', 'Raft messages to each peer dropped (queue overflow, link down); Raft resends.', source, (s) => s.dropped);

    const proposals = new Counter({
      name: 'raftlock_proposals_total', labelNames: ['outcome'], registers: [r],
      help: 'Commands this node proposed as leader, by outcome: committed (applied), lost (leadership lost first: outcome unknown to the client), refused (never reached the log).',
    });
    this.proposalsCommitted = proposals.labels('committed');
    this.proposalsLost = proposals.labels('lost');
    this.proposalsRefused = proposals.labels('refused');
    this.proposalSeconds = new Histogram({
      name: 'raftlock_proposal_duration_seconds', help: 'From proposing a command to applying it, on the leader (committed proposals only).',
      buckets: LATENCY_BUCKETS_SECONDS, registers: [r],
    });
    this.fsyncSeconds = new Histogram({
      name: 'raftlock_storage_fsync_duration_seconds', help: 'One synced write of the data dir (a Ready\'s LevelDB batch, or a snapshot).',
      buckets: LATENCY_BUCKETS_SECONDS, registers: [r],
    });
    this.leaderChanges = new Counter({ name: 'raftlock_leader_changes_total', help: 'Times this node saw the leader change (including to none).', registers: [r] });
    this.peerRoundTripSeconds = new Histogram({
      name: 'raftlock_peer_round_trip_seconds', help: 'Heartbeat round trips from the leader to each follower, measured on the leader.',
      labelNames: ['peer'], buckets: LATENCY_BUCKETS_SECONDS, registers: [r],
    });
    this.expiries = new Counter({ name: 'raftlock_lease_expiries_total', help: 'Lease expiries applied by this node\'s state machine.', registers: [r] });
    this.keepAlives = new Counter({ name: 'raftlock_keepalives_total', help: 'Keepalives accepted by this node as leader (rate() gives keepalives/s).', registers: [r] });
    this.requests = new Counter({
      name: 'raftlock_grpc_requests_total', help: 'Client API calls answered by this node, by method and status code.', labelNames: ['method', 'code'], registers: [r],
    });
  }

  // ---------------------------------------------------------------- NodeObserver

  proposalFinished(outcome: 'committed' | 'lost', seconds: number): void {
    if (outcome === 'committed') {
      this.proposalsCommitted.inc();
      this.proposalSeconds.observe(seconds);
    } else {
      this.proposalsLost.inc();
    }
  }

  proposalRefused(): void {
    this.proposalsRefused.inc();
  }

  storageSynced(seconds: number): void {
    this.fsyncSeconds.observe(seconds);
  }

  leaderChanged(): void {
    this.leaderChanges.inc();
  }

  peerRoundTrip(peer: string, seconds: number): void {
    let child = this.peerRoundTripChildren.get(peer);
    if (child === undefined) {
      child = this.peerRoundTripSeconds.labels(peer);
      this.peerRoundTripChildren.set(peer, child);
    }
    child.observe(seconds);
  }

  leaseExpired(): void {
    this.expiries.inc();
  }

  keepAlive(): void {
    this.keepAlives.inc();
  }

  // ---------------------------------------------------------------- requests

  /** countRequest is the server's RequestCounter: one increment of a cached child per call. */
  readonly countRequest = (method: string, code: number): void => {
    const byMethod = this.requestChildren.get(method) ?? this.methodChildren(method);
    let child = byMethod.children[code];
    if (child === undefined) {
      child = this.requests.labels(byMethod.label, GRPC_CODE_NAMES[code] ?? String(code));
      byMethod.children[code] = child;
    }
    child.inc();
  };

  /** methodChildren makes the cache entry of a method; past MAX_METHODS every new method shares "other". */
  private methodChildren(method: string): MethodChildren {
    if (this.requestChildren.size >= MAX_METHODS) return this.otherMethod;
    const entry: MethodChildren = { label: method, children: [] };
    this.requestChildren.set(method, entry);
    return entry;
  }

  /** render is the text exposition for a scrape of /metrics. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

/**
 * cumulative exports a transport counter (cumulative since the node started)
 * as a Prometheus counter: each scrape adds what grew since the last one.
 */
function cumulative(
  registry: Registry,
  name: string,
  help: string,
  source: MetricsSource,
  read: (s: { readonly sent: number; readonly dropped: number }) => number,
): void {
  const last = new Map<string, number>();
  new Counter({
    name, help, labelNames: ['peer'], registers: [registry],
    collect() {
      for (const [peer, s] of source.peerStats()) {
        const now = read(s);
        const grown = now - (last.get(peer) ?? 0);
        last.set(peer, now);
        // inc by 0 still exports the series, so a peer with nothing dropped shows 0 rather than nothing.
        this.inc({ peer }, Math.max(0, grown));
      }
    },
  });
}

import { randomInt } from 'node:crypto';
import type { Logger } from 'pino';
import { encodeCommand } from '../lock/commandCodec.js';
import type { Command } from '../lock/commands.js';
import { LeaseClock } from '../lock/leaseClock.js';
import type { LockLimits } from '../lock/limits.js';
import type { ApplyResult } from '../lock/results.js';
import type { LockStateMachine } from '../lock/stateMachine.js';
import { encodeAuthCommand } from '../auth/authCodec.js';
import type { AuthCommand, AuthResult } from '../auth/authCommands.js';
import type { AuthState } from '../auth/authState.js';
import { ReplicatedState, type Applied } from './replicatedState.js';
import { defaultRaftConfig } from '../raft/config.js';
import { SeededRng } from '../raft/prng.js';
import { Raft } from '../raft/raft.js';
import { decodeConfChange, type Membership } from '../raft/membership.js';
import type { Entry, Message, Ready } from '../raft/types.js';
import { decodeMemberContext, encodeMemberContext, type MemberAddresses } from './memberContext.js';
import { recordRemoval } from './removalRecord.js';
import type { LockCounts, LockInfo } from '../lock/stateMachine.js';
import { WarnLimiter } from '../transport/warnLimiter.js';
import { NO_OBSERVER, type NodeObserver } from './nodeObserver.js';
import type { RaftStorage } from '../storage/raftStorage.js';
import type { ClusterConfig, NodeSpec } from './clusterConfig.js';
import {
  MembershipRefusedError,
  NodeStoppedError,
  NotLeaderError,
  type MemberInfo,
  type MembershipChange,
  ProposalOutcomeUnknownError,
  ProposalRefusedError,
  WaitCancelledError,
  type NodeApi,
  type NodeSnapshot,
  type NodeStatus,
} from './nodeApi.js';

/** PeerSender is the transport as the node sees it: fire and forget. */
export interface PeerSender {
  send(messages: readonly Message[]): void;
  /** setPeer adds (or moves) the link to a member; removePeer drops the link to one that left. */
  setPeer(id: string, peerAddress: string): void;
  removePeer(id: string): void;
}

export interface RaftNodeOptions {
  readonly config: ClusterConfig;
  readonly self: NodeSpec;
  readonly storage: RaftStorage;
  readonly peers: PeerSender;
  readonly logger: Logger;
  /** Monotonic milliseconds (performance.now in production). */
  readonly nowMs?: () => number;
  /** Called when the node cannot go on safely (a failed fsync): the process must exit. */
  readonly onFatal: (err: Error) => void;
  /** observer counts what the node does (metrics); nothing by default. */
  readonly observer?: NodeObserver;
}

/**
 * NodeInspection is the node's view for the status page: its Raft status, the
 * leader's view of each follower's replication (empty on a follower), the lock
 * table's sizes and a bounded page of locks, as applied here (not a
 * linearizable read: a page may lag the leader by a few entries).
 */
export interface NodeInspection {
  readonly status: NodeStatus;
  /** progress: per member, the index the leader knows it has (match) and its replication state; leader only. */
  readonly progress: ReadonlyMap<string, { readonly match: number; readonly state: string }>;
  readonly lastIndex: number;
  readonly counts: LockCounts;
  readonly locks: readonly LockInfo[];
}

interface PendingProposal {
  readonly term: number;
  /** startMs: monotonic time of propose(), for the latency histogram. */
  readonly startMs: number;
  readonly resolve: (r: Applied) => void;
  readonly reject: (e: Error) => void;
}

interface PendingRead {
  readonly kind: 'read';
  readonly run: () => void;
  readonly reject: (e: Error) => void;
}

interface PendingKeepAlive {
  readonly kind: 'keepalive';
  readonly ttlMs: number;
  readonly resolve: (ttlMs: number) => void;
  readonly reject: (e: Error) => void;
}

interface Waiter {
  readonly resolve: (token: number) => void;
  readonly reject: (e: Error) => void;
}

/** Bounds on what one node keeps in memory for clients. */
const MAX_PENDING_PROPOSALS = 100_000;
const MAX_EXPIRIES_PER_TICK = 1_000;
/** At most this many links to nodes no configuration names (learnPeer): more than a cluster's worth of members added ahead of this node's log. */
const MAX_LEARNED_PEERS = 8;
/** Calls parked while no leader is known; beyond this they are answered at once (UNAVAILABLE). */
const MAX_LEADER_WAITERS = 10_000;
/** A synced write slower than this is logged: a healthy disk syncs in milliseconds. */
const SLOW_SYNC_MS = 1_000;
/** A node that knows no leader for this many election timeouts (the longest) says so. */
const NO_LEADER_WARN_TIMEOUTS = 3;
/** At most one warning of a kind (per peer) in this interval. */
const WARN_INTERVAL_MS = 10_000;

interface LeaderWaiter {
  readonly notId: string | null;
  readonly done: () => void;
}

/**
 * RaftNode is the shell around the pure core: one loop that ticks, steps
 * messages, and turns each Ready into persist -> send -> apply -> advance. It
 * hosts the lock state machine and, while leader, the lease clock, and offers
 * the NodeApi the client-facing server uses.
 *
 * Invariant: at most one Ready is being handled at a time; messages arriving
 * meanwhile are stepped into the core and show up in the next Ready.
 */
export class RaftNode implements NodeApi {
  readonly id: string;
  private readonly cfg: ClusterConfig;
  private readonly storage: RaftStorage;
  private readonly peers: PeerSender;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly onFatal: (err: Error) => void;
  private readonly limits: LockLimits;

  private raft: Raft | null = null;
  private state: ReplicatedState;
  private readonly clock = new LeaseClock();
  private leaderTerm = 0;

  private tickTimer: NodeJS.Timeout | null = null;
  private loopScheduled = false;
  private looping = false;
  private loopDone: Promise<void> = Promise.resolve();
  private stopped = false;
  private lastSnapshotIndex = 0;

  private readonly proposals = new Map<number, PendingProposal>();
  private readonly pendingReads = new Map<number, PendingRead | PendingKeepAlive>();
  /** Reads confirmed by a quorum round, waiting for their index to be applied (indexes non-decreasing). */
  private readonly confirmedReads: Array<{ index: number; run: () => void }> = [];
  /** Calls waiting for a grant, by (lock, lease): a client's retry may wait beside its own earlier, not yet cancelled call. */
  private readonly waiters = new Map<string, Set<Waiter>>();
  private readonly leaderWaiters = new Set<LeaderWaiter>();
  /** Membership changes proposed here, by log index, answered when applied. */
  private readonly confProposals = new Map<number, { term: number; resolve: () => void; reject: (e: Error) => void }>();
  private nextCtx = 1;
  private readonly observer: NodeObserver;
  private readonly warnLimiter: WarnLimiter;
  /** knownLeader: the leader of the last soft state, to count leader changes. */
  private knownLeader: string | null = null;
  /** transferring: this leader is handing over on shutdown, so stepping down is expected. */
  private transferring = false;
  /**
   * heartbeatSent: per peer, the read round and send time of the oldest
   * unanswered heartbeat; its answer (same round) gives the round-trip time.
   * One slot per peer: a lost heartbeat's slot is replaced after maxRoundTripMs.
   */
  private readonly heartbeatSent = new Map<string, { round: number; sentMs: number }>();
  private readonly maxRoundTripMs: number;
  /** leaderlessSinceMs: when this node last stopped knowing a leader (null while it knows one). */
  private leaderlessSinceMs: number | null = null;

  constructor(opts: RaftNodeOptions) {
    this.id = opts.self.id;
    this.cfg = opts.config;
    this.storage = opts.storage;
    this.peers = opts.peers;
    this.log = opts.logger;
    this.now = opts.nowMs ?? (() => performance.now());
    this.onFatal = opts.onFatal;
    this.limits = opts.config.limits;
    this.state = ReplicatedState.empty(this.limits, this.cfg.auth.limits);
    this.observer = opts.observer ?? NO_OBSERVER;
    this.warnLimiter = new WarnLimiter(WARN_INTERVAL_MS, this.now);
    this.maxRoundTripMs = opts.config.timing.electionTicks * opts.config.timing.tickMs;
  }

  /** sm: the lock state machine as applied on this node. */
  private get sm(): LockStateMachine {
    return this.state.lock;
  }

  /** start opens storage, rebuilds the core and the state machine, and starts ticking. */
  async start(): Promise<void> {
    const restored = await this.storage.open({ clusterId: this.cfg.clusterId, nodeId: this.id });
    // The initial configuration: members marked "join" come in later through the log.
    const voters = this.cfg.nodes.filter((n) => n.join !== true).map((n) => n.id);
    const { timing, snapshot } = this.cfg;
    const raftConfig = {
      ...defaultRaftConfig(this.id, voters),
      joining: this.cfg.nodes.find((n) => n.id === this.id)?.join === true,
      electionTicks: timing.electionTicks,
      heartbeatTicks: timing.heartbeatTicks,
      snapshotChunkBytes: snapshot.chunkBytes,
    };
    this.raft = new Raft(raftConfig, new SeededRng(randomInt(2 ** 31)), restored);
    if (restored.snapshot !== null) {
      this.restoreStateMachine(restored.snapshot.data);
      this.lastSnapshotIndex = restored.snapshot.meta.index;
    }
    this.log.info({ term: restored.hardState.term, commit: restored.hardState.commit, snapshot: this.lastSnapshotIndex, entries: restored.entries.length }, 'node started from its data dir');
    this.followMembership(this.raft.membership());
    if (this.raft.status().joinPending) this.log.warn('joining: this node waits to be added by the leader (raftlock member add); it neither campaigns nor votes until then');
    this.tickTimer = setInterval(() => this.tick(), timing.tickMs);
    this.tickTimer.unref();
    this.schedule();
  }

  /**
   * stop shuts down gracefully: a leader first hands leadership to a caught-up
   * follower (so clients see one quick election instead of a timeout), then the
   * loop drains and pending requests fail with NodeStoppedError.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    const raft = this.core();
    if (raft.currentRole === 'leader' && raft.membership().voters.length > 1) await this.transferAway();
    this.stopped = true;
    if (this.tickTimer !== null) clearInterval(this.tickTimer);
    await this.loopDone;
    this.failAll(new NodeStoppedError());
  }

  /** receive steps a message from a peer into the core. */
  receive(m: Message): void {
    if (this.stopped || this.raft === null) return;
    if (m.type === 'heartbeat-resp') this.heartbeatAnswered(m.from, m.readRound);
    this.raft.step(m);
    this.schedule();
  }

  // ------------------------------------------------------------- NodeApi

  leader(): { id: string; clientAddress: string } | null {
    const id = this.raft?.currentLeader ?? null;
    if (id === null) return null;
    const where = this.addressOf(id);
    return where === null ? null : { id, clientAddress: where.clientAddress };
  }

  /**
   * addressOf finds a member's addresses: from its add-learner entry (members
   * added at run time) or else from the cluster config file.
   */
  private addressOf(id: string): MemberAddresses | null {
    const context = this.raft?.membership().contexts.find((c) => c.id === id);
    const fromLog = context === undefined ? null : decodeMemberContext(context.context);
    if (fromLog !== null) return fromLog;
    const spec = this.cfg.nodes.find((n) => n.id === id);
    return spec === undefined ? null : { clientAddress: spec.clientAddress, peerAddress: spec.peerAddress };
  }

  members(): MemberInfo[] {
    const raft = this.core();
    const m = raft.membership();
    const progress = raft.status().progress;
    const info = (id: string, role: 'voter' | 'learner'): MemberInfo => {
      const where = this.addressOf(id);
      return {
        id, role,
        clientAddress: where?.clientAddress ?? '', peerAddress: where?.peerAddress ?? '',
        matchIndex: progress.get(id)?.match ?? null,
      };
    };
    return [...m.voters.map((id) => info(id, 'voter')), ...m.learners.map((id) => info(id, 'learner'))];
  }

  changeMembership(change: MembershipChange): Promise<{ index: number }> {
    if (this.stopped) return Promise.reject(new NodeStoppedError());
    const raft = this.core();
    if (raft.currentRole !== 'leader') return Promise.reject(this.notLeader());
    const context = change.type === 'add-learner'
      ? encodeMemberContext({ clientAddress: change.clientAddress, peerAddress: change.peerAddress })
      : new Uint8Array(0);
    const r = raft.proposeConfChange({ type: change.type, node: change.node, context });
    if (!r.ok) {
      if (r.reason === 'not-leader') return Promise.reject(this.notLeader());
      return Promise.reject(new MembershipRefusedError(r.reason, change.node));
    }
    this.log.warn({ change: change.type, member: change.node, index: r.index }, `membership change proposed: ${change.type} ${change.node}`);
    this.schedule();
    return new Promise((resolve, reject) => {
      this.confProposals.set(r.index, { term: r.term, resolve: () => resolve({ index: r.index }), reject });
    });
  }

  async transferLeadership(to: string): Promise<void> {
    if (this.stopped) throw new NodeStoppedError();
    const raft = this.core();
    if (raft.currentRole !== 'leader') throw this.notLeader();
    if (to === this.id) return;
    if (!raft.membership().voters.includes(to)) throw new MembershipRefusedError('not-voter', to);
    if (!raft.transferLeadership(to)) throw new ProposalRefusedError(`leadership cannot go to ${to} now; retry`);
    this.schedule();
    const deadlineMs = this.now() + 2 * this.cfg.timing.electionTicks * this.cfg.timing.tickMs;
    while (raft.currentRole === 'leader' && this.now() < deadlineMs && !this.stopped) {
      await new Promise((r) => setTimeout(r, this.cfg.timing.tickMs));
    }
    if (raft.currentRole === 'leader') throw new ProposalRefusedError(`${to} did not take over within two election timeouts (is it reachable and caught up?); this node still leads`);
  }

  /**
   * learnPeer decides, for the transport, whether to link back to `id` at
   * `address`: a node of this cluster that streamed to us although neither
   * the config file nor the configuration our log has reached names it.
   * That is how a joiner (or a member that was down) hears a leader added at
   * run time: Raft has a server accept a leader from outside its
   * configuration (thesis 4.1). Declined: a member a configuration entry
   * this node applied removed (it must not come back through its own
   * stream), and more than MAX_LEARNED_PEERS such links at once (a bound on
   * what unknown senders can make us hold). A learned link is never dropped
   * by followMembership for being absent from a configuration, only by a
   * configuration entry that removes that member once it had named it, so
   * it cannot flap while this node's log is still behind the leader.
   */
  learnPeer(id: string, address: string): boolean {
    if (this.stopped || id === this.id) return false;
    if (this.removedPeers.has(id)) {
      this.log.warn({ peer: id, address }, `declined a peer stream from ${id}: a configuration entry this node applied removed it`);
      return false;
    }
    if (this.learnedPeers.size >= MAX_LEARNED_PEERS) {
      this.log.warn({ peer: id, address, learned: [...this.learnedPeers] }, `declined a peer stream from ${id}: already linked to ${MAX_LEARNED_PEERS} nodes no configuration names`);
      return false;
    }
    this.learnedPeers.add(id);
    return true;
  }

  /** followMembership keeps the transport's links in step with the configuration in force. */
  private followMembership(m: Membership): void {
    for (const id of [...m.voters, ...m.learners]) {
      // Named by the configuration now: its link is the configuration's to keep or drop.
      this.learnedPeers.delete(id);
      this.removedPeers.delete(id);
      const where = this.addressOf(id);
      if (where !== null) this.peers.setPeer(id, where.peerAddress);
      else if (id !== this.id) this.log.warn({ member: id }, `no address known for member ${id}: it was added without one; it cannot be reached until re-added`);
    }
    // Members of the config file keep their links (their address is known anyway); others that left lose theirs.
    const current = new Set([...m.voters, ...m.learners, ...this.cfg.nodes.map((n) => n.id)]);
    for (const id of this.knownPeers) {
      if (current.has(id)) continue;
      this.peers.removePeer(id);
      this.removedPeers.add(id);
    }
    this.knownPeers = current;
  }

  private knownPeers = new Set<string>();
  /** learnedPeers: nodes linked through learnPeer that no configuration has named yet (at most MAX_LEARNED_PEERS). */
  private readonly learnedPeers = new Set<string>();
  /** removedPeers: members a configuration entry applied here removed; learnPeer declines them. Bounded by the members ever removed. */
  private readonly removedPeers = new Set<string>();

  isLeader(): boolean {
    return this.raft?.currentRole === 'leader';
  }

  awaitLeader(notId: string | null, maxWaitMs: number): Promise<void> {
    const known = this.raft?.currentLeader ?? null;
    if (this.stopped || (known !== null && known !== notId) || this.leaderWaiters.size >= MAX_LEADER_WAITERS) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => waiter.done(), Math.max(0, maxWaitMs));
      const waiter: LeaderWaiter = {
        notId,
        done: () => {
          clearTimeout(timer);
          this.leaderWaiters.delete(waiter);
          resolve();
        },
      };
      this.leaderWaiters.add(waiter);
    });
  }

  propose(command: Command): Promise<ApplyResult> {
    return this.proposeBytes(encodeCommand(command)).then((a) => {
      if (a.kind !== 'lock') throw new Error(`internal error: a lock command applied as ${a.kind}`);
      return a.applied;
    });
  }

  proposeAuth(command: AuthCommand): Promise<AuthResult> {
    return this.proposeBytes(encodeAuthCommand(command)).then((a) => {
      if (a.kind !== 'auth') throw new Error(`internal error: an auth command applied as ${a.kind}`);
      return a.result;
    });
  }

  appliedAuth(): AuthState {
    return this.state.auth;
  }

  leaseOwner(leaseId: number): string | null {
    return this.state.lock.leaseOwner(leaseId);
  }

  private proposeBytes(data: Uint8Array): Promise<Applied> {
    if (this.stopped) return Promise.reject(new NodeStoppedError());
    const raft = this.core();
    if (raft.currentRole !== 'leader') return this.refuse(this.notLeader());
    if (this.proposals.size >= MAX_PENDING_PROPOSALS) {
      return this.refuse(new ProposalRefusedError(`too many requests in flight (${MAX_PENDING_PROPOSALS}); retry with backoff`));
    }
    const startMs = this.now();
    const r = raft.propose(data);
    if (!r.ok) {
      if (r.reason === 'not-leader' || r.reason === 'transferring') return this.refuse(this.notLeader());
      return this.refuse(new ProposalRefusedError(`the leader refused the request (${r.reason}); retry with backoff`));
    }
    this.schedule();
    return new Promise<Applied>((resolve, reject) => {
      this.proposals.set(r.index, { term: r.term, startMs, resolve, reject });
    });
  }

  private refuse(err: Error): Promise<never> {
    this.observer.proposalRefused();
    return Promise.reject(err);
  }

  read<T>(query: (sm: LockStateMachine, auth: AuthState) => T): Promise<T> {
    if (this.stopped) return Promise.reject(new NodeStoppedError());
    const raft = this.core();
    if (raft.currentRole !== 'leader') return Promise.reject(this.notLeader());
    const ctx = this.nextCtx++;
    if (!raft.readIndex(ctx)) return Promise.reject(new ProposalRefusedError('too many reads in flight; retry with backoff'));
    this.schedule();
    return new Promise<T>((resolve, reject) => {
      const run = (): void => {
        try {
          resolve(query(this.state.lock, this.state.auth));
        } catch (err) {
          reject(err as Error);
        }
      };
      this.pendingReads.set(ctx, { kind: 'read', run, reject });
    });
  }

  snapshot(): Promise<NodeSnapshot> {
    return this.read(() => {
      const index = this.state.lastAppliedIndex;
      const term = this.core().termAt(index);
      // Invariant: the applied index is in the log, or is the index of the snapshot it was compacted into.
      if (term === undefined) throw new Error(`invariant: no term known for the applied index ${index}`);
      // The whole replicated state: locks and leases, and users, roles and token hashes when auth has any.
      return { clusterId: this.cfg.clusterId, index, term, data: this.state.snapshot() };
    });
  }

  keepAlive(leaseId: number): Promise<number> {
    if (this.stopped) return Promise.reject(new NodeStoppedError());
    const raft = this.core();
    if (raft.currentRole !== 'leader') return Promise.reject(this.notLeader());
    const outcome = this.clock.keepAlive(leaseId, this.now());
    switch (outcome.kind) {
      case 'not-leader':
        // Leader, but not yet committed an entry of its term: lease clocks start then.
        return Promise.reject(new NotLeaderError(null, null));
      case 'not-found':
      case 'expiring':
        return Promise.resolve(0);
      case 'accepted':
        this.observer.keepAlive();
        break;
    }
    const ctx = this.nextCtx++;
    if (!raft.readIndex(ctx)) return Promise.reject(new ProposalRefusedError('too many keepalives in flight; retry with backoff'));
    this.schedule();
    return new Promise<number>((resolve, reject) => {
      this.pendingReads.set(ctx, { kind: 'keepalive', ttlMs: outcome.ttlMs, resolve, reject });
    });
  }

  remainingMs(leaseId: number): number | null {
    const r = this.clock.timeToLive(leaseId, this.now());
    return r.kind === 'remaining' ? r.remainingMs : null;
  }

  waitForGrant(name: string, leaseId: number, signal: AbortSignal): Promise<number> {
    if (!this.isLeader()) return Promise.reject(this.notLeader());
    // The grant may already have happened (a release applied in the same batch as the
    // Acquire): look at the state first, then register, in one synchronous step.
    const lock = this.sm.getLock(name);
    const held = lock?.holders.find((h) => h.leaseId === leaseId);
    if (held !== undefined) return Promise.resolve(held.token);
    if (lock === null || !lock.waiters.some((w) => w.leaseId === leaseId)) {
      return Promise.reject(new WaitCancelledError(name, leaseId));
    }
    const key = waiterKey(name, leaseId);
    return new Promise<number>((resolve, reject) => {
      const waiter: Waiter = {
        resolve: (token) => { done(); resolve(token); },
        reject: (err) => { done(); reject(err); },
      };
      const onAbort = (): void => {
        this.removeWaiter(key, waiter);
        reject(signal.reason instanceof Error ? signal.reason : new Error('wait cancelled'));
      };
      const done = (): void => signal.removeEventListener('abort', onAbort);
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      let set = this.waiters.get(key);
      if (set === undefined) this.waiters.set(key, (set = new Set()));
      set.add(waiter);
    });
  }

  /** removeWaiter forgets one waiting call, never another call of the same (lock, lease). */
  private removeWaiter(key: string, waiter: Waiter): void {
    const set = this.waiters.get(key);
    if (set === undefined) return;
    set.delete(waiter);
    if (set.size === 0) this.waiters.delete(key);
  }

  /** takeWaiters removes and returns every call waiting on (lock, lease). */
  private takeWaiters(name: string, leaseId: number): Waiter[] {
    const key = waiterKey(name, leaseId);
    const set = this.waiters.get(key);
    if (set === undefined) return [];
    this.waiters.delete(key);
    return [...set];
  }

  /** wakeLeaderWaiters releases the calls parked for a leader other than the one they could not reach. */
  private wakeLeaderWaiters(leader: string): void {
    for (const w of this.leaderWaiters) if (w.notId !== leader) w.done();
  }

  /** logContext is merged into every log line: the term and role at the moment of logging. */
  logContext(): { term: number; role: string } | Record<string, never> {
    return this.raft === null ? {} : { term: this.raft.currentTerm, role: this.raft.currentRole };
  }

  status(): NodeStatus {
    const s = this.core().status();
    return {
      id: this.id,
      role: s.role,
      term: s.term,
      leader: s.leader,
      commitIndex: s.commit,
      appliedIndex: s.applied,
      snapshotIndex: s.snapshotIndex,
      members: this.members().map((m) => ({ id: m.id, clientAddress: m.clientAddress, peerAddress: m.peerAddress, role: m.role })),
    };
  }

  /** inspect is the status page's view of this node (see NodeInspection): O(locks x log locksLimit) to pick the first locks by name. */
  inspect(locksLimit: number): NodeInspection {
    const s = this.core().status();
    const progress = new Map<string, { match: number; state: string }>();
    for (const [id, pr] of s.progress) progress.set(id, { match: pr.match, state: pr.state });
    return { status: this.status(), progress, lastIndex: s.lastIndex, counts: this.sm.counts(), locks: this.sm.firstLocks(locksLimit) };
  }

  /** lockCounts: the lock table's sizes as applied here (read on every metrics scrape, O(1)). */
  lockCounts(): LockCounts {
    return this.sm.counts();
  }

  // ------------------------------------------------------------- the loop

  private tick(): void {
    if (this.stopped) return;
    const raft = this.core();
    raft.tick();
    this.watchLeader(raft);
    if (this.clock.isActive) {
      const due = this.clock.dueForExpiry(this.now(), this.leaderTerm, MAX_EXPIRIES_PER_TICK);
      for (const leaseId of due) {
        // The proposer's term rides in the command: an expiry only counts in the term that decided it.
        const r = raft.propose(encodeCommand({ type: 'expire-lease', leaseId, proposerTerm: this.leaderTerm }));
        if (!r.ok) this.clock.expiryFailed(leaseId);
      }
    }
    this.schedule();
  }

  private schedule(): void {
    if (this.loopScheduled || this.stopped) return;
    this.loopScheduled = true;
    setImmediate(() => {
      this.loopScheduled = false;
      if (!this.looping) this.loopDone = this.loop();
    });
  }

  private async loop(): Promise<void> {
    this.looping = true;
    try {
      const raft = this.core();
      while (!this.stopped && raft.hasReady()) {
        await this.handleReady(raft, raft.ready());
      }
    } catch (err) {
      this.stopped = true;
      if (this.tickTimer !== null) clearInterval(this.tickTimer);
      this.log.fatal({ err }, 'the node cannot continue safely (a write to the data dir failed or an invariant broke); it stops now — check the disk, then restart it');
      this.failAll(new NodeStoppedError());
      this.onFatal(err as Error);
    } finally {
      this.looping = false;
    }
  }

  /**
   * handleReady runs one Ready. A leader's appends leave before its own fsync
   * (the core counts the leader only once this Ready is advanced); everything
   * else leaves after it. Committed entries already durable here (from earlier
   * Readies) are applied, and their clients answered, before this Ready's fsync
   * rather than after it; the rest (a follower's entries committed in the same
   * append) only once persisted. Group commit: one sync per Ready.
   */
  private async handleReady(raft: Raft, rd: Ready): Promise<void> {
    const sendFirst = raft.messagesMayPrecedePersist();
    if (sendFirst && rd.messages.length > 0) this.send(rd.messages);
    let applied = 0;
    if (rd.snapshot === null) {
      const firstNew = rd.entries[0]?.index ?? Infinity;
      while (applied < rd.committedEntries.length && (rd.committedEntries[applied] as Entry).index < firstNew) {
        this.applyEntry(rd.committedEntries[applied] as Entry);
        applied++;
      }
    }
    if (rd.hardState !== null || rd.entries.length > 0 || rd.snapshot !== null) {
      const startMs = this.now();
      await this.storage.persist({ hardState: rd.hardState, entries: rd.entries, snapshot: rd.snapshot });
      this.synced('a Raft batch', startMs);
    }
    if (!sendFirst && rd.messages.length > 0) this.send(rd.messages);
    if (rd.snapshot !== null) {
      this.restoreStateMachine(rd.snapshot.data);
      this.lastSnapshotIndex = rd.snapshot.meta.index;
      this.log.warn({ index: rd.snapshot.meta.index },
        'installed a snapshot from the leader: this node was too far behind to catch up from the log; expected after a long outage, but if it repeats check this node\'s disk, load and network (it keeps falling behind)');
    }
    for (; applied < rd.committedEntries.length; applied++) this.applyEntry(rd.committedEntries[applied] as Entry);
    if (rd.membership !== null) this.followMembership(rd.membership);
    if (rd.softState !== null) {
      if (rd.softState.leader !== this.knownLeader) {
        this.knownLeader = rd.softState.leader;
        this.observer.leaderChanged();
      }
      this.onSoftState(rd.softState.role === 'leader', rd.softState.term);
      if (rd.softState.leader !== null) this.wakeLeaderWaiters(rd.softState.leader);
    }
    this.maybeActivateClock(rd.committedEntries);
    for (const rs of rd.readStates) this.onReadConfirmed(rs.ctx, rs.index);
    for (const ctx of rd.droppedReads) this.failRead(ctx, this.notLeader());
    raft.advance(rd);
    this.serveConfirmedReads();
    await this.maybeSnapshot(raft);
  }

  private applyEntry(entry: Entry): void {
    let result: Applied | null = null;
    if (entry.type === 'config') {
      // Membership changes belong to the Raft core; the replicated state only moves its applied index.
      this.state.applyNoop(entry.index);
      this.applyConfChange(entry);
      return;
    }
    if (entry.type === 'empty') {
      this.state.applyNoop(entry.index);
    } else {
      result = this.state.apply({ index: entry.index, term: entry.term, data: entry.data });
      if (result.kind === 'lock') this.followApplyResult(result.applied);
      else this.log.info({ index: entry.index, ok: result.result.ok, change: result.result.message }, 'auth change applied');
    }
    const pending = this.proposals.get(entry.index);
    if (pending === undefined) return;
    this.proposals.delete(entry.index);
    if (pending.term === entry.term && result !== null) {
      this.observer.proposalFinished('committed', (this.now() - pending.startMs) / 1000);
      pending.resolve(result);
    } else {
      this.observer.proposalFinished('lost', (this.now() - pending.startMs) / 1000);
      pending.reject(new ProposalOutcomeUnknownError('another leader replaced the request in the log before it committed'));
    }
  }

  /** applyConfChange answers the operator who proposed the change, and records this node's own removal. */
  private applyConfChange(entry: Entry): void {
    const cc = decodeConfChange(entry.data);
    this.log.warn({ change: cc.type, member: cc.node, index: entry.index }, `membership change committed: ${cc.type} ${cc.node}`);
    if (cc.type === 'remove' && cc.node === this.id) {
      const self = this.cfg.nodes.find((n) => n.id === this.id);
      if (self !== undefined) recordRemoval(self.dataDir, { clusterId: this.cfg.clusterId, nodeId: this.id, index: entry.index });
      this.log.warn({ index: entry.index }, 'this node was removed from the cluster: it will not start from this data dir again; stop it and wipe or archive the data dir');
    }
    const pending = this.confProposals.get(entry.index);
    if (pending === undefined) return;
    this.confProposals.delete(entry.index);
    if (pending.term === entry.term) pending.resolve();
    else pending.reject(new ProposalOutcomeUnknownError('another leader replaced the change in the log before it committed'));
  }

  /** followApplyResult keeps the lease clock and waiting clients in step with the state machine. */
  private followApplyResult(r: ApplyResult): void {
    const nowMs = this.now();
    if (r.result.kind === 'lease-expired') this.observer.leaseExpired();
    if (r.leaseGranted !== null) this.clock.leaseGranted(r.leaseGranted.leaseId, r.leaseGranted.ttlMs, nowMs);
    for (const leaseId of r.leasesRemoved) this.clock.leaseRemoved(leaseId);
    for (const g of r.promoted) {
      for (const w of this.takeWaiters(g.name, g.leaseId)) w.resolve(g.token);
    }
    for (const c of r.cancelledWaits) {
      for (const w of this.takeWaiters(c.name, c.leaseId)) w.reject(new WaitCancelledError(c.name, c.leaseId));
    }
  }

  private onSoftState(isLeader: boolean, term: number): void {
    // Soft state arrives once per Ready, so leader(t5) -> follower -> leader(t7) can
    // look like "still leader": a new term always means the old leadership ended.
    if (this.leaderTerm !== 0 && (!isLeader || this.leaderTerm !== term)) {
      this.warnSteppedDown(isLeader, term);
      this.leadershipEnded(isLeader ? term : -1);
    }
    if (isLeader && this.leaderTerm !== term) {
      this.log.info({ term }, 'became leader');
      this.leaderTerm = term;
    }
  }

  /** leadershipEnded fails what the old leadership owed clients; proposals of `keepTerm` (a new leadership) stay. */
  private leadershipEnded(keepTerm: number): void {
    this.leaderTerm = 0;
    this.heartbeatSent.clear();
    this.clock.deactivate();
    const nowMs = this.now();
    for (const [index, p] of this.proposals) {
      if (p.term === keepTerm) continue;
      this.proposals.delete(index);
      this.observer.proposalFinished('lost', (nowMs - p.startMs) / 1000);
      p.reject(new ProposalOutcomeUnknownError('leadership was lost before the request committed'));
    }
    for (const [index, p] of this.confProposals) {
      if (p.term === keepTerm) continue;
      this.confProposals.delete(index);
      p.reject(new ProposalOutcomeUnknownError('leadership was lost before the membership change committed'));
    }
    const err = this.notLeader();
    const waiting = [...this.waiters.values()];
    this.waiters.clear();
    for (const set of waiting) for (const w of set) w.reject(err);
  }


  /**
   * warnSteppedDown says why this leader stopped leading and what to check.
   * Stepping down in the same term is CheckQuorum: a majority did not answer
   * within an election timeout. A newer term means another member campaigned:
   * expected on a leadership transfer, a sign of trouble otherwise.
   */
  private warnSteppedDown(leadsAgain: boolean, term: number): void {
    const pending = { term: this.leaderTerm, pendingProposals: this.proposals.size };
    if (leadsAgain) {
      // Lost and regained within one Ready: the elections in between were this node's own.
      this.log.warn({ ...pending, newTerm: term }, `leadership of term ${this.leaderTerm} ended and this node leads again in term ${term}; ` +
        'pending requests of the old term fail with UNAVAILABLE and clients retry; if this repeats, look for pauses or a flaky network');
    } else if (this.transferring) {
      this.log.info({ ...pending, newTerm: term }, 'stepped down after handing leadership over on shutdown');
    } else if (term === this.leaderTerm) {
      this.log.warn(pending, `stepped down as leader of term ${this.leaderTerm}: lost quorum (a majority of members did not answer within an election timeout); ` +
        'check that the other members are running and reachable (npm run cluster -- status, their logs, "peer unreachable" lines); pending requests fail with UNAVAILABLE and clients retry');
    } else {
      this.log.warn({ ...pending, newTerm: term }, `stepped down as leader of term ${this.leaderTerm}: another member started term ${term}; ` +
        'if this repeats, look for paused or overloaded members, slow disks ("storage write slow" lines) or a flaky network, or raise timing.electionTicks; clients retry on the new leader');
    }
  }

  /** watchLeader warns (rate-limited) while this node has known no leader for several election timeouts. */
  private watchLeader(raft: Raft): void {
    if (raft.currentLeader !== null) {
      this.leaderlessSinceMs = null;
      return;
    }
    const nowMs = this.now();
    if (this.leaderlessSinceMs === null) this.leaderlessSinceMs = nowMs;
    const forMs = nowMs - this.leaderlessSinceMs;
    const { electionTicks, tickMs } = this.cfg.timing;
    if (forMs < NO_LEADER_WARN_TIMEOUTS * 2 * electionTicks * tickMs) return;
    const suppressed = this.warnLimiter.take('no-leader');
    if (suppressed === null) return;
    this.log.warn({ forMs: Math.round(forMs), members: this.cfg.nodes.length, suppressed },
      `no leader for ${(forMs / 1000).toFixed(1)} s (this node is ${raft.currentRole} in term ${raft.currentTerm}): it cannot reach a majority of the ${this.cfg.nodes.length} members; ` +
      'check that a majority is running (npm run cluster -- status) and the links between them ("peer unreachable" lines); clients get UNAVAILABLE until a leader is elected');
  }

  /** synced times one synced write of the data dir, and warns when the disk is slow. */
  private synced(what: string, startMs: number): void {
    const tookMs = this.now() - startMs;
    this.observer.storageSynced(tookMs / 1000);
    if (tookMs < SLOW_SYNC_MS) return;
    const suppressed = this.warnLimiter.take('slow-sync');
    if (suppressed === null) return;
    this.log.warn({ tookMs: Math.round(tookMs), suppressed, dataDir: this.cfg.nodes.find((n) => n.id === this.id)?.dataDir },
      `storage write slow: syncing ${what} to the data dir took ${Math.round(tookMs)} ms (a healthy disk takes a few ms); every commit waits for it: ` +
      'check the disk (iostat, free space), other I/O on the same device, and that the data dir is not on a network filesystem');
  }

  /**
   * send hands messages to the transport, noting the send time of heartbeats
   * (for round-trip times) and warning when a follower needs a whole snapshot.
   */
  private send(messages: readonly Message[]): void {
    for (const m of messages) {
      if (m.type === 'heartbeat') {
        const slot = this.heartbeatSent.get(m.to);
        const nowMs = this.now();
        if (slot === undefined || nowMs - slot.sentMs > this.maxRoundTripMs) this.heartbeatSent.set(m.to, { round: m.readRound, sentMs: nowMs });
      } else if (m.type === 'snapshot' && m.offset === 0) {
        const suppressed = this.warnLimiter.take(`snapshot:${m.to}`);
        if (suppressed !== null) {
          this.log.warn({ peer: m.to, index: m.meta.index, bytes: m.totalBytes, suppressed },
            `sending a snapshot (index ${m.meta.index}, ${m.totalBytes} bytes) to follower ${m.to}: it is too far behind to catch up from the log ` +
            '(it was down or cut off for long, or its data dir is new); expected after a long outage, but if it repeats check that follower\'s log, disk and network');
        }
      }
    }
    this.peers.send(messages);
  }

  /** heartbeatAnswered observes the round trip of the heartbeat a response answers (same read round). */
  private heartbeatAnswered(peer: string, round: number): void {
    const slot = this.heartbeatSent.get(peer);
    if (slot === undefined || slot.round !== round) return;
    this.heartbeatSent.delete(peer);
    this.observer.peerRoundTrip(peer, (this.now() - slot.sentMs) / 1000);
  }

  /** maybeActivateClock starts lease clocks once this leader has applied an entry of its own term. */
  private maybeActivateClock(applied: readonly Entry[]): void {
    if (this.leaderTerm === 0 || this.clock.isActive) return;
    if (applied.some((e) => e.term === this.leaderTerm)) {
      this.clock.activate(this.now());
      this.log.info({ term: this.leaderTerm, leases: this.clock.size }, 'lease clocks started: every lease restarted at its full TTL');
    }
  }

  private onReadConfirmed(ctx: number, index: number): void {
    const p = this.pendingReads.get(ctx);
    if (p === undefined) return;
    this.pendingReads.delete(ctx);
    if (p.kind === 'keepalive') p.resolve(p.ttlMs);
    else this.confirmedReads.push({ index, run: p.run });
  }

  private serveConfirmedReads(): void {
    const applied = this.core().appliedIndex;
    let served = 0;
    while (served < this.confirmedReads.length && (this.confirmedReads[served] as { index: number }).index <= applied) {
      (this.confirmedReads[served] as { run: () => void }).run();
      served++;
    }
    if (served > 0) this.confirmedReads.splice(0, served);
  }

  private failRead(ctx: number, err: Error): void {
    const p = this.pendingReads.get(ctx);
    if (p === undefined) return;
    this.pendingReads.delete(ctx);
    p.reject(err);
  }

  private async maybeSnapshot(raft: Raft): Promise<void> {
    const applied = raft.appliedIndex;
    if (applied - this.lastSnapshotIndex < this.cfg.snapshot.everyEntries) return;
    const compacted = raft.compact(applied, this.state.snapshot(), this.cfg.snapshot.trailingEntries);
    if (compacted === null) return;
    const startMs = this.now();
    await this.storage.saveSnapshot(compacted.snapshot, compacted.firstIndex);
    this.synced('a snapshot', startMs);
    this.lastSnapshotIndex = applied;
    this.log.info({ index: applied, firstIndex: compacted.firstIndex }, 'snapshot taken, log compacted');
  }

  private restoreStateMachine(data: Uint8Array): void {
    this.state = ReplicatedState.restore(data, this.limits, this.cfg.auth.limits);
    this.clock.deactivate();
    this.clock.reset(this.sm.listLeases());
  }

  /** transferAway hands leadership to the most caught-up follower and waits (bounded) for it to take over. */
  private async transferAway(): Promise<void> {
    const raft = this.core();
    let best: string | null = null;
    let bestMatch = -1;
    const voters = raft.membership().voters;
    for (const [id, pr] of raft.status().progress) {
      if (id !== this.id && voters.includes(id) && pr.match > bestMatch) {
        best = id;
        bestMatch = pr.match;
      }
    }
    if (best === null || !raft.transferLeadership(best)) return;
    this.transferring = true;
    this.schedule();
    const deadlineMs = this.now() + 2 * this.cfg.timing.electionTicks * this.cfg.timing.tickMs;
    while (raft.currentRole === 'leader' && this.now() < deadlineMs) {
      await new Promise((r) => setTimeout(r, this.cfg.timing.tickMs));
    }
    this.log.info({ to: best, moved: raft.currentRole !== 'leader' }, 'leadership transfer on shutdown');
  }

  private failAll(err: Error): void {
    for (const w of this.leaderWaiters) w.done();
    for (const p of this.proposals.values()) p.reject(err);
    this.proposals.clear();
    for (const p of this.confProposals.values()) p.reject(err);
    this.confProposals.clear();
    for (const p of this.pendingReads.values()) p.reject(err);
    this.pendingReads.clear();
    this.confirmedReads.length = 0;
    const waiting = [...this.waiters.values()];
    this.waiters.clear();
    for (const set of waiting) for (const w of set) w.reject(err);
  }

  private notLeader(): NotLeaderError {
    const l = this.leader();
    return new NotLeaderError(l?.id ?? null, l?.clientAddress ?? null);
  }

  private core(): Raft {
    if (this.raft === null) throw new Error('the node is not started');
    return this.raft;
  }
}

function waiterKey(name: string, leaseId: number): string {
  return `${leaseId}\u0000${name}`;
}

import { assert } from './assert.js';
import { validateRaftConfig, type RaftConfig } from './config.js';
import { RaftLog } from './log.js';
import {
  checkConfChange,
  encodeConfChange,
  isMember,
  membershipOfSnapshot,
  MembershipLog,
  type ConfChange,
  type ConfChangeRefusal,
  type Membership,
} from './membership.js';
import { Progress } from './progress.js';
import { majority, quorumIndex, voteOutcome } from './quorum.js';
import type {
  AppendRequest,
  AppendResponse,
  Entry,
  HardState,
  HeartbeatRequest,
  HeartbeatResponse,
  Message,
  NodeId,
  ProposeResult,
  ReadState,
  Ready,
  Rng,
  Role,
  Snapshot,
  SnapshotChunk,
  SnapshotResponse,
  SoftState,
  VoteRequest,
  VoteResponse,
} from './types.js';

/** RestoredState is what storage recovered at start: the core resumes from it. */
export interface RestoredState {
  readonly hardState: HardState;
  readonly snapshot: Snapshot | null;
  readonly entries: readonly Entry[];
}

export interface RaftStatus {
  readonly id: NodeId;
  readonly role: Role;
  readonly term: number;
  readonly leader: NodeId | null;
  readonly vote: NodeId;
  readonly commit: number;
  readonly applied: number;
  readonly firstIndex: number;
  readonly lastIndex: number;
  readonly snapshotIndex: number;
  readonly snapshotTerm: number;
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
  /** Started to join an existing cluster and not yet told by a leader that it is a member. */
  readonly joinPending: boolean;
  /** Leader only: each follower's match index and replication state. */
  readonly progress: ReadonlyMap<NodeId, { match: number; next: number; state: string }>;
}

const EMPTY = new Uint8Array(0);
/** A learner this close to the leader's log catches up within a round trip or two. */
const DEFAULT_MAX_PROMOTE_LAG_ENTRIES = 100;

export type ConfChangeResult =
  | { readonly ok: true; readonly index: number; readonly term: number }
  | { readonly ok: false; readonly reason: ConfChangeRefusal; readonly leader: NodeId | null };

/** A read round: reads registered before it was broadcast, confirmed once a quorum acknowledges it. */
interface ReadRound {
  readonly round: number;
  /**
   * The commit index when the round was sent: at least the commit index when
   * each of its reads arrived, so a read sees every write acknowledged before it.
   */
  index: number;
  readonly ctxs: number[];
}

/** A snapshot being received in chunks. */
interface IncomingSnapshot {
  readonly from: NodeId;
  readonly meta: Snapshot['meta'];
  readonly totalBytes: number;
  readonly parts: Uint8Array[];
  received: number;
}

/**
 * Raft is the consensus core: a synchronous, deterministic state machine in
 * the shape of etcd-io/raft. Time arrives as tick(), messages as step(), and
 * all resulting work leaves through ready()/advance(). It performs no I/O.
 */
export class Raft {
  readonly id: NodeId;
  private readonly cfg: RaftConfig;
  private readonly rng: Rng;
  private readonly log: RaftLog;
  /** The configuration at every point of the log; the latest one is in force (appended, not only committed). */
  private readonly members: MembershipLog;
  /**
   * joinPending: started in join mode and no configuration received from a
   * leader names this node yet. Until then it neither campaigns nor votes: its
   * empty log must not help elect anyone (nor the initial configuration's
   * idea that it is a voter, if it reuses such an id).
   */
  private joinPending: boolean;
  private prevMembership: Membership;
  /** Leader: some Progress belongs to a member whose removal is not committed yet (see syncProgress). */
  private retiring = false;

  private term: number;
  private vote: NodeId;
  private role: Role = 'follower';
  private leader: NodeId | null = null;

  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTicks = 0;

  /** Leader state. */
  private prs = new Map<NodeId, Progress>();
  private leadTransferee: NodeId | null = null;
  private transferElapsed = 0;
  private uncommittedBytes = 0;
  private appendPending = false;

  /** Candidate state: votes received in the current (pre-)campaign. */
  private votes = new Map<NodeId, boolean>();

  /** Read-index state (leader only). */
  private lastReadRound = 0;
  private readsAwaitingTermCommit: number[] = [];
  private openRound: ReadRound | null = null;
  private sentRounds: ReadRound[] = [];
  private pendingReadCount = 0;

  private incoming: IncomingSnapshot | null = null;

  /** Outputs gathered for the next Ready. */
  private msgs: Message[] = [];
  private readStates: ReadState[] = [];
  private droppedReads: number[] = [];
  private prevSoft: SoftState;
  private prevHard: HardState;
  private outstanding: Ready | null = null;
  /** outstandingSendsEarly: see messagesMayPrecedePersist. */
  private outstandingSendsEarly = false;

  constructor(config: RaftConfig, rng: Rng, restored: RestoredState) {
    validateRaftConfig(config);
    this.cfg = config;
    this.id = config.id;
    this.rng = rng;
    const { hardState, snapshot, entries } = restored;
    this.log = new RaftLog(snapshot, entries, hardState.commit);
    const snapIndex = snapshot?.meta.index ?? 0;
    this.members = new MembershipLog(snapIndex, snapshot !== null
      ? membershipOfSnapshot(snapshot.meta)
      : { voters: config.voters, learners: [], contexts: [] });
    this.joinPending = config.joining === true && !(snapshot !== null && isMember(this.members.latest(), this.id));
    this.recordAppended(entries.filter((e) => e.index > snapIndex));
    this.prevMembership = this.members.latest();
    this.term = hardState.term;
    this.vote = hardState.vote;
    this.prevHard = hardState;
    this.prevSoft = { role: 'follower', leader: null, term: hardState.term };
    this.becomeFollower(this.term, null);
  }

  // ---------------------------------------------------------------- inputs

  /** tick advances logical time by one unit. */
  tick(): void {
    if (this.role === 'leader') this.tickLeader();
    else this.tickElection();
  }

  /** campaign starts an election now (PreVote first when enabled). */
  campaign(): void {
    if (this.role === 'leader' || !this.promotable()) return;
    this.startCampaign(this.cfg.preVote ? 'pre-vote' : 'vote', false);
  }

  /** propose appends `data` to the log if this node is the leader. */
  propose(data: Uint8Array): ProposeResult {
    if (this.role !== 'leader') return { ok: false, reason: 'not-leader', leader: this.leader };
    if (this.leadTransferee !== null) return { ok: false, reason: 'transferring', leader: this.leader };
    if (data.length > this.cfg.maxEntryBytes) return { ok: false, reason: 'too-large', leader: this.leader };
    if (this.uncommittedBytes > 0 && this.uncommittedBytes + data.length > this.cfg.maxUncommittedBytes) {
      return { ok: false, reason: 'too-many-uncommitted', leader: this.leader };
    }
    const entry = this.appendEntry('normal', data);
    this.uncommittedBytes += data.length;
    return { ok: true, index: entry.index, term: entry.term };
  }

  /**
   * proposeConfChange appends a membership change if this node leads and the
   * change is safe now: no other change is uncommitted, the leader has
   * committed an entry of its term (so an earlier leader's uncommitted change
   * cannot still be pending elsewhere: the thesis's single-server bug fix), the
   * change makes sense for the current membership, and a learner to promote is
   * caught up (match within maxPromoteLagEntries of the leader's last index).
   */
  proposeConfChange(cc: ConfChange): ConfChangeResult {
    const refuse = (reason: ConfChangeRefusal): ConfChangeResult => ({ ok: false, reason, leader: this.leader });
    if (this.role !== 'leader') return refuse('not-leader');
    if (this.leadTransferee !== null) return refuse('transferring');
    if (this.members.latestIndex() > this.log.committed) return refuse('change-in-progress');
    if (!this.committedInCurrentTerm()) return refuse('term-not-committed');
    const invalid = checkConfChange(this.members.latest(), cc);
    if (invalid !== '') return refuse(invalid);
    if (cc.type === 'promote' && !this.caughtUp(cc.node)) return refuse('learner-behind');
    const data = encodeConfChange(cc);
    const entry = this.appendEntry('config', data);
    this.uncommittedBytes += data.length;
    return { ok: true, index: entry.index, term: entry.term };
  }

  /** membership is the configuration in force: the latest in the log. */
  membership(): Membership {
    return this.members.latest();
  }

  /** membershipAt is the configuration once the log up to `index` applies (index at or above the snapshot). */
  membershipAt(index: number): Membership {
    return this.members.at(index);
  }

  /**
   * readIndex registers a linearizable read under `ctx`. A ReadState with the
   * index to wait for appears in a later Ready once a quorum round started after
   * this call confirms leadership; all reads between two Readies share one round.
   * False if this node is not the leader or too many reads are pending.
   */
  readIndex(ctx: number): boolean {
    if (this.role !== 'leader' || this.pendingReadCount >= this.cfg.maxPendingReads) return false;
    this.pendingReadCount++;
    if (!this.committedInCurrentTerm()) {
      this.readsAwaitingTermCommit.push(ctx);
      return true;
    }
    this.registerRead(ctx);
    return true;
  }

  /** transferLeadership hands leadership to `to` once its log is caught up (TimeoutNow). */
  transferLeadership(to: NodeId): boolean {
    if (this.role !== 'leader' || to === this.id || !this.voters.includes(to)) return false;
    if (this.leadTransferee === to) return true;
    this.leadTransferee = to;
    this.transferElapsed = 0;
    const pr = this.progress(to);
    if (pr.match === this.log.lastIndex()) this.send({ type: 'timeout-now', to, term: this.term, from: this.id });
    else this.sendAppend(to, true);
    return true;
  }

  /**
   * compact records the caller's snapshot of the state machine at applied
   * `index` and drops log entries up to `index - trailingEntries`, keeping a
   * window for slow followers. It returns the snapshot and the log's new first
   * index, which the caller persists exactly (store the snapshot, delete stored
   * entries below firstIndex), or null when it did nothing: the core already
   * holds a snapshot at or beyond `index` — possibly one received from the
   * leader that is not durable yet — so storage must not be touched.
   */
  compact(index: number, data: Uint8Array, trailingEntries: number): { snapshot: Snapshot; firstIndex: number } | null {
    assert(index <= this.log.applied, () => `compact: index ${index} beyond applied ${this.log.applied}`);
    if (this.log.pendingSnapshot !== null) return null;
    if (this.log.snapshot !== null && index <= this.log.snapshot.meta.index) return null;
    const term = this.log.term(index);
    assert(term !== undefined, () => `compact: no term for index ${index}`);
    const m = this.members.at(index);
    const snapshot: Snapshot = { meta: { index, term, voters: m.voters, learners: m.learners, contexts: m.contexts }, data };
    this.log.installLocalSnapshot(snapshot, Math.max(0, index - Math.max(0, trailingEntries)));
    this.members.compacted(index);
    const firstIndex = this.log.firstIndex();
    assert(firstIndex <= index + 1, () => `compact: first index ${firstIndex} beyond the snapshot at ${index}`);
    return { snapshot, firstIndex };
  }

  /** step processes one message addressed to this node. */
  step(m: Message): void {
    // Messages are not filtered by membership: a leader being removed still
    // replicates its removal, a joining node knows no members yet, and a
    // learner promoted without knowing it yet must still answer votes.
    if (m.to !== this.id || m.from === this.id) return;
    if (m.term > this.term) {
      if (!this.acceptHigherTerm(m)) return;
    } else if (m.term < this.term) {
      this.stepLowerTerm(m);
      return;
    }
    switch (m.type) {
      case 'vote':
      case 'pre-vote':
        this.handleVoteRequest(m);
        return;
      default:
        break;
    }
    switch (this.role) {
      case 'leader':
        this.stepLeader(m);
        return;
      case 'candidate':
      case 'pre-candidate':
        this.stepCandidate(m);
        return;
      case 'follower':
        this.stepFollower(m);
        return;
    }
  }

  // ---------------------------------------------------------------- outputs

  hasReady(): boolean {
    this.flush();
    const pendingSnapshot = this.log.pendingSnapshot;
    return (
      this.msgs.length > 0 ||
      this.readStates.length > 0 ||
      this.droppedReads.length > 0 ||
      pendingSnapshot !== null ||
      this.log.hasUnstable() ||
      this.log.committed > this.log.applied ||
      !sameHard(this.hardState(), this.prevHard) ||
      !sameSoft(this.softState(), this.prevSoft) ||
      this.members.latest() !== this.prevMembership
    );
  }

  ready(): Ready {
    assert(this.outstanding === null, 'ready: the previous Ready was not advanced');
    this.flush();
    const soft = this.softState();
    const hard = this.hardState();
    const rd: Ready = {
      softState: sameSoft(soft, this.prevSoft) ? null : soft,
      hardState: sameHard(hard, this.prevHard) ? null : hard,
      snapshot: this.log.pendingSnapshot,
      entries: this.log.unstableEntries(),
      messages: this.msgs,
      committedEntries: this.log.nextCommitted(this.cfg.maxCommittedBytesPerReady),
      readStates: this.readStates,
      droppedReads: this.droppedReads,
      membership: this.members.latest() === this.prevMembership ? null : this.members.latest(),
    };
    this.prevMembership = this.members.latest();
    // prevHard is durable here: every earlier Ready was advanced, so persisted.
    this.outstandingSendsEarly = this.role === 'leader' && hard.term === this.prevHard.term && hard.vote === this.prevHard.vote;
    this.prevSoft = soft;
    this.prevHard = hard;
    this.msgs = [];
    this.readStates = [];
    this.droppedReads = [];
    this.outstanding = rd;
    return rd;
  }

  /**
   * messagesMayPrecedePersist tells whether the outstanding Ready's messages may
   * be sent before its hard state and entries are durable: true for a leader
   * whose term and vote are already on disk. Its appends then go out in
   * parallel with its own fsync; that is safe because the leader counts itself
   * toward a quorum only for entries it has persisted (advance). Anything else
   * (votes, a follower's acknowledgements, a new term) must wait for the fsync.
   */
  messagesMayPrecedePersist(): boolean {
    return this.outstanding !== null && this.outstandingSendsEarly;
  }

  /** advance acknowledges that `rd` was persisted, sent and applied. */
  advance(rd: Ready): void {
    assert(this.outstanding === rd, 'advance: not the outstanding Ready');
    this.outstanding = null;
    if (rd.snapshot !== null) this.log.snapshotStable(rd.snapshot);
    this.log.stableTo(rd.entries);
    // The leader counts itself toward a quorum only for entries it has persisted, so the
    // shell may send appends before (in parallel with) its own fsync: an entry is never
    // committed unless a quorum, the leader included only once durable, holds it.
    if (this.role === 'leader' && this.progress(this.id).maybeUpdate(this.log.stableIndex()) && this.maybeCommit()) {
      this.appendPending = true;
    }
    const lastApplied = rd.committedEntries[rd.committedEntries.length - 1];
    if (lastApplied !== undefined) this.log.appliedTo(lastApplied.index);
  }

  status(): RaftStatus {
    const progress = new Map<NodeId, { match: number; next: number; state: string }>();
    if (this.role === 'leader') {
      for (const [id, pr] of this.prs) progress.set(id, { match: pr.match, next: pr.next, state: pr.state });
    }
    return {
      id: this.id,
      role: this.role,
      term: this.term,
      leader: this.leader,
      vote: this.vote,
      commit: this.log.committed,
      applied: this.log.applied,
      firstIndex: this.log.firstIndex(),
      lastIndex: this.log.lastIndex(),
      snapshotIndex: this.log.snapshot?.meta.index ?? 0,
      snapshotTerm: this.log.snapshot?.meta.term ?? 0,
      voters: this.voters,
      learners: this.members.latest().learners,
      joinPending: this.joinPending,
      progress,
    };
  }

  /** currentTerm, currentRole and currentLeader are allocation-free views for the shell's hot paths. */
  get currentTerm(): number {
    return this.term;
  }

  get currentRole(): Role {
    return this.role;
  }

  get currentLeader(): NodeId | null {
    return this.leader;
  }

  get appliedIndex(): number {
    return this.log.applied;
  }

  termAt(index: number): number | undefined {
    return this.log.term(index);
  }

  entriesFrom(lo: number): readonly Entry[] {
    return this.log.entriesFrom(lo);
  }

  // ---------------------------------------------------------------- roles

  private becomeFollower(term: number, leader: NodeId | null): void {
    const wasLeader = this.role === 'leader';
    if (term !== this.term) {
      assert(term > this.term, () => `becomeFollower: term ${term} below ${this.term}`);
      this.term = term;
      this.vote = '';
      this.incoming = null;
    }
    this.role = 'follower';
    this.leader = leader;
    this.reset();
    if (wasLeader) this.dropReads();
  }

  private becomePreCandidate(): void {
    assert(this.role !== 'leader', 'becomePreCandidate: leader');
    this.role = 'pre-candidate';
    this.leader = null;
    this.votes.clear();
  }

  private becomeCandidate(): void {
    assert(this.role !== 'leader', 'becomeCandidate: leader');
    this.term += 1;
    this.vote = this.id;
    this.role = 'candidate';
    this.leader = null;
    this.incoming = null;
    this.reset();
  }

  private becomeLeader(): void {
    assert(this.role === 'candidate', 'becomeLeader: not a candidate');
    this.role = 'leader';
    this.leader = this.id;
    this.reset();
    const self = new Progress(this.log.lastIndex() + 1, this.cfg.maxInflightMsgs);
    // The leader counts only what its own storage holds (see advance).
    self.match = this.log.stableIndex();
    self.becomeReplicate();
    self.recentActive = true;
    this.prs.set(this.id, self);
    this.syncProgress();
    this.appendEntry('empty', EMPTY);
  }

  /** reset clears the per-term, per-role volatile state. */
  private reset(): void {
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.randomizedElectionTicks = this.cfg.electionTicks + this.rng.nextInt(this.cfg.electionTicks);
    this.votes.clear();
    this.prs.clear();
    this.leadTransferee = null;
    this.transferElapsed = 0;
    this.uncommittedBytes = 0;
    this.appendPending = false;
    this.retiring = false;
  }

  private promotable(): boolean {
    return !this.joinPending && this.voters.includes(this.id);
  }

  /** voters of the configuration in force. */
  private get voters(): readonly NodeId[] {
    return this.members.latest().voters;
  }

  /**
   * caughtUp: the learner holds the entry that added it (so it knows it is a
   * member and will vote) and is within maxPromoteLagEntries of the leader's
   * last index. Promoting a learner with an empty log could leave a
   * configuration whose majority needs a node that cannot vote yet.
   */
  private caughtUp(id: NodeId): boolean {
    const match = this.progress(id).match;
    const joinedAt = this.members.joinedAt(id) ?? Infinity;
    return match >= joinedAt && match + this.maxPromoteLagEntries() >= this.log.lastIndex();
  }

  private maxPromoteLagEntries(): number {
    return this.cfg.maxPromoteLagEntries ?? DEFAULT_MAX_PROMOTE_LAG_ENTRIES;
  }

  /**
   * syncProgress gives the leader a Progress for every member of the
   * configuration in force (voters and learners; itself always). A member
   * removed by a change that is not committed yet keeps its Progress until it
   * commits, so that it receives its own removal and stops campaigning; it
   * never counts toward a quorum.
   */
  private syncProgress(): void {
    const m = this.members.latest();
    const next = this.log.lastIndex() + 1;
    for (const id of [...m.voters, ...m.learners]) {
      if (!this.prs.has(id)) this.prs.set(id, new Progress(next, this.cfg.maxInflightMsgs));
    }
    const settled = this.members.latestIndex() <= this.log.committed;
    this.retiring = false;
    for (const id of [...this.prs.keys()]) {
      if (id === this.id || isMember(m, id)) continue;
      if (settled) this.prs.delete(id);
      else this.retiring = true;
    }
    if (this.leadTransferee !== null && !m.voters.includes(this.leadTransferee)) this.leadTransferee = null;
  }

  /** recordAppended notes config entries just added to the log. */
  private recordAppended(entries: readonly Entry[]): void {
    const before = this.members.latest();
    this.members.appended(entries);
    if (this.members.latest() === before) return;
    if (this.joinPending && entries.some((e) => e.type === 'config' && isMember(this.members.latest(), this.id))) {
      // A leader replicated a configuration that names us: we are part of the cluster now.
      this.joinPending = !isMember(this.members.latest(), this.id);
    }
    if (this.role === 'leader') this.syncProgress();
  }

  // ---------------------------------------------------------------- time

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTicks) {
      this.electionElapsed = 0;
      this.campaign();
    }
  }

  private tickLeader(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.cfg.electionTicks) {
      this.electionElapsed = 0;
      if (this.cfg.checkQuorum && !this.quorumActive()) {
        // CheckQuorum: a leader that has not heard from a quorum for an election timeout steps down.
        this.becomeFollower(this.term, null);
        return;
      }
    }
    if (this.leadTransferee !== null && ++this.transferElapsed >= this.cfg.electionTicks) {
      this.leadTransferee = null;
    }
    if (this.heartbeatElapsed >= this.cfg.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.broadcastHeartbeat();
    }
  }

  /** quorumActive reports whether a quorum was heard from since the last check, and resets the marks. */
  private quorumActive(): boolean {
    let active = 0;
    for (const id of this.voters) {
      if (id === this.id || this.progress(id).recentActive) active++;
    }
    for (const [id, pr] of this.prs) if (id !== this.id) pr.recentActive = false;
    return active >= majority(this.voters.length);
  }

  // ---------------------------------------------------------------- elections

  private startCampaign(kind: 'pre-vote' | 'vote', transfer: boolean): void {
    let voteTerm: number;
    if (kind === 'pre-vote') {
      this.becomePreCandidate();
      voteTerm = this.term + 1;
    } else {
      this.becomeCandidate();
      voteTerm = this.term;
    }
    this.votes.set(this.id, true);
    if (this.tally() === 'won') {
      this.winCampaign(kind);
      return;
    }
    for (const to of this.voters) {
      if (to === this.id) continue;
      this.send({
        type: kind, to, from: this.id, term: voteTerm,
        lastIndex: this.log.lastIndex(), lastTerm: this.log.lastTerm(), transfer,
      });
    }
  }

  private winCampaign(kind: 'pre-vote' | 'vote'): void {
    if (kind === 'pre-vote') {
      this.startCampaign('vote', false);
    } else {
      this.becomeLeader();
    }
  }

  private tally(): 'won' | 'lost' | 'pending' {
    let granted = 0;
    let rejected = 0;
    for (const id of this.voters) {
      const v = this.votes.get(id);
      if (v === true) granted++;
      else if (v === false) rejected++;
    }
    return voteOutcome(granted, rejected, this.voters.length);
  }

  /** acceptHigherTerm decides what a message from a later term does to us; false means drop it. */
  private acceptHigherTerm(m: Message): boolean {
    if (m.type === 'vote' || m.type === 'pre-vote') {
      // With CheckQuorum, a node that heard from a live leader within the election
      // timeout ignores campaigns: a partitioned node must not disrupt the cluster.
      const inLease = this.cfg.checkQuorum && this.leader !== null && this.electionElapsed < this.cfg.electionTicks;
      if (inLease && !m.transfer) return false;
      if (m.type === 'pre-vote') return true;
      this.becomeFollower(m.term, null);
      return true;
    }
    if (m.type === 'pre-vote-resp' && m.granted) {
      // Granted pre-votes carry the term we would campaign in; our term is unchanged.
      return true;
    }
    const fromLeader = m.type === 'append' || m.type === 'heartbeat' || m.type === 'snapshot';
    this.becomeFollower(m.term, fromLeader ? m.from : null);
    return true;
  }

  private stepLowerTerm(m: Message): void {
    if (m.type === 'append' || m.type === 'heartbeat') {
      // A stale leader learns of the new term from our answer and steps down
      // (without PreVote it would otherwise learn it from a disruptive campaign).
      this.send({ type: 'append-resp', to: m.from, from: this.id, term: this.term, index: 0, reject: true, hintIndex: 0, hintTerm: 0 });
    } else if (m.type === 'pre-vote') {
      this.send({ type: 'pre-vote-resp', to: m.from, from: this.id, term: this.term, granted: false });
    }
  }

  private handleVoteRequest(m: VoteRequest): void {
    const isPre = m.type === 'pre-vote';
    // A node still waiting to join has an empty log and never votes. A node whose own
    // latest configuration leaves it out still votes: it may have been added back (or
    // promoted) by entries it has not received yet, and the candidate that counts it
    // knows that. Granting is safe whatever this node's view of the membership: the vote
    // is still one per term, and only for a log at least as up to date as its own.
    const canVote = !this.joinPending && (
      this.vote === m.from ||
      (this.vote === '' && this.leader === null) ||
      (isPre && m.term > this.term));
    const respType: VoteResponse['type'] = isPre ? 'pre-vote-resp' : 'vote-resp';
    if (canVote && this.log.isUpToDate(m.lastIndex, m.lastTerm)) {
      this.send({ type: respType, to: m.from, from: this.id, term: m.term, granted: true });
      if (!isPre) {
        this.electionElapsed = 0;
        this.vote = m.from;
      }
    } else {
      this.send({ type: respType, to: m.from, from: this.id, term: this.term, granted: false });
    }
  }

  private stepCandidate(m: Message): void {
    switch (m.type) {
      case 'append':
      case 'heartbeat':
      case 'snapshot':
        this.becomeFollower(this.term, m.from);
        this.stepFollower(m);
        return;
      case 'pre-vote-resp':
      case 'vote-resp':
        this.handleVoteResponse(m);
        return;
      default:
        return;
    }
  }

  private handleVoteResponse(m: VoteResponse): void {
    const isPre = this.role === 'pre-candidate';
    if ((m.type === 'pre-vote-resp') !== isPre) return;
    // Count only answers to the campaign we are running now.
    if (m.granted && m.term !== (isPre ? this.term + 1 : this.term)) return;
    if (!this.votes.has(m.from)) this.votes.set(m.from, m.granted);
    const outcome = this.tally();
    if (outcome === 'won') this.winCampaign(isPre ? 'pre-vote' : 'vote');
    else if (outcome === 'lost') this.becomeFollower(this.term, null);
  }

  // ---------------------------------------------------------------- follower

  private stepFollower(m: Message): void {
    switch (m.type) {
      case 'append':
        this.electionElapsed = 0;
        this.leader = m.from;
        this.handleAppend(m);
        return;
      case 'heartbeat':
        this.electionElapsed = 0;
        this.leader = m.from;
        this.handleHeartbeat(m);
        return;
      case 'snapshot':
        this.electionElapsed = 0;
        this.leader = m.from;
        this.handleSnapshotChunk(m);
        return;
      case 'timeout-now':
        if (this.promotable()) this.startCampaign('vote', true);
        return;
      default:
        return;
    }
  }

  private handleAppend(m: AppendRequest): void {
    let prevIndex = m.prevIndex;
    let prevTerm = m.prevTerm;
    let entries = m.entries;
    const committed = this.log.committed;
    if (prevIndex < committed) {
      // Entries up to our commit index are already settled (every later leader
      // holds them), so keep only what follows it instead of discarding the message.
      const last = entries[entries.length - 1];
      if (last === undefined || last.index <= committed) {
        this.respondAppend(m.from, committed, false, 0, 0);
        return;
      }
      const skip = committed - prevIndex;
      const atCommit = entries[skip - 1] as Entry;
      assert(atCommit.term === this.log.term(committed),
        () => `append from ${m.from} disagrees with committed entry ${committed}: term ${atCommit.term} vs ${String(this.log.term(committed))}`);
      entries = entries.slice(skip);
      prevIndex = committed;
      prevTerm = atCommit.term;
    }
    const lastNew = this.log.maybeAppend(prevIndex, prevTerm, m.commit, entries);
    if (lastNew >= 0) {
      // A truncated uncommitted change reverts the configuration; new config entries take effect now.
      this.members.truncated((i) => this.log.term(i));
      const known = this.members.latestIndex();
      this.recordAppended(entries.filter((e) => e.index > known));
      this.respondAppend(m.from, lastNew, false, 0, 0);
      return;
    }
    const hint = this.log.findConflictByTerm(Math.min(prevIndex, this.log.lastIndex()), prevTerm);
    this.respondAppend(m.from, m.prevIndex, true, hint.index, hint.term);
  }

  private respondAppend(to: NodeId, index: number, reject: boolean, hintIndex: number, hintTerm: number): void {
    this.send({ type: 'append-resp', to, from: this.id, term: this.term, index, reject, hintIndex, hintTerm });
  }

  private handleHeartbeat(m: HeartbeatRequest): void {
    // The leader sends min(our match, its commit), so our log holds that prefix.
    this.log.commitTo(Math.min(m.commit, this.log.lastIndex()));
    this.send({ type: 'heartbeat-resp', to: m.from, from: this.id, term: this.term, readRound: m.readRound });
  }

  private handleSnapshotChunk(m: SnapshotChunk): void {
    if (m.meta.index <= this.log.committed) {
      this.incoming = null;
      this.respondAppend(m.from, this.log.committed, false, 0, 0);
      return;
    }
    if (m.offset === 0) {
      this.incoming = { from: m.from, meta: m.meta, totalBytes: m.totalBytes, parts: [], received: 0 };
    }
    const inc = this.incoming;
    if (inc === null || inc.meta.index !== m.meta.index || inc.from !== m.from || inc.totalBytes !== m.totalBytes) {
      this.respondSnapshot(m, 0, true);
      return;
    }
    if (m.offset !== inc.received) {
      // A lost or duplicated chunk: tell the leader where we are.
      this.respondSnapshot(m, inc.received, false);
      return;
    }
    if (inc.received + m.chunk.length > inc.totalBytes) {
      this.incoming = null;
      this.respondSnapshot(m, 0, true);
      return;
    }
    inc.parts.push(m.chunk);
    inc.received += m.chunk.length;
    if (inc.received < inc.totalBytes) {
      this.respondSnapshot(m, inc.received, false);
      return;
    }
    this.incoming = null;
    this.restoreSnapshot({ meta: inc.meta, data: concat(inc.parts, inc.totalBytes) });
    // Vouch only for what the snapshot proves: entries after it may still conflict.
    this.respondAppend(m.from, this.log.committed, false, 0, 0);
  }

  private respondSnapshot(m: SnapshotChunk, nextOffset: number, reject: boolean): void {
    this.send({
      type: 'snapshot-resp', to: m.from, from: this.id, term: this.term,
      snapshotIndex: m.meta.index, nextOffset, reject,
    });
  }

  private restoreSnapshot(snapshot: Snapshot): void {
    const { index, term } = snapshot.meta;
    if (this.log.matchTerm(index, term)) {
      // We already hold the entry the snapshot ends at: the log after it stays valid.
      this.log.commitTo(index);
      return;
    }
    this.log.restore(snapshot);
    this.members.restored(index, membershipOfSnapshot(snapshot.meta));
    if (isMember(this.members.latest(), this.id)) this.joinPending = false;
  }

  // ---------------------------------------------------------------- leader

  private stepLeader(m: Message): void {
    // Answers from nodes that are no longer (or not yet) members are ignored.
    if (!this.prs.has(m.from)) return;
    switch (m.type) {
      case 'append':
      case 'heartbeat':
      case 'snapshot':
        assert(false, () => `two leaders in term ${this.term}: ${this.id} and ${m.from}`);
        return;
      case 'append-resp':
        this.handleAppendResponse(m);
        return;
      case 'heartbeat-resp':
        this.handleHeartbeatResponse(m);
        return;
      case 'snapshot-resp':
        this.handleSnapshotResponse(m);
        return;
      default:
        return;
    }
  }

  private handleAppendResponse(m: AppendResponse): void {
    const pr = this.progress(m.from);
    pr.recentActive = true;
    if (m.reject) {
      let hint = m.hintIndex;
      if (m.hintTerm > 0) hint = this.log.findConflictByTerm(m.hintIndex, m.hintTerm).index;
      if (pr.maybeDecrTo(m.index, hint)) {
        if (pr.state === 'replicate') pr.becomeProbe();
        this.sendAppend(m.from, true);
      }
      return;
    }
    const wasPaused = pr.isPaused();
    if (!pr.maybeUpdate(m.index)) return;
    if (pr.state === 'probe') pr.becomeReplicate();
    else if (pr.state === 'snapshot' && pr.match >= pr.pendingSnapshot) {
      pr.becomeProbe();
      pr.becomeReplicate();
    } else if (pr.state === 'replicate') pr.inflights.freeLE(m.index);
    if (this.maybeCommit()) this.appendPending = true;
    // A follower that was paused when the commit moved missed the broadcast: tell it now.
    else if (wasPaused) this.sendAppend(m.from, true);
    while (this.sendAppend(m.from, false)) { /* pipeline until paused or caught up */ }
    if (m.from === this.leadTransferee && pr.match === this.log.lastIndex()) {
      this.send({ type: 'timeout-now', to: m.from, from: this.id, term: this.term });
    }
  }

  private handleHeartbeatResponse(m: HeartbeatResponse): void {
    const pr = this.progress(m.from);
    pr.recentActive = true;
    if (pr.state === 'probe') pr.probeSent = false;
    else if (pr.state === 'replicate' && pr.inflights.full()) pr.inflights.freeFirstOne();
    if (pr.state !== 'snapshot' && pr.match < this.log.lastIndex()) this.sendAppend(m.from, true);
    if (m.readRound > pr.readRound) {
      pr.readRound = m.readRound;
      this.confirmReadRounds();
    }
  }

  private handleSnapshotResponse(m: SnapshotResponse): void {
    const pr = this.progress(m.from);
    pr.recentActive = true;
    if (pr.state !== 'snapshot' || m.snapshotIndex !== pr.pendingSnapshot) return;
    pr.snapshotStallBeats = 0;
    pr.snapshotOffset = m.reject ? 0 : m.nextOffset;
    this.sendSnapshotChunk(m.from, pr);
  }

  /** maybeCommit advances the commit index to what a quorum holds, counting only entries of this term (Figure 8). */
  private maybeCommit(): boolean {
    // Only voters of the configuration in force count; a leader being removed does not count itself.
    const matches = this.voters.map((id) => this.progress(id).match);
    const index = quorumIndex(matches);
    if (index <= this.log.committed || this.log.term(index) !== this.term) return false;
    const before = this.log.committed;
    this.log.commitTo(index);
    for (let i = before + 1; i <= index; i++) {
      const e = this.log.entry(i);
      if (e.term === this.term) this.uncommittedBytes -= e.data.length;
    }
    assert(this.uncommittedBytes >= 0, 'uncommitted byte count went negative');
    if (before < index && this.readsAwaitingTermCommit.length > 0 && this.committedInCurrentTerm()) {
      const waiting = this.readsAwaitingTermCommit;
      this.readsAwaitingTermCommit = [];
      for (const ctx of waiting) this.registerRead(ctx);
    }
    return true;
  }

  private appendEntry(type: Entry['type'], data: Uint8Array): Entry {
    const entry: Entry = { term: this.term, index: this.log.lastIndex() + 1, type, data };
    this.log.append(entry);
    this.appendPending = true;
    if (type === 'config') this.recordAppended([entry]);
    return entry;
  }

  /**
   * sendAppend sends the follower its next entries (or a snapshot if they are
   * compacted away). With `sendIfEmpty` false, nothing is sent when there are
   * no entries. Returns whether a message was sent.
   */
  private sendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.progress(to);
    if (pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    const prevTerm = this.log.term(prevIndex);
    if (prevTerm === undefined) {
      this.sendSnapshot(to, pr);
      return false;
    }
    const entries = pr.next <= this.log.lastIndex()
      ? this.log.slice(pr.next, this.cfg.maxEntriesPerMsg, this.cfg.maxBytesPerMsg)
      : [];
    if (entries.length === 0 && !sendIfEmpty) return false;
    const last = entries[entries.length - 1];
    this.send({
      type: 'append', to, from: this.id, term: this.term,
      prevIndex, prevTerm, entries, commit: this.log.committed,
    });
    pr.sentEntries(entries.length, last === undefined ? prevIndex : last.index);
    return true;
  }

  private sendSnapshot(to: NodeId, pr: Progress): void {
    const snap = this.log.snapshot;
    assert(snap !== null, () => `no snapshot to send ${to} although entries before ${pr.next} are compacted`);
    pr.becomeSnapshot(snap.meta.index);
    this.sendSnapshotChunk(to, pr);
  }

  private sendSnapshotChunk(to: NodeId, pr: Progress): void {
    const snap = this.log.snapshot;
    assert(snap !== null, 'sendSnapshotChunk: no snapshot');
    if (snap.meta.index !== pr.pendingSnapshot) pr.becomeSnapshot(snap.meta.index);
    const total = snap.data.length;
    if (pr.snapshotOffset > total) pr.snapshotOffset = 0;
    if (pr.snapshotOffset === total && total > 0) return; // all sent; wait for the follower's append-resp
    const chunk = snap.data.subarray(pr.snapshotOffset, pr.snapshotOffset + this.cfg.snapshotChunkBytes);
    this.send({
      type: 'snapshot', to, from: this.id, term: this.term,
      meta: snap.meta, offset: pr.snapshotOffset, totalBytes: total, chunk,
    });
  }

  private broadcastHeartbeat(): void {
    for (const to of this.prs.keys()) {
      if (to === this.id) continue;
      const pr = this.progress(to);
      this.send({
        type: 'heartbeat', to, from: this.id, term: this.term,
        commit: Math.min(pr.match, this.log.committed), readRound: this.lastReadRound,
      });
      if (pr.state === 'snapshot' && ++pr.snapshotStallBeats >= 3) {
        // The chunk or its answer was lost: send it again.
        pr.snapshotStallBeats = 0;
        this.sendSnapshotChunk(to, pr);
      }
    }
  }

  // ---------------------------------------------------------------- reads

  private committedInCurrentTerm(): boolean {
    return this.log.term(this.log.committed) === this.term;
  }

  private registerRead(ctx: number): void {
    if (this.openRound === null) {
      this.openRound = { round: ++this.lastReadRound, index: 0, ctxs: [] };
    }
    this.openRound.ctxs.push(ctx);
  }

  /** confirmReadRounds releases every sent round that a quorum has acknowledged. */
  private confirmReadRounds(): void {
    if (this.sentRounds.length === 0) return;
    const acked = quorumIndex(this.voters.map((id) => (id === this.id ? this.lastReadRound : this.progress(id).readRound)));
    let released = 0;
    for (const r of this.sentRounds) {
      if (r.round > acked) break;
      for (const ctx of r.ctxs) this.readStates.push({ ctx, index: r.index });
      this.pendingReadCount -= r.ctxs.length;
      released++;
    }
    if (released > 0) this.sentRounds.splice(0, released);
  }

  private dropReads(): void {
    for (const ctx of this.readsAwaitingTermCommit) this.droppedReads.push(ctx);
    if (this.openRound !== null) for (const ctx of this.openRound.ctxs) this.droppedReads.push(ctx);
    for (const r of this.sentRounds) for (const ctx of r.ctxs) this.droppedReads.push(ctx);
    this.readsAwaitingTermCommit = [];
    this.openRound = null;
    this.sentRounds = [];
    this.pendingReadCount = 0;
  }

  // ---------------------------------------------------------------- plumbing

  /** flush turns batched intentions (new entries, an open read round) into messages. */
  private flush(): void {
    if (this.role !== 'leader') return;
    if (this.appendPending) {
      this.appendPending = false;
      this.maybeCommit();
      for (const to of this.prs.keys()) if (to !== this.id) this.sendAppend(to, true);
      if (this.retiring) this.syncProgress();
      if (this.removedAndCommitted()) {
        this.stepDownAfterRemoval();
        return;
      }
    }
    if (this.openRound !== null) {
      this.openRound.index = this.log.committed;
      this.sentRounds.push(this.openRound);
      this.openRound = null;
      for (const to of this.prs.keys()) {
        if (to === this.id) continue;
        const pr = this.progress(to);
        this.send({
          type: 'heartbeat', to, from: this.id, term: this.term,
          commit: Math.min(pr.match, this.log.committed), readRound: this.lastReadRound,
        });
      }
      this.confirmReadRounds();
    }
  }

  /** removedAndCommitted: this leader is not a voter of the configuration in force, and that configuration is committed. */
  private removedAndCommitted(): boolean {
    return this.role === 'leader' && !this.voters.includes(this.id) && this.members.latestIndex() <= this.log.committed;
  }

  /**
   * stepDownAfterRemoval ends the leadership of a removed leader once its
   * removal commits (it led until then, without counting itself): it tells the
   * most caught-up voter to campaign at once, then becomes a follower that
   * never campaigns again.
   */
  private stepDownAfterRemoval(): void {
    let best: NodeId | null = null;
    let bestMatch = -1;
    for (const id of this.voters) {
      const match = this.progress(id).match;
      if (match > bestMatch) {
        best = id;
        bestMatch = match;
      }
    }
    if (best !== null && bestMatch === this.log.lastIndex()) {
      this.send({ type: 'timeout-now', to: best, from: this.id, term: this.term });
    }
    this.becomeFollower(this.term, null);
  }

  private progress(id: NodeId): Progress {
    const pr = this.prs.get(id);
    assert(pr !== undefined, () => `no progress for ${id} on ${this.id} (role ${this.role})`);
    return pr;
  }

  private send(m: Message): void {
    this.msgs.push(m);
  }

  private hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  private softState(): SoftState {
    return { role: this.role, leader: this.leader, term: this.term };
  }
}

function sameHard(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

function sameSoft(a: SoftState, b: SoftState): boolean {
  return a.role === b.role && a.leader === b.leader && a.term === b.term;
}

function concat(parts: readonly Uint8Array[], totalBytes: number): Uint8Array {
  const out = new Uint8Array(totalBytes);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

import { encodeCommand } from '../../src/lock/commandCodec.js';
import { LeaseClock } from '../../src/lock/leaseClock.js';
import type { LockLimits } from '../../src/lock/limits.js';
import type { ApplyResult, QueuedResult } from '../../src/lock/results.js';
import { LockStateMachine } from '../../src/lock/stateMachine.js';
import type { Entry, NodeId, ProposeResult, ReadState, Role, Snapshot, SoftState } from '../../src/raft/types.js';
import { fail } from './assert.js';
import { fnv1a32 } from './hash.js';
import { commandOf, type ClientRequest, type LoggedOp, type ReplyBody } from './packets.js';

/** ServicePort is what the service needs from the node around it (the shell's loop and its network). */
export interface ServicePort {
  /** nowMs: monotonic time (virtual in the simulator). */
  readonly nowMs: number;
  readonly id: NodeId;
  propose(data: Uint8Array): ProposeResult;
  readIndex(ctx: number): boolean;
  reply(req: ClientRequest, body: ReplyBody): void;
  forward(to: NodeId, data: Uint8Array): void;
}

/** A client proposal this node appended, answered when the entry at its index is applied. */
interface PendingProposal {
  readonly req: ClientRequest;
  readonly term: number;
}

/** A keepalive the clock accepted, acknowledged once the ReadIndex round registered after it is served. */
interface PendingKeepAlive {
  readonly req: ClientRequest;
  readonly leaseId: number;
}

/** Bounds: a node answers "retry" rather than grow these. */
const PROPOSALS_MAX = 1_024;
const WAITS_MAX = 1_024;
/** Expiries proposed per tick: the rest are due again on the next tick. */
const EXPIRIES_PER_TICK = 64;

/**
 * LockService is the lock service's logic around the Raft core, as a real
 * node runs it: the state machine every replica applies, the leader's lease
 * clock, and the bookkeeping that answers clients.
 *
 * - Every replica applies committed entries to its LockStateMachine (empty
 *   entries as no-ops) and keeps its LeaseClock's table in step with each
 *   ApplyResult, or resets it after restoring a snapshot.
 * - The clock runs only on a leader, and only once the leader has applied an
 *   entry of its own term (activate restarts every lease at its full TTL); it
 *   stops when the shell reports that leadership is lost.
 * - On every tick a leader proposes ExpireLease{proposerTerm: its term} for
 *   each lease due, and re-arms the lease if the proposal is refused.
 * - A keepalive is accepted by the clock, then acknowledged only when a
 *   ReadIndex round registered after it confirms leadership (one round
 *   serves every keepalive registered before it).
 * - A proposal the core refuses as `not-leader` is forwarded to the leader the
 *   core names — client requests excepted: clients are redirected. For an
 *   expiry this is the etcd#15247 path by which a deposed leader's expiry
 *   reaches the new leader; the state machine must ignore it (wrong term).
 * - An Acquire that queued is remembered by the node that proposed it; a
 *   promotion or a cancellation in a later ApplyResult answers the client.
 *   Leadership loss or a snapshot restore forgets every wait (the client
 *   re-sends its Acquire, which is idempotent, to the new leader).
 *
 * The service learns its role from the Ready's soft state, so it may act for
 * a moment on a role the core has already left; every decision must stay safe
 * under that lag.
 */
export class LockService {
  private machine: LockStateMachine;
  readonly clock = new LeaseClock();
  private role: Role = 'follower';
  private term = 0;
  private leader: NodeId | null = null;
  private readonly proposals = new Map<number, PendingProposal>();
  private readonly waits = new Map<string, ClientRequest>();
  private readonly keepalives = new Map<number, PendingKeepAlive>();
  private ctxNext = 1;

  constructor(
    private readonly limits: Partial<LockLimits>,
    private readonly port: ServicePort,
    snapshot: Snapshot | null,
  ) {
    this.machine = snapshot === null ? new LockStateMachine(limits) : LockStateMachine.restore(snapshot.data, limits);
    this.clock.reset(this.machine.listLeases());
  }

  /** sm is the state machine, for inspection (the checker); only the service mutates it. */
  get sm(): LockStateMachine {
    return this.machine;
  }

  get lastApplied(): number {
    return this.machine.lastAppliedIndex;
  }

  snapshot(): Uint8Array {
    return this.machine.snapshot();
  }

  /** digest summarises the whole state: snapshots are byte-identical on every replica. */
  digest(): number {
    return fnv1a32(this.machine.snapshot());
  }

  // ------------------------------------------------------------ from the shell

  /** onSoftState follows the core's role; leaving leadership (or its term) stops the clock and fails what waits on this leader. */
  onSoftState(ss: SoftState): void {
    const wasLeader = this.role === 'leader';
    const oldTerm = this.term;
    this.role = ss.role;
    this.term = ss.term;
    this.leader = ss.leader;
    if (wasLeader && (ss.role !== 'leader' || ss.term !== oldTerm)) this.stepDown();
  }

  /**
   * applyEntry applies one committed entry to the state machine and keeps the
   * clock's table in step; it returns the ApplyResult (null for an empty
   * entry). The shell then calls afterApply with it (in between, a node may
   * log or export the result; the simulator checks it).
   */
  applyEntry(e: Entry): ApplyResult | null {
    const r = this.applyToMachine(e);
    if (r !== null) this.followLeases(r);
    return r;
  }

  /** afterApply answers the clients an applied entry concerns, and starts the clock at a leader's first entry of its term. */
  afterApply(e: Entry, r: ApplyResult | null): void {
    if (r !== null) this.answerWaits(e, r);
    this.answerProposal(e, r);
    this.maybeActivateClock(e);
  }

  /** restoreSnapshot replaces the state with a snapshot; what this node was waiting to see applied is skipped. */
  restoreSnapshot(snap: Snapshot): void {
    this.machine = LockStateMachine.restore(snap.data, this.limits);
    this.clock.deactivate();
    this.clock.reset(this.machine.listLeases());
    this.failProposalsThrough(snap.meta.index, 'skipped by a snapshot');
    this.failWaits('skipped by a snapshot');
  }

  tick(): void {
    this.expireDueLeases();
  }

  handleRequest(req: ClientRequest): void {
    if (req.op.kind === 'keepalive') this.keepAlive(req, req.op.leaseId);
    else this.proposeRequest(req, req.op);
  }

  /** handleForward proposes a forwarded proposal; one hop only, so a refused one is dropped. */
  handleForward(data: Uint8Array): void {
    this.port.propose(data);
  }

  onReadServed(rs: ReadState): void {
    const ka = this.keepalives.get(rs.ctx);
    if (ka === undefined) fail(`${this.port.id}: served read ctx ${rs.ctx} that no keepalive registered`);
    this.keepalives.delete(rs.ctx);
    this.answerKeepAlive(ka);
  }

  onReadDropped(ctx: number): void {
    const ka = this.keepalives.get(ctx);
    if (ka === undefined) fail(`${this.port.id}: dropped read ctx ${ctx} that no keepalive registered`);
    this.keepalives.delete(ctx);
    this.port.reply(ka.req, { kind: 'retry', why: 'leadership lost before the keepalive was confirmed' });
  }

  // ------------------------------------------------------------ applying

  private applyToMachine(e: Entry): ApplyResult | null {
    if (e.type === 'empty' || e.type === 'config') {
      this.machine.applyNoop(e.index);
      return null;
    }
    return this.machine.apply({ index: e.index, term: e.term, data: e.data });
  }

  /** followLeases keeps the clock's table in step with the state machine, on every replica. */
  private followLeases(r: ApplyResult): void {
    if (r.leaseGranted !== null) this.clock.leaseGranted(r.leaseGranted.leaseId, r.leaseGranted.ttlMs, this.port.nowMs);
    for (const leaseId of r.leasesRemoved) this.clock.leaseRemoved(leaseId);
  }

  /** answerWaits tells the clients whose waits this node remembers that they were granted, or lost. */
  private answerWaits(e: Entry, r: ApplyResult): void {
    if (this.waits.size === 0) return;
    for (const p of r.promoted) {
      const req = this.takeWait(p.leaseId, p.name);
      if (req !== null) this.port.reply(req, { kind: 'promoted', name: p.name, leaseId: p.leaseId, token: p.token, mode: p.mode, term: e.term });
    }
    for (const c of r.cancelledWaits) {
      const req = this.takeWait(c.leaseId, c.name);
      if (req !== null) this.port.reply(req, { kind: 'wait-cancelled', name: c.name, leaseId: c.leaseId });
    }
    if (r.result.kind === 'withdrawn') this.takeWait(r.result.leaseId, r.result.name);
  }

  /** answerProposal answers the client whose proposal this node appended at e.index. */
  private answerProposal(e: Entry, r: ApplyResult | null): void {
    const p = this.proposals.get(e.index);
    if (p === undefined) return;
    this.proposals.delete(e.index);
    if (p.term !== e.term) {
      this.port.reply(p.req, { kind: 'retry', why: `overwritten by t${e.term}` });
      return;
    }
    if (r === null) fail(`${this.port.id}: proposal ${e.index}@t${e.term} was applied as an empty entry`);
    if (r.result.kind === 'queued') this.rememberWait(p.req, r.result);
    this.port.reply(p.req, { kind: 'result', result: r.result, index: e.index, term: e.term });
  }

  /** maybeActivateClock starts the clock once a leader has applied (so committed) an entry of its own term. */
  private maybeActivateClock(e: Entry): void {
    if (this.role === 'leader' && !this.clock.isActive && e.term === this.term) this.clock.activate(this.port.nowMs);
  }

  // ------------------------------------------------------------ leadership

  private stepDown(): void {
    this.clock.deactivate();
    this.failProposalsThrough(Infinity, 'leadership lost');
    this.failWaits('leadership lost');
  }

  private failProposalsThrough(index: number, why: string): void {
    for (const [at, p] of this.proposals) {
      if (at > index) continue;
      this.proposals.delete(at);
      this.port.reply(p.req, { kind: 'retry', why });
    }
  }

  private failWaits(why: string): void {
    for (const req of this.waits.values()) this.port.reply(req, { kind: 'retry', why });
    this.waits.clear();
  }

  // ------------------------------------------------------------ leases

  private expireDueLeases(): void {
    const next = this.clock.nextDeadlineMs(); // null while inactive
    if (next === null || next > this.port.nowMs) return;
    for (const leaseId of this.clock.dueForExpiry(this.port.nowMs, this.term, EXPIRIES_PER_TICK)) this.proposeExpiry(leaseId);
  }

  /**
   * proposeExpiry proposes ExpireLease in the term the clock decided it. Refused
   * as not-leader (the core has stepped down before the shell saw it), it is
   * forwarded like any proposal, and not re-armed: the clock stops when the
   * step-down surfaces. Any other refusal re-arms the lease for the next tick.
   */
  private proposeExpiry(leaseId: number): void {
    const data = encodeCommand({ type: 'expire-lease', leaseId, proposerTerm: this.term });
    const res = this.port.propose(data);
    if (res.ok) return;
    if (res.reason === 'not-leader' && res.leader !== null && res.leader !== this.port.id) {
      this.port.forward(res.leader, data);
      return;
    }
    this.clock.expiryFailed(leaseId);
  }

  private keepAlive(req: ClientRequest, leaseId: number): void {
    const out = this.clock.keepAlive(leaseId, this.port.nowMs);
    switch (out.kind) {
      case 'not-leader':
        // A leader whose clock has not started yet (no entry of its term applied) asks for a retry.
        if (this.role === 'leader') return this.port.reply(req, { kind: 'retry', why: 'lease clock not started' });
        return this.port.reply(req, { kind: 'redirect', leader: this.leader });
      case 'not-found':
      case 'expiring':
        return this.port.reply(req, { kind: 'lease-gone' });
      case 'accepted':
        return this.confirmKeepAlive(req, leaseId);
    }
  }

  /** confirmKeepAlive registers a ReadIndex round; the keepalive is acknowledged when it is served. */
  private confirmKeepAlive(req: ClientRequest, leaseId: number): void {
    const ctx = this.ctxNext++;
    if (!this.port.readIndex(ctx)) {
      this.port.reply(req, { kind: 'retry', why: 'read index refused' });
      return;
    }
    this.keepalives.set(ctx, { req, leaseId });
  }

  /** answerKeepAlive acknowledges a confirmed keepalive with the lease's TTL, or says the lease is gone. */
  private answerKeepAlive(ka: PendingKeepAlive): void {
    const lease = this.machine.getLease(ka.leaseId);
    if (lease === null) this.port.reply(ka.req, { kind: 'lease-gone' });
    else this.port.reply(ka.req, { kind: 'keepalive-ok', ttlMs: lease.ttlMs, grantedIndex: lease.grantedIndex });
  }

  // ------------------------------------------------------------ proposals

  private proposeRequest(req: ClientRequest, op: LoggedOp): void {
    if (this.proposals.size >= PROPOSALS_MAX) {
      this.port.reply(req, { kind: 'retry', why: 'too many proposals in flight' });
      return;
    }
    const res = this.port.propose(encodeCommand(commandOf(op)));
    if (!res.ok) {
      if (res.reason === 'not-leader') this.port.reply(req, { kind: 'redirect', leader: res.leader });
      else this.port.reply(req, { kind: 'retry', why: res.reason });
      return;
    }
    const clash = this.proposals.get(res.index);
    if (clash !== undefined) this.port.reply(clash.req, { kind: 'retry', why: `overwritten by t${res.term}` });
    this.proposals.set(res.index, { req, term: res.term });
  }

  private rememberWait(req: ClientRequest, q: QueuedResult): void {
    if (this.waits.size >= WAITS_MAX) return; // the client's wait times out and withdraws
    this.waits.set(waitKey(q.leaseId, q.name), req);
  }

  private takeWait(leaseId: number, name: string): ClientRequest | null {
    const key = waitKey(leaseId, name);
    const req = this.waits.get(key);
    if (req === undefined) return null;
    this.waits.delete(key);
    return req;
  }
}

function waitKey(leaseId: number, name: string): string {
  return `${leaseId}\u0000${name}`;
}

import type { LockMode } from '../../src/lock/commands.js';
import type { CommandResult } from '../../src/lock/results.js';
import type { SeededRng } from '../../src/raft/prng.js';
import type { NodeId } from '../../src/raft/types.js';
import { check } from './assert.js';
import { formatOp, type ClientReply, type ClientRequest, type LoggedOp, type ReplyBody } from './packets.js';

/**
 * Clients simulates lock clients, each behaving like an application using the
 * client library over the simulated network (requests and replies are delayed,
 * lost, duplicated and cut like any packet; a partition can strand a client
 * with a deposed leader).
 *
 * A client grants itself a lease (a client-chosen id, never reused, and an
 * idempotent Grant), keeps it alive every ttl/3 counted from the moment each
 * keepalive is SENT, and counts the lease as its own until the send time of
 * the last acknowledged keepalive (or of the grant's first attempt) plus the
 * TTL; then, or when the cluster says the lease is gone, it drops the lease
 * with its locks and starts over with a new id. Some clients stop keeping
 * their lease alive at a random time, so it lapses.
 *
 * While it has a lease it loops: acquire one of a few lock names (exclusive or
 * shared; try once, or wait up to a timeout, then withdraw the wait through
 * the log), hold it a while, release it with its token; sometimes revoke the
 * lease. One operation is in flight at a time, retried (with exponential
 * backoff) on timeout and on "retry", at once on redirect; retries are safe (Acquire by the same lease
 * returns the same grant; Release names its token; Grant is idempotent).
 *
 * Liveness: once the cluster is healed each client finishes the operation it
 * has in flight and starts no other; client 0 then runs one probe through the
 * log. The run converges only when all of that is done.
 */

export interface ClientHost {
  readonly nowMs: number;
  readonly nodeIds: readonly NodeId[];
  sendRequest(client: number, node: number, req: ClientRequest): void;
  scheduleClient(client: number, atMs: number): void;
  /** note records a trace line for client `client`. */
  noteClient(client: number, text: string): void;
}

export interface LockWorkload {
  readonly clientCount: number;
  readonly lockNames: readonly string[];
  readonly ttlMinMs: number;
  readonly ttlMaxMs: number;
  /** keepAliveStopChance: chance a lease's client stops keeping it alive at a random time (the lease lapses). */
  readonly keepAliveStopChance: number;
  readonly sharedChance: number;
  /** waitChance: chance an Acquire waits (up to waitMaxMs) rather than trying once. */
  readonly waitChance: number;
  readonly waitMaxMs: number;
  readonly holdMaxMs: number;
  /** thinkMaxMs: the longest pause between two operations. */
  readonly thinkMaxMs: number;
  /** revokeChance: chance a client with a lease and no lock revokes it instead of acquiring. */
  readonly revokeChance: number;
  readonly requestTimeoutMs: number;
}

export interface ClientStats {
  requestsSent: number;
  opsCompleted: number;
  acquiresGranted: number;
  acquiresRefused: number;
  waitsTimedOut: number;
  releases: number;
  leasesLost: number;
  grantsAbandoned: number;
  keepalivesSent: number;
}

interface Operation {
  readonly reqId: number;
  readonly op: LoggedOp;
  readonly firstSentMs: number;
  sentMs: number;
  attempt: number;
  /** resendAtMs: when to send the next attempt (Infinity while a wait is queued). */
  resendAtMs: number;
  /** redirects: consecutive redirects, to back off from stale leader hints. */
  redirects: number;
  /** An Acquire that waits: when the client withdraws. */
  readonly waitUntilMs: number;
  queued: boolean;
  /** probe: client 0's liveness probe. */
  readonly probe: boolean;
}

interface ClientLease {
  readonly id: number;
  readonly ttlMs: number;
  /** expiresAtMs: the client's own deadline (last acknowledged send + ttl). */
  expiresAtMs: number;
  nextKeepAliveMs: number;
  readonly stopKeepAliveAtMs: number;
}

interface Holding {
  readonly name: string;
  readonly token: number;
  readonly mode: LockMode;
  readonly untilMs: number;
}

class LockClient {
  target: number;
  lease: ClientLease | null = null;
  op: Operation | null = null;
  holding: Holding | null = null;
  /** The reqId of an Acquire whose wait is being withdrawn: its promotion may still arrive. */
  withdrawnAcquire = -1;
  nextActionMs = 0;
  /** Outstanding keepalives: reqId -> send time. */
  readonly keepalives = new Map<number, number>();
  lastKeepAliveMs = -Infinity;
  wakeAtMs = -1;
  reqNext = 0;
  leaseSeq = 0;
  finishing = false;
  probeDone = true;
  constructor(readonly idx: number, target: number) {
    this.target = target;
  }
}

const KEEPALIVES_OUTSTANDING_MAX = 4;
const RETRY_BACKOFF_MS = 15;
const BACKOFF_FACTOR_MAX = 8;
const REDIRECTS_BEFORE_BACKOFF = 3;
/** Lease ids: client c uses c * LEASE_ID_STRIDE + 1, + 2, ... — unique across clients, never reused. */
const LEASE_ID_STRIDE = 1_000_000;

export function emptyClientStats(): ClientStats {
  return {
    requestsSent: 0, opsCompleted: 0, acquiresGranted: 0, acquiresRefused: 0, waitsTimedOut: 0,
    releases: 0, leasesLost: 0, grantsAbandoned: 0, keepalivesSent: 0,
  };
}

export class Clients {
  readonly stats: ClientStats = emptyClientStats();
  private readonly clients: LockClient[] = [];
  private readonly idxById = new Map<NodeId, number>();

  constructor(private readonly w: LockWorkload, private readonly rng: SeededRng, private readonly host: ClientHost) {
    host.nodeIds.forEach((id, i) => this.idxById.set(id, i));
    for (let c = 0; c < w.clientCount; c++) this.clients.push(new LockClient(c, rng.nextInt(host.nodeIds.length)));
  }

  start(): void {
    for (const cl of this.clients) {
      cl.nextActionMs = this.host.nowMs + this.rng.nextFloat() * this.w.thinkMaxMs;
      this.wantWake(cl, cl.nextActionMs);
    }
  }

  /** startLiveness: every client finishes what it has in flight; client 0 then probes the log once. */
  startLiveness(): void {
    for (const cl of this.clients) {
      cl.finishing = true;
      this.wantWake(cl, this.host.nowMs);
    }
    (this.clients[0] as LockClient).probeDone = false;
  }

  /** livenessPending says which client has not finished yet, or '' when all have. */
  livenessPending(): string {
    for (const cl of this.clients) {
      if (cl.op !== null) return `client ${cl.idx} still has ${formatOp(cl.op.op)} in flight (attempt ${cl.op.attempt}, first sent at ${cl.op.firstSentMs.toFixed(1)}ms)`;
      if (!cl.probeDone) return `client ${cl.idx} has not completed its probe`;
    }
    return '';
  }

  /** wake runs a client's scheduled step; superseded wake-ups are ignored. */
  wake(c: number, atMs: number): void {
    const cl = this.clients[c] as LockClient;
    if (atMs !== cl.wakeAtMs) return;
    cl.wakeAtMs = -1;
    this.step(cl);
    this.scheduleNext(cl);
  }

  onReply(reply: ClientReply): void {
    const cl = this.clients[reply.client] as LockClient;
    if (cl.keepalives.has(reply.reqId)) this.keepAliveReply(cl, reply);
    else if (cl.op !== null && reply.reqId === cl.op.reqId) this.opReply(cl, cl.op, reply);
    else if (reply.body.kind === 'promoted' && reply.reqId === cl.withdrawnAcquire) this.promotedWhileWithdrawing(cl, reply.body);
    this.scheduleNext(cl);
  }

  // ------------------------------------------------------------ stepping

  private step(cl: LockClient): void {
    const now = this.host.nowMs;
    if (cl.lease !== null && now >= cl.lease.expiresAtMs) this.leaseLost(cl, 'its own deadline passed');
    this.expireKeepAlives(cl, now);
    this.maybeKeepAlive(cl, now);
    if (cl.op !== null) this.progress(cl, cl.op, now);
    else this.maybeAct(cl, now);
  }

  private scheduleNext(cl: LockClient): void {
    const now = this.host.nowMs;
    let next = Infinity;
    const lease = cl.lease;
    if (lease !== null) {
      next = Math.min(next, lease.expiresAtMs, lease.nextKeepAliveMs);
    }
    for (const sentMs of cl.keepalives.values()) next = Math.min(next, sentMs + this.w.requestTimeoutMs);
    const op = cl.op;
    if (op !== null) {
      next = Math.min(next, op.resendAtMs);
      if (op.queued) next = Math.min(next, op.waitUntilMs);
      if (op.op.kind === 'grant') next = Math.min(next, this.grantGiveUpMs(op));
    } else if (!cl.finishing || !cl.probeDone) {
      next = Math.min(next, cl.holding !== null ? Math.max(cl.nextActionMs, cl.holding.untilMs) : cl.nextActionMs);
    }
    if (next < Infinity) this.wantWake(cl, Math.max(next, now));
  }

  /** wantWake schedules a wake-up unless an earlier one is pending. */
  private wantWake(cl: LockClient, atMs: number): void {
    if (cl.wakeAtMs >= 0 && cl.wakeAtMs <= atMs) return;
    cl.wakeAtMs = atMs;
    this.host.scheduleClient(cl.idx, atMs);
  }

  /** progress resends a timed-out request, withdraws an expired wait, or gives up a grant that took too long. */
  private progress(cl: LockClient, op: Operation, now: number): void {
    if (op.op.kind === 'grant' && now >= this.grantGiveUpMs(op)) {
      // Its lease, if some attempt created it, has lapsed by the client's count: never use the id again.
      this.stats.grantsAbandoned++;
      this.finish(cl, `abandoned ${formatOp(op.op)}`);
      return;
    }
    if (op.queued) {
      if (now >= op.waitUntilMs) this.withdraw(cl, op);
      return;
    }
    if (now >= op.resendAtMs) {
      if (now >= op.sentMs + this.w.requestTimeoutMs) this.retarget(cl);
      this.send(cl, op);
    }
  }

  private maybeAct(cl: LockClient, now: number): void {
    if (cl.finishing) {
      if (!cl.probeDone) this.probe(cl);
      return;
    }
    if (now < cl.nextActionMs) return;
    if (cl.lease === null) return this.startGrant(cl);
    if (cl.holding !== null) {
      if (now >= cl.holding.untilMs) this.startRelease(cl, cl.lease, cl.holding);
      return;
    }
    if (this.w.revokeChance > 0 && this.rng.chance(this.w.revokeChance)) return this.startOp(cl, { kind: 'revoke', leaseId: cl.lease.id }, false);
    this.startAcquire(cl, cl.lease);
  }

  /** probe: one operation through the log after healing (a grant without a lease, else a try-once acquire). */
  private probe(cl: LockClient): void {
    if (cl.lease === null) return this.startGrant(cl, true);
    const name = cl.holding?.name ?? (this.w.lockNames[this.rng.nextInt(this.w.lockNames.length)] as string);
    const mode = cl.holding?.mode ?? 'exclusive';
    this.startOp(cl, { kind: 'acquire', name, leaseId: cl.lease.id, mode, wait: false }, true);
  }

  // ------------------------------------------------------------ operations

  private startGrant(cl: LockClient, probe = false): void {
    const leaseId = cl.idx * LEASE_ID_STRIDE + ++cl.leaseSeq;
    check(cl.leaseSeq < LEASE_ID_STRIDE, () => `client ${cl.idx} ran out of lease ids`);
    const ttlMs = Math.round(this.w.ttlMinMs + this.rng.nextFloat() * (this.w.ttlMaxMs - this.w.ttlMinMs));
    this.startOp(cl, { kind: 'grant', leaseId, ttlMs }, probe);
  }

  private startAcquire(cl: LockClient, lease: ClientLease): void {
    const name = this.w.lockNames[this.rng.nextInt(this.w.lockNames.length)] as string;
    const mode: LockMode = this.w.sharedChance > 0 && this.rng.chance(this.w.sharedChance) ? 'shared' : 'exclusive';
    const wait = this.w.waitChance > 0 && this.rng.chance(this.w.waitChance);
    const waitMs = wait ? this.rng.nextFloat() * this.w.waitMaxMs : 0;
    this.startOp(cl, { kind: 'acquire', name, leaseId: lease.id, mode, wait }, false, waitMs);
  }

  private startRelease(cl: LockClient, lease: ClientLease, h: Holding): void {
    this.startOp(cl, { kind: 'release', name: h.name, leaseId: lease.id, token: h.token }, false);
  }

  /** withdraw gives up a queued wait: WithdrawWait goes through the log, so a late grant cannot go astray. */
  private withdraw(cl: LockClient, acquire: Operation): void {
    if (acquire.op.kind !== 'acquire') return;
    this.stats.waitsTimedOut++;
    cl.withdrawnAcquire = acquire.reqId;
    cl.op = null;
    this.startOp(cl, { kind: 'withdraw', name: acquire.op.name, leaseId: acquire.op.leaseId }, acquire.probe);
  }

  private startOp(cl: LockClient, op: LoggedOp, probe: boolean, waitMs = 0): void {
    check(cl.op === null, () => `client ${cl.idx} starts ${formatOp(op)} with ${formatOp((cl.op as Operation).op)} in flight`);
    const now = this.host.nowMs;
    cl.op = {
      reqId: ++cl.reqNext, op, firstSentMs: now, sentMs: now, attempt: 0, resendAtMs: now,
      redirects: 0, waitUntilMs: now + waitMs, queued: false, probe,
    };
    this.send(cl, cl.op);
  }

  private send(cl: LockClient, op: Operation): void {
    const now = this.host.nowMs;
    op.attempt++;
    op.sentMs = now;
    op.resendAtMs = now + this.backoff(op, this.w.requestTimeoutMs);
    const countFromMs = op.op.kind === 'grant' ? op.firstSentMs : now;
    this.stats.requestsSent++;
    this.host.sendRequest(cl.idx, cl.target, { type: 'client-request', client: cl.idx, reqId: op.reqId, attempt: op.attempt, op: op.op, countFromMs });
  }

  /** finish ends the operation in flight; the client thinks a while before the next. */
  private finish(cl: LockClient, what: string): void {
    cl.op = null;
    this.stats.opsCompleted++;
    cl.nextActionMs = this.host.nowMs + this.rng.nextFloat() * this.w.thinkMaxMs;
    this.host.noteClient(cl.idx, what);
  }

  /**
   * backoff grows the wait before the next attempt exponentially (up to
   * BACKOFF_FACTOR_MAX times `baseMs`): every retry of a logged operation
   * appends another entry, so retrying at a fixed pace while commits are slow
   * would only lengthen the backlog that makes them slow.
   */
  private backoff(op: Operation, baseMs: number): number {
    return baseMs * Math.min(2 ** (op.attempt - 1), BACKOFF_FACTOR_MAX);
  }

  /** grantGiveUpMs: by its own count the lease would have lapsed by then, so a later answer is useless. */
  private grantGiveUpMs(op: Operation): number {
    return op.op.kind === 'grant' ? op.firstSentMs + op.op.ttlMs : Infinity;
  }

  // ------------------------------------------------------------ replies

  private opReply(cl: LockClient, op: Operation, reply: ClientReply): void {
    const body = reply.body;
    switch (body.kind) {
      case 'redirect':
        if (reply.attempt !== op.attempt || op.queued) return;
        this.redirect(cl, body.leader, reply.from);
        op.redirects++;
        op.resendAtMs = this.host.nowMs + (op.redirects > REDIRECTS_BEFORE_BACKOFF ? RETRY_BACKOFF_MS : 0);
        return;
      case 'retry':
        // A queued wait the leader forgot (it lost leadership): send the Acquire again, to re-register it.
        if (op.queued) op.queued = false;
        else if (reply.attempt !== op.attempt) return;
        op.resendAtMs = this.host.nowMs + this.backoff(op, RETRY_BACKOFF_MS);
        return;
      case 'result':
        return this.onResult(cl, op, body.result);
      case 'promoted':
        return this.hold(cl, body.name, body.token, body.mode, `promoted to ${body.mode} holder of ${body.name} with token ${body.token}`);
      case 'wait-cancelled':
        return this.leaseLost(cl, `its wait on ${body.name} was cancelled`);
      default:
        return;
    }
  }

  private onResult(cl: LockClient, op: Operation, res: CommandResult): void {
    const now = this.host.nowMs;
    if (op.probe) cl.probeDone = true;
    switch (res.kind) {
      case 'lease-granted': {
        const ttlMs = res.ttlMs;
        const stopAt = this.w.keepAliveStopChance > 0 && this.rng.chance(this.w.keepAliveStopChance) ? now + this.rng.nextFloat() * 3 * ttlMs : Infinity;
        cl.lease = { id: res.leaseId, ttlMs, expiresAtMs: op.firstSentMs + ttlMs, nextKeepAliveMs: op.firstSentMs + ttlMs / 3, stopKeepAliveAtMs: stopAt };
        cl.holding = null;
        return this.finish(cl, `has lease ${res.leaseId} (ttl ${ttlMs}ms${stopAt < Infinity ? `, stops keeping it alive at ${stopAt.toFixed(1)}ms` : ''})`);
      }
      case 'granted':
        return this.hold(cl, res.name, res.token, res.mode, `holds ${res.name} ${res.mode} with token ${res.token}${res.existing ? ' (retry)' : ''}`);
      case 'queued':
        op.queued = true;
        op.resendAtMs = Infinity;
        return;
      case 'withdrawn':
        cl.withdrawnAcquire = -1;
        return this.finish(cl, `withdrew its wait on ${res.name}`);
      case 'not-waiting':
        cl.withdrawnAcquire = -1;
        if (res.heldToken !== null) return this.hold(cl, res.name, res.heldToken, this.modeOf(cl, res.name), `was granted ${res.name} before withdrawing (token ${res.heldToken})`);
        return this.finish(cl, `was not waiting on ${res.name} any more`);
      case 'released':
      case 'not-holder':
      case 'stale-token':
        cl.holding = null;
        this.stats.releases++;
        return this.finish(cl, `released ${res.name}: ${res.kind}`);
      case 'lease-revoked':
        cl.lease = null;
        cl.holding = null;
        cl.keepalives.clear();
        return this.finish(cl, `revoked lease ${res.leaseId}`);
      case 'lease-not-found':
        if (op.op.kind === 'revoke') cl.lease = null;
        return this.leaseLost(cl, `lease ${res.leaseId} not found`);
      default:
        this.stats.acquiresRefused++;
        return this.finish(cl, `${formatOp(op.op)} refused: ${res.kind}`);
    }
  }

  private hold(cl: LockClient, name: string, token: number, mode: LockMode, what: string): void {
    this.stats.acquiresGranted++;
    cl.holding = { name, token, mode, untilMs: this.host.nowMs + this.rng.nextFloat() * this.w.holdMaxMs };
    this.finish(cl, what);
  }

  /** promotedWhileWithdrawing: the grant raced the withdraw; the withdraw's result will name the same token. */
  private promotedWhileWithdrawing(cl: LockClient, body: Extract<ReplyBody, { kind: 'promoted' }>): void {
    if (cl.lease === null || cl.lease.id !== body.leaseId || cl.holding !== null) return;
    cl.holding = { name: body.name, token: body.token, mode: body.mode, untilMs: this.host.nowMs + this.rng.nextFloat() * this.w.holdMaxMs };
    this.host.noteClient(cl.idx, `promoted on ${body.name} (token ${body.token}) while withdrawing`);
  }

  private modeOf(cl: LockClient, name: string): LockMode {
    return cl.holding !== null && cl.holding.name === name ? cl.holding.mode : 'exclusive';
  }

  /** leaseLost drops the lease with its locks and any operation in flight; the next operation grants a new lease. */
  private leaseLost(cl: LockClient, why: string): void {
    if (cl.lease === null && cl.op === null) return;
    this.stats.leasesLost++;
    const id = cl.lease?.id;
    cl.lease = null;
    cl.holding = null;
    cl.keepalives.clear();
    cl.withdrawnAcquire = -1;
    if (cl.op !== null) this.finish(cl, `lost lease ${String(id)}: ${why}`);
    else this.host.noteClient(cl.idx, `lost lease ${String(id)}: ${why}`);
  }

  // ------------------------------------------------------------ keepalives

  private maybeKeepAlive(cl: LockClient, now: number): void {
    const lease = cl.lease;
    if (lease === null || now < lease.nextKeepAliveMs) return;
    if (now >= lease.stopKeepAliveAtMs) lease.nextKeepAliveMs = Infinity; // this client has stopped: its lease lapses
    else this.sendKeepAlive(cl, lease, now);
  }

  private sendKeepAlive(cl: LockClient, lease: ClientLease, now: number): void {
    lease.nextKeepAliveMs = now + lease.ttlMs / 3;
    cl.lastKeepAliveMs = now;
    if (cl.keepalives.size >= KEEPALIVES_OUTSTANDING_MAX) return;
    const reqId = ++cl.reqNext;
    cl.keepalives.set(reqId, now);
    this.stats.keepalivesSent++;
    this.stats.requestsSent++;
    this.host.sendRequest(cl.idx, cl.target, { type: 'client-request', client: cl.idx, reqId, attempt: 1, op: { kind: 'keepalive', leaseId: lease.id }, countFromMs: now });
  }

  private keepAliveReply(cl: LockClient, reply: ClientReply): void {
    const sentMs = cl.keepalives.get(reply.reqId) as number;
    cl.keepalives.delete(reply.reqId);
    const lease = cl.lease;
    if (lease === null) return;
    const body = reply.body;
    switch (body.kind) {
      case 'keepalive-ok':
        if (sentMs + lease.ttlMs > lease.expiresAtMs) lease.expiresAtMs = sentMs + lease.ttlMs;
        return;
      case 'lease-gone':
        return this.leaseLost(cl, 'the leader says it is gone');
      case 'redirect':
        this.redirect(cl, body.leader, reply.from);
        return this.keepAliveSoon(cl, lease);
      case 'retry':
        return this.keepAliveSoon(cl, lease);
    }
  }

  /**
   * keepAliveSoon retries a keepalive that was refused, rather than wait a whole
   * interval the lease may not survive; rate-limited, since leader hints can be
   * stale and circular.
   */
  private keepAliveSoon(cl: LockClient, lease: ClientLease): void {
    if (lease.nextKeepAliveMs < lease.stopKeepAliveAtMs) lease.nextKeepAliveMs = Math.min(lease.nextKeepAliveMs, cl.lastKeepAliveMs + RETRY_BACKOFF_MS);
  }

  /** expireKeepAlives forgets keepalives unanswered for a request timeout, and tries another node at once. */
  private expireKeepAlives(cl: LockClient, now: number): void {
    let expired = false;
    for (const [reqId, sentMs] of cl.keepalives) {
      if (now < sentMs + this.w.requestTimeoutMs) continue;
      cl.keepalives.delete(reqId);
      expired = true;
    }
    if (!expired) return;
    this.retarget(cl);
    const lease = cl.lease;
    if (lease !== null && lease.nextKeepAliveMs < Infinity) lease.nextKeepAliveMs = Math.min(lease.nextKeepAliveMs, now);
  }

  // ------------------------------------------------------------ targets

  private redirect(cl: LockClient, leader: NodeId | null, from: NodeId): void {
    const hinted = leader === null ? undefined : this.idxById.get(leader);
    if (hinted !== undefined && leader !== from) cl.target = hinted;
    else this.retarget(cl);
  }

  /** retarget picks another node at random: the current one did not answer, or knows no leader. */
  private retarget(cl: LockClient): void {
    const n = this.host.nodeIds.length;
    cl.target = (cl.target + 1 + this.rng.nextInt(n - 1)) % n;
  }
}

import * as grpc from '@grpc/grpc-js';
import { Backoff, type BackoffPolicy, type Connection } from './connection.js';
import { REFRESH_FRACTION, stallMs, type LeaseState } from './lease.js';
import { leaderHintOf, numberFromWire, openKeepAlive, retryAfterMsOf, streamFailure, type CallFailure, type KeepAliveCall, type KeepAliveResponse } from './protocol.js';

/**
 * KeepAliveStream renews every live lease of one client over ONE shared
 * Lease.KeepAlive stream (design.md §5).
 *
 * - Cadence: each lease is renewed about every third of its TTL, counted from
 *   the send time of its last acknowledged renewal (lease.ts).
 * - A reply with ttl_ms 0 means the server no longer has the lease: it is lost.
 * - Stall detection: a keepalive unanswered for `stallMs` (a ninth of the TTL,
 *   at least 150 ms; lease.ts; longer when replies have been slow, at most a
 *   third of the TTL) marks the stream stuck (a paused or
 *   partitioned node keeps TCP open but never answers): it is cancelled and
 *   reopened at once on the next endpoint, where every live lease is renewed
 *   straight away, so a lease with a short TTL still has most of its time
 *   left to reach a new leader.
 * - Reconnect: a stream that ends or breaks is reopened — at once to the leader
 *   an UNAVAILABLE answer named, otherwise to the next endpoint after a
 *   jittered backoff capped at a sixth of the shortest live TTL — and every
 *   live lease is renewed on it straight away.
 * - Told to back off: a stream a node ended for a per-client limit
 *   (RESOURCE_EXHAUSTED with `raftlock-retry-after-ms`) is reopened on the same
 *   node after at least that hint — but never later than a sixth of the
 *   shortest live TTL: keeping a lease beats politeness.
 * - Direct to the leader: after a failover the stream may run through a
 *   follower (which proxies it); once the leader is known again the stream
 *   moves there at the next renewal.
 * - The stream exists only while there are live leases: the last lease to go
 *   ends it, and close() ends it for good.
 */

/** RTT_STALL_MULTIPLE: a reply later than this many smoothed reply times (and later than stallMs) marks the stream stuck. */
const RTT_STALL_MULTIPLE = 4;
/** RTT_SMOOTHING: the weight of a new reply time in the smoothed one. */
const RTT_SMOOTHING = 0.2;

/** MAX_REDIRECTS_IN_A_ROW bounds leader hints followed without a pause. */
const MAX_REDIRECTS_IN_A_ROW = 3;

export class KeepAliveStream {
  private readonly leases = new Map<string, LeaseState>();
  private readonly refreshTimers = new Map<string, NodeJS.Timeout>();
  private readonly backoff: Backoff;
  private call: KeepAliveCall | null = null;
  private address: string | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  /** stallTimer fires when the oldest unanswered keepalive on this stream reaches its stall deadline (`stallDueAt`). */
  private stallTimer: NodeJS.Timeout | null = null;
  private stallDueAt = Infinity;
  /** srttMs: smoothed time from a keepalive's send to its reply (null before the first), so a loaded cluster is given more time. */
  private srttMs: number | null = null;
  private redirects = 0;
  private closed = false;

  constructor(
    private readonly connection: Connection,
    backoff: BackoffPolicy,
  ) {
    this.backoff = new Backoff(backoff);
  }

  /** currentAddress: the node the stream is open to, or null. */
  currentAddress(): string | null {
    return this.call === null ? null : this.address;
  }

  /** add starts keeping a lease alive. */
  add(lease: LeaseState): void {
    if (this.closed || lease.lost !== null) return;
    this.leases.set(lease.id, lease);
    this.schedule(lease, lease.refreshDueAt());
    this.ensureOpen();
  }

  /** remove stops renewing a lease; the stream ends with the last lease. */
  remove(lease: LeaseState): void {
    if (this.leases.get(lease.id) !== lease) return;
    this.leases.delete(lease.id);
    this.clearRefresh(lease.id);
    if (this.leases.size === 0) this.shutdown();
  }

  /** close ends the stream and every timer for good. */
  close(): void {
    this.closed = true;
    for (const id of [...this.refreshTimers.keys()]) this.clearRefresh(id);
    this.leases.clear();
    this.shutdown();
  }

  // ---------------------------------------------------------------- renewals

  private schedule(lease: LeaseState, at: number): void {
    this.clearRefresh(lease.id);
    const timer = setTimeout(() => this.refreshDue(lease), Math.max(0, at - performance.now()));
    this.refreshTimers.set(lease.id, timer);
  }

  private clearRefresh(id: string): void {
    const timer = this.refreshTimers.get(id);
    if (timer !== undefined) clearTimeout(timer);
    this.refreshTimers.delete(id);
  }

  private refreshDue(lease: LeaseState): void {
    this.refreshTimers.delete(lease.id);
    if (this.closed || this.leases.get(lease.id) !== lease) return;
    const interval = lease.ttlMs * REFRESH_FRACTION;
    const now = performance.now();
    // Whatever happens now, look again in a third of the TTL (an acknowledgement reschedules sooner).
    this.schedule(lease, now + interval);
    if (this.call === null) return this.ensureOpen();
    const leader = this.connection.leaderAddress();
    if (leader === null) this.connection.seekLeader();
    else if (leader !== this.address) return this.moveTo(leader);
    this.send(lease);
  }

  /**
   * moveTo reopens a healthy stream on the leader once it is known (after a
   * failover the stream may run through a follower that proxies it). It
   * happens when a renewal is due, so at least two thirds of the TTL minus
   * the margin remain for the new stream's first reply.
   */
  private moveTo(leader: string): void {
    const call = this.call;
    this.detach();
    call?.cancel();
    this.address = leader;
    this.ensureOpen();
  }

  private send(lease: LeaseState): void {
    if (this.call === null || !lease.canSend()) return;
    const now = performance.now();
    lease.recordSent(now);
    this.call.write({ leaseId: lease.id });
    this.armStallCheck(now + this.stallAfterMs(lease));
  }

  /**
   * stallAfterMs: how long a keepalive of `lease` may go unanswered before the
   * stream is presumed stuck: `stallMs` of its TTL, or RTT_STALL_MULTIPLE
   * times the smoothed reply time when the cluster has been answering slower
   * than that (a loaded machine must not have every slow reply cancelled), at
   * most the renewal interval. With a single endpoint a new stream goes to the
   * same node, so only a whole silent interval counts.
   */
  private stallAfterMs(lease: LeaseState): number {
    const intervalMs = lease.ttlMs * REFRESH_FRACTION;
    if (this.connection.knownEndpoints().length <= 1) return intervalMs;
    return Math.min(intervalMs, Math.max(stallMs(lease.ttlMs), RTT_STALL_MULTIPLE * (this.srttMs ?? 0)));
  }

  /** armStallCheck makes sure the stream is checked for a stall by `dueAt`. */
  private armStallCheck(dueAt: number): void {
    if (this.stallTimer !== null && this.stallDueAt <= dueAt) return;
    this.clearStallCheck();
    this.stallDueAt = dueAt;
    this.stallTimer = setTimeout(() => {
      this.stallTimer = null;
      this.stallDueAt = Infinity;
      this.checkStall();
    }, Math.max(0, dueAt - performance.now()));
  }

  private clearStallCheck(): void {
    if (this.stallTimer !== null) clearTimeout(this.stallTimer);
    this.stallTimer = null;
    this.stallDueAt = Infinity;
  }

  /** checkStall restarts the stream if a keepalive has waited past its stall deadline; otherwise looks again at the next one. */
  private checkStall(): void {
    if (this.call === null || this.closed) return;
    const now = performance.now();
    let nextDue = Infinity;
    for (const lease of this.leases.values()) {
      const oldest = lease.oldestUnacknowledged();
      if (oldest === null) continue;
      const dueAt = oldest + this.stallAfterMs(lease);
      if (dueAt <= now) return this.restart();
      nextDue = Math.min(nextDue, dueAt);
    }
    if (nextDue !== Infinity) this.armStallCheck(nextDue);
  }

  private onReply(call: KeepAliveCall, reply: KeepAliveResponse): void {
    if (call !== this.call) return;
    const lease = this.leases.get(reply.leaseId);
    if (lease === undefined) return;
    const ttlMs = numberFromWire(reply.ttlMs);
    if (ttlMs <= 0) {
      lease.lose('gone', `the cluster reports lease ${lease.id} no longer exists (revoked or expired)`);
      return;
    }
    this.backoff.reset();
    this.redirects = 0;
    const sentAt = lease.oldestUnacknowledged();
    if (sentAt !== null) {
      const rttMs = performance.now() - sentAt;
      this.srttMs = this.srttMs === null ? rttMs : (1 - RTT_SMOOTHING) * this.srttMs + RTT_SMOOTHING * rttMs;
    }
    lease.acknowledge(ttlMs);
    this.schedule(lease, lease.refreshDueAt());
  }

  // ---------------------------------------------------------------- the stream

  private ensureOpen(): void {
    if (this.closed || this.call !== null || this.reconnectTimer !== null || this.leases.size === 0) return;
    const address = this.connection.pick();
    let call: KeepAliveCall;
    try {
      call = openKeepAlive(this.connection.channel(address));
    } catch {
      return; // the connection is closed: the client is closing
    }
    this.call = call;
    this.address = address;
    call.on('data', (reply: KeepAliveResponse) => this.onReply(call, reply));
    call.on('status', (status: grpc.StatusObject) => this.onEnded(call, address, status));
    // 'error' duplicates 'status' for failures; without a listener it would be thrown.
    call.on('error', () => undefined);
    for (const lease of this.leases.values()) this.send(lease);
  }

  private onEnded(call: KeepAliveCall, address: string, status: grpc.StatusObject): void {
    if (call !== this.call) return;
    this.detach();
    if (this.closed || this.leases.size === 0) return;
    const failure: CallFailure = streamFailure({ code: status.code, details: status.details, metadata: status.metadata }, address);
    const hint = status.code === grpc.status.UNAVAILABLE ? leaderHintOf(failure) : null;
    if (hint !== null && hint.address !== address && this.redirects < MAX_REDIRECTS_IN_A_ROW) {
      this.redirects++;
      this.connection.noteLeader(hint);
      this.ensureOpen();
      return;
    }
    this.redirects = 0;
    const retryAfterMs = status.code === grpc.status.RESOURCE_EXHAUSTED ? retryAfterMsOf(failure) : null;
    // A node that asked us to slow down is up: come back to it, later.
    if (retryAfterMs === null) this.connection.noteFailure(address);
    this.reconnectLater(retryAfterMs ?? 0);
  }

  /**
   * restart abandons a stuck stream and reopens it at once on the next
   * endpoint (noteFailure moves past this one), renewing every lease there.
   * No backoff: the stuck stream already waited its stall time, which spaces
   * the attempts; a node that refuses ends the new stream and the reconnect
   * backoff applies from there.
   */
  private restart(): void {
    const address = this.address;
    const call = this.call;
    this.detach();
    call?.cancel();
    if (address !== null) this.connection.noteFailure(address);
    this.ensureOpen();
  }

  /** reconnectLater reopens the stream after the backoff, or after atLeastMs if longer — capped at a sixth of the shortest live TTL. */
  private reconnectLater(atLeastMs: number): void {
    if (this.closed || this.reconnectTimer !== null || this.leases.size === 0) return;
    let shortestTtl = Infinity;
    for (const lease of this.leases.values()) shortestTtl = Math.min(shortestTtl, lease.ttlMs);
    const delay = Math.min(Math.max(this.backoff.nextMs(shortestTtl / 6), atLeastMs), shortestTtl / 6);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.ensureOpen();
    }, delay);
  }

  /** detach forgets the current stream: its unacknowledged renewals can no longer be answered. */
  private detach(): void {
    this.call = null;
    this.clearStallCheck();
    for (const lease of this.leases.values()) lease.forgetUnacknowledged();
  }

  private shutdown(): void {
    if (this.reconnectTimer !== null) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    const call = this.call;
    this.detach();
    call?.cancel();
  }
}

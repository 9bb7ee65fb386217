import * as grpc from '@grpc/grpc-js';
import { Backoff, type BackoffPolicy, type Connection } from './connection.js';
import { REFRESH_FRACTION, type LeaseState } from './lease.js';
import { leaderHintOf, numberFromWire, openKeepAlive, streamFailure, type CallFailure, type KeepAliveCall, type KeepAliveResponse } from './protocol.js';

/**
 * KeepAliveStream renews every live lease of one client over ONE shared
 * Lease.KeepAlive stream (design.md §5).
 *
 * - Cadence: each lease is renewed about every third of its TTL, counted from
 *   the send time of its last acknowledged renewal (lease.ts).
 * - A reply with ttl_ms 0 means the server no longer has the lease: it is lost.
 * - Stall detection: when a lease's next renewal is due while its previous one
 *   has waited a third of the TTL for a reply, the stream is presumed stuck
 *   (a paused or partitioned node keeps TCP open but never answers): it is
 *   cancelled and reopened elsewhere.
 * - Reconnect: a stream that ends or breaks is reopened — at once to the leader
 *   an UNAVAILABLE answer named, otherwise to the next endpoint after a
 *   jittered backoff capped at a sixth of the shortest live TTL — and every
 *   live lease is renewed on it straight away.
 * - Direct to the leader: after a failover the stream may run through a
 *   follower (which proxies it); once the leader is known again the stream
 *   moves there at the next renewal.
 * - The stream exists only while there are live leases: the last lease to go
 *   ends it, and close() ends it for good.
 */

/** MAX_REDIRECTS_IN_A_ROW bounds leader hints followed without a pause. */
const MAX_REDIRECTS_IN_A_ROW = 3;

export class KeepAliveStream {
  private readonly leases = new Map<string, LeaseState>();
  private readonly refreshTimers = new Map<string, NodeJS.Timeout>();
  private readonly backoff: Backoff;
  private call: KeepAliveCall | null = null;
  private address: string | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
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
    const oldest = lease.oldestUnacknowledged();
    if (oldest !== null && now - oldest >= interval) {
      return this.restart(); // no reply for a third of the TTL: the node is paused, partitioned or overloaded
    }
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
    lease.recordSent(performance.now());
    this.call.write({ leaseId: lease.id });
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
    this.connection.noteFailure(address);
    this.reconnectLater();
  }

  /** restart abandons a stuck stream and reconnects elsewhere. */
  private restart(): void {
    const address = this.address;
    const call = this.call;
    this.detach();
    call?.cancel();
    if (address !== null) this.connection.noteFailure(address);
    this.reconnectLater();
  }

  private reconnectLater(): void {
    if (this.closed || this.reconnectTimer !== null || this.leases.size === 0) return;
    let shortestTtl = Infinity;
    for (const lease of this.leases.values()) shortestTtl = Math.min(shortestTtl, lease.ttlMs);
    const delay = this.backoff.nextMs(shortestTtl / 6);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.ensureOpen();
    }, delay);
  }

  /** detach forgets the current stream: its unacknowledged renewals can no longer be answered. */
  private detach(): void {
    this.call = null;
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

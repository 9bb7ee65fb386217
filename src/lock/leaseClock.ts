import { assert, isSafeUint } from './assert.js';
import { isValidLeaseId } from './commands.js';
import { DeadlineHeap } from './deadlineHeap.js';
import type { LeaseTtl } from './results.js';

export type KeepAliveOutcome =
  | { readonly kind: 'accepted'; readonly leaseId: number; readonly ttlMs: number }
  | { readonly kind: 'not-found'; readonly leaseId: number }
  /** not-leader: this clock is inactive — not the leader, or a leader that has not yet committed an entry of its term. */
  | { readonly kind: 'not-leader' }
  /** expiring: an ExpireLease was already proposed; the client must treat the lease as gone. */
  | { readonly kind: 'expiring'; readonly leaseId: number };

export type TimeToLiveOutcome =
  | { readonly kind: 'remaining'; readonly leaseId: number; readonly ttlMs: number; readonly remainingMs: number; readonly expiring: boolean }
  | { readonly kind: 'not-found'; readonly leaseId: number }
  | { readonly kind: 'not-leader' };

interface ClockEntry {
  readonly ttlMs: number;
  /** deadlineMs: meaningful only while the clock is active. */
  deadlineMs: number;
  /** expiringTerm: the term in which an ExpireLease was proposed, or null. */
  expiringTerm: number | null;
}

/** Compaction slack: the heap may hold this many stale entries beyond one per lease before it is rebuilt. */
const HEAP_SLACK = 1024;

/**
 * LeaseClock is the leader's lease timer. Every replica keeps its table in
 * step with the state machine (leaseGranted / leaseRemoved from each
 * ApplyResult, or reset after a snapshot restore), so a node that becomes
 * leader already knows every lease; deadlines exist only while active.
 *
 * Time is a monotonic `nowMs` passed by the caller (virtual time in the
 * simulator, performance.now() in a node), never wall time. A `nowMs` earlier
 * than one already seen is treated as the latest seen: time never runs
 * backwards inside the clock.
 *
 * Lifecycle:
 *  - activate(nowMs) once this node is leader AND has committed an entry of its
 *    own term; it restarts every lease at its full TTL, so a failover never cuts
 *    a lease short (the old leader may have acknowledged a keepalive just now).
 *  - deactivate() when leadership is lost; pending expiry marks are forgotten.
 *  - dueForExpiry(nowMs, term, max) yields leases to expire; the caller proposes
 *    ExpireLease { leaseId, proposerTerm: term } for each and calls
 *    expiryFailed(leaseId) if that proposal is dropped.
 *
 * Work per call is bounded: deadlines live in a min-heap with lazy deletion,
 * dueForExpiry returns at most `max` ids, and the heap is rebuilt when stale
 * entries outnumber live ones, so a keepalive costs O(log n).
 */
export class LeaseClock {
  private readonly leases = new Map<number, ClockEntry>();
  private readonly heap = new DeadlineHeap();
  private active = false;
  private latestNowMs = -Infinity;

  get isActive(): boolean {
    return this.active;
  }

  get size(): number {
    return this.leases.size;
  }

  /** reset replaces the table, e.g. after restoring a snapshot; only while inactive. */
  reset(leases: Iterable<LeaseTtl>): void {
    assert(!this.active, 'reset while active: deactivate first');
    this.leases.clear();
    this.heap.clear();
    for (const { leaseId, ttlMs } of leases) this.leaseGranted(leaseId, ttlMs, this.latestNowMs);
  }

  /** leaseGranted follows a lease created by an apply; when active its deadline starts now. */
  leaseGranted(leaseId: number, ttlMs: number, nowMs: number): void {
    assert(isValidLeaseId(leaseId), () => `invalid lease id ${leaseId}`);
    assert(isSafeUint(ttlMs) && ttlMs > 0, () => `invalid ttl ${ttlMs}`);
    assert(!this.leases.has(leaseId), () => `lease ${leaseId} granted twice`);
    if (!this.active) {
      this.leases.set(leaseId, { ttlMs, deadlineMs: Infinity, expiringTerm: null });
      return;
    }
    const deadlineMs = this.observe(nowMs) + ttlMs;
    this.leases.set(leaseId, { ttlMs, deadlineMs, expiringTerm: null });
    this.pushDeadline(deadlineMs, leaseId);
  }

  /** leaseRemoved follows a lease deleted by an apply (revoke or expiry); its heap entry goes stale and is skipped. */
  leaseRemoved(leaseId: number): void {
    assert(this.leases.delete(leaseId), () => `removing unknown lease ${leaseId}`);
  }

  activate(nowMs: number): void {
    assert(!this.active, 'activate while already active would extend every lease again');
    const now = this.observe(nowMs);
    const deadlines: number[] = [];
    const ids: number[] = [];
    for (const [leaseId, entry] of this.leases) {
      entry.deadlineMs = now + entry.ttlMs;
      entry.expiringTerm = null;
      deadlines.push(entry.deadlineMs);
      ids.push(leaseId);
    }
    this.heap.rebuild(deadlines, ids);
    this.active = true;
  }

  /** deactivate stops the clock; safe to call when already inactive. */
  deactivate(): void {
    this.active = false;
    this.heap.clear();
    for (const entry of this.leases.values()) {
      entry.expiringTerm = null;
      entry.deadlineMs = Infinity;
    }
  }

  /**
   * keepAlive renews a lease. On `accepted` the local deadline moves at once to
   * max(deadline, nowMs + ttlMs): extending early is always safe, since it can
   * only make this leader expire the lease later.
   *
   * Contract: the caller must NOT acknowledge the keepalive to the client yet.
   * It acknowledges only after a ReadIndex-style quorum round that started
   * after this call confirms this node is still the leader (one round can serve
   * a batch of keepalives). Otherwise a deposed leader could acknowledge a
   * renewal that the real leader never saw, and the client would count its
   * lease from a renewal that does not exist.
   */
  keepAlive(leaseId: number, nowMs: number): KeepAliveOutcome {
    if (!this.active) return { kind: 'not-leader' };
    const entry = this.leases.get(leaseId);
    if (entry === undefined) return { kind: 'not-found', leaseId };
    if (entry.expiringTerm !== null) return { kind: 'expiring', leaseId };
    const deadlineMs = this.observe(nowMs) + entry.ttlMs;
    if (deadlineMs > entry.deadlineMs) {
      entry.deadlineMs = deadlineMs;
      this.pushDeadline(deadlineMs, leaseId);
    }
    return { kind: 'accepted', leaseId, ttlMs: entry.ttlMs };
  }

  /**
   * dueForExpiry returns up to `max` leases whose deadline is <= nowMs and not
   * already expiring — earliest deadline first, ties by id — and marks them
   * expiring in `term`. Nothing is due while inactive.
   */
  dueForExpiry(nowMs: number, term: number, max: number): number[] {
    assert(Number.isSafeInteger(max) && max > 0, () => `max must be a positive integer, got ${max}`);
    assert(isSafeUint(term), () => `term ${term} is not a safe integer`);
    const now = this.observe(nowMs);
    const due: number[] = [];
    if (!this.active) return due;
    while (due.length < max && this.heap.peekDeadline() <= now) {
      const deadlineMs = this.heap.peekDeadline();
      const leaseId = this.heap.peekId();
      this.heap.pop();
      const entry = this.leases.get(leaseId);
      if (entry === undefined || entry.expiringTerm !== null || entry.deadlineMs !== deadlineMs) continue;
      entry.expiringTerm = term;
      due.push(leaseId);
    }
    return due;
  }

  /** expiryFailed re-arms a lease whose ExpireLease proposal was dropped, so the next dueForExpiry retries it. */
  expiryFailed(leaseId: number): void {
    const entry = this.leases.get(leaseId);
    if (!this.active || entry === undefined || entry.expiringTerm === null) return;
    entry.expiringTerm = null;
    this.pushDeadline(entry.deadlineMs, leaseId);
  }

  /** timeToLive answers TimeToLive on the leader: the time left before this leader would propose the expiry. */
  timeToLive(leaseId: number, nowMs: number): TimeToLiveOutcome {
    if (!this.active) return { kind: 'not-leader' };
    const entry = this.leases.get(leaseId);
    if (entry === undefined) return { kind: 'not-found', leaseId };
    const remainingMs = Math.max(0, entry.deadlineMs - this.observe(nowMs));
    return { kind: 'remaining', leaseId, ttlMs: entry.ttlMs, remainingMs, expiring: entry.expiringTerm !== null };
  }

  /** nextDeadlineMs tells the caller when to look again (null when inactive or empty); it may be early, never late. */
  nextDeadlineMs(): number | null {
    if (!this.active || this.heap.size === 0) return null;
    return this.heap.peekDeadline();
  }

  private observe(nowMs: number): number {
    assert(Number.isFinite(nowMs), () => `nowMs ${nowMs} is not finite`);
    if (nowMs > this.latestNowMs) this.latestNowMs = nowMs;
    return this.latestNowMs;
  }

  private pushDeadline(deadlineMs: number, leaseId: number): void {
    this.heap.push(deadlineMs, leaseId);
    if (this.heap.size > 2 * this.leases.size + HEAP_SLACK) this.compact();
  }

  /** compact rebuilds the heap from live, non-expiring leases, dropping stale entries. */
  private compact(): void {
    const deadlines: number[] = [];
    const ids: number[] = [];
    for (const [leaseId, entry] of this.leases) {
      if (entry.expiringTerm !== null) continue;
      deadlines.push(entry.deadlineMs);
      ids.push(leaseId);
    }
    this.heap.rebuild(deadlines, ids);
  }
}

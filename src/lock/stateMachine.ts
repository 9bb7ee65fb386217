import { assert, isSafeUint } from './assert.js';
import { decodeCommand } from './commandCodec.js';
import type { Acquire, Command, ExpireLease, GrantLease, LockMode, Release, WithdrawWait } from './commands.js';
import { checkLockTable } from './invariants.js';
import type { LimitName, LockLimits } from './limits.js';
import { resolveLimits } from './limits.js';
import { compareNames, sortNames, utf8ByteLength } from './lockName.js';
import type { LeaseEntry, LockEntry } from './lockTable.js';
import { LockTable } from './lockTable.js';
import type {
  ApplyResult,
  CancelledWait,
  CommandResult,
  HolderView,
  LeaseRemovedResult,
  LeaseTtl,
  LimitExceededResult,
  PromotedGrant,
  WaiterView,
} from './results.js';
import { decodeSnapshot, encodeSnapshot } from './snapshotCodec.js';

/** LogRecord is what the node hands over for each committed entry carrying a lock command. */
export interface LogRecord {
  readonly index: number;
  readonly term: number;
  readonly data: Uint8Array;
}

export interface LockInfo {
  readonly name: string;
  readonly holders: readonly HolderView[];
  readonly waiters: readonly WaiterView[];
}

export interface LeaseInfo {
  readonly leaseId: number;
  /** owner: the identity that granted it ('' when auth was off). */
  readonly owner: string;
  readonly ttlMs: number;
  readonly grantedIndex: number;
  /** locksHeld and waitingOn: names, canonical order. */
  readonly locksHeld: readonly string[];
  readonly waitingOn: readonly string[];
}

export interface LockCounts {
  readonly leases: number;
  readonly locks: number;
  readonly holders: number;
  readonly waiters: number;
}

/** Effects collects the side effects of one apply for ApplyResult. */
interface Effects {
  readonly promoted: PromotedGrant[];
  readonly cancelledWaits: CancelledWait[];
  leaseGranted: LeaseTtl | null;
  readonly leasesRemoved: number[];
}

/**
 * LockStateMachine applies committed lock commands. It is pure, synchronous
 * and deterministic: the same records in the same order give the same state,
 * results and snapshot bytes on every replica. It never reads a clock — lease
 * time lives in LeaseClock on the leader, and reaches here only as an
 * ExpireLease command.
 *
 * Refusals change nothing. Checks run in a fixed order, which is part of the
 * replicated behaviour:
 *   GrantLease:   invalid-ttl, then (id exists) lease-not-owned (another owner's id) |
 *                 lease-id-taken | lease-id-conflict | existing, then maxLeases, maxLeasesPerOwner.
 *   Revoke:       lease-not-found, lease-not-owned.
 *   Expire:       stale-expiry (entry term != proposer term), then lease-not-found.
 *   Acquire:      invalid-name, lease-not-found, lease-not-owned, already holding (granted,
 *                 same token, or mode-mismatch), already waiting (queued, or mode-mismatch);
 *                 then if grantable: maxLocks (new name), maxLocksPerLease, maxLocksPerOwner;
 *                 else if wait: maxLocksPerLease, maxWaitsPerLease, maxWaitersPerLock, maxLocksPerOwner; else held.
 *   Release:      lease-not-found, lease-not-owned, not-holder, stale-token.
 *   WithdrawWait: lease-not-owned (lease exists), then not-waiting (with the token if the
 *                 lease holds the lock instead).
 *
 * lease-not-owned applies only to commands carrying an owner (see Owned in commands.ts).
 */
export class LockStateMachine {
  readonly limits: LockLimits;
  private table = new LockTable();

  constructor(limits: Partial<LockLimits> = {}) {
    this.limits = resolveLimits(limits);
  }

  /** restore rebuilds a state machine from snapshot bytes; throws CorruptSnapshotError rather than restore part of it. */
  static restore(bytes: Uint8Array, limits: Partial<LockLimits> = {}): LockStateMachine {
    const machine = new LockStateMachine(limits);
    machine.table = decodeSnapshot(bytes);
    return machine;
  }

  get lastAppliedIndex(): number {
    return this.table.lastAppliedIndex;
  }

  /**
   * apply decodes and applies one committed entry. `index` must exceed every
   * index applied before (gaps are fine: Raft's empty and configuration entries
   * never reach here). A corrupt command throws CorruptCommandError before any
   * state changes.
   */
  apply(record: LogRecord): ApplyResult {
    this.assertNext(record.index);
    assert(isSafeUint(record.term), () => `entry term ${record.term} is not a safe integer`);
    const command = decodeCommand(record.data);
    const effects: Effects = { promoted: [], cancelledWaits: [], leaseGranted: null, leasesRemoved: [] };
    const result = this.dispatch(record.index, record.term, command, effects);
    this.table.lastAppliedIndex = record.index;
    return { index: record.index, result, ...effects };
  }

  /**
   * applyNoop records that Raft applied an entry at `index` that carries no lock
   * command (a leader's empty entry, a configuration change), so that
   * lastAppliedIndex — and the snapshot taken there — match the Raft applied index.
   */
  applyNoop(index: number): void {
    this.assertNext(index);
    this.table.lastAppliedIndex = index;
  }

  snapshot(): Uint8Array {
    return encodeSnapshot(this.table);
  }

  getLock(name: string): LockInfo | null {
    const lock = this.table.locks.get(name);
    if (lock === undefined) return null;
    return { name, holders: holderViews(lock), waiters: lock.waiters.map((w) => ({ leaseId: w.leaseId, mode: w.mode, queuedIndex: w.queuedIndex })) };
  }

  /** leaseOwner: the lease's owner ('' for none), or null when there is no such lease; O(1) for per-keepalive checks. */
  leaseOwner(leaseId: number): string | null {
    return this.table.leases.get(leaseId)?.owner ?? null;
  }

  getLease(leaseId: number): LeaseInfo | null {
    const lease = this.table.leases.get(leaseId);
    if (lease === undefined) return null;
    return {
      leaseId,
      owner: lease.owner,
      ttlMs: lease.ttlMs,
      grantedIndex: lease.grantedIndex,
      locksHeld: sortNames(lease.held.keys()),
      waitingOn: sortNames(lease.waiting),
    };
  }

  /** listLeases returns every lease in ascending id order (O(n log n); feeds the List API and LeaseClock.reset). */
  listLeases(): Array<{ leaseId: number; owner: string; ttlMs: number; grantedIndex: number }> {
    return Array.from(this.table.leases.values(), (l) => ({ leaseId: l.leaseId, owner: l.owner, ttlMs: l.ttlMs, grantedIndex: l.grantedIndex })).sort(
      (a, b) => a.leaseId - b.leaseId,
    );
  }

  /** listLocks returns every lock name in canonical order. */
  listLocks(): string[] {
    return sortNames(this.table.locks.keys());
  }

  /** ownerCounts: how many leases and locks (held plus queued) `owner` has, the figures its quotas bound. */
  ownerCounts(owner: string): { leases: number; locks: number } {
    return { leases: this.table.ownerLeases.get(owner) ?? 0, locks: this.table.ownerLocks.get(owner) ?? 0 };
  }

  /**
   * firstLocks returns the first `limit` locks in canonical name order without
   * sorting them all: a status page shows a bounded page of a table that may
   * hold a million locks. O(n log limit) comparisons plus the inserts.
   */
  firstLocks(limit: number): LockInfo[] {
    assert(Number.isSafeInteger(limit) && limit >= 0, () => `firstLocks: limit must be a non-negative integer, got ${limit}`);
    const names: string[] = [];
    for (const name of this.table.locks.keys()) {
      if (names.length === limit && (limit === 0 || compareNames(name, names[limit - 1] as string) >= 0)) continue;
      let lo = 0;
      let hi = names.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (compareNames(names[mid] as string, name) < 0) lo = mid + 1;
        else hi = mid;
      }
      names.splice(lo, 0, name);
      if (names.length > limit) names.pop();
    }
    return names.map((name) => this.getLock(name) as LockInfo);
  }

  counts(): LockCounts {
    const t = this.table;
    return { leases: t.leases.size, locks: t.locks.size, holders: t.holderCount, waiters: t.waiterCount };
  }

  /** checkInvariants throws LockInvariantError on the first violated invariant (see invariants.ts). */
  checkInvariants(): void {
    checkLockTable(this.table);
  }

  private assertNext(index: number): void {
    assert(
      Number.isSafeInteger(index) && index > this.table.lastAppliedIndex,
      () => `applied index must increase: got ${index} after ${this.table.lastAppliedIndex}`,
    );
  }

  private dispatch(index: number, term: number, command: Command, fx: Effects): CommandResult {
    switch (command.type) {
      case 'grant-lease':
        return this.grantLease(index, command, fx);
      case 'revoke-lease': {
        const lease = this.table.leases.get(command.leaseId);
        if (lease === undefined) return { kind: 'lease-not-found', leaseId: command.leaseId };
        if (!ownedBy(lease, command.owner)) return { kind: 'lease-not-owned', leaseId: command.leaseId };
        return this.removeLease('lease-revoked', command.leaseId, index, fx);
      }
      case 'expire-lease':
        return this.expireLease(index, term, command, fx);
      case 'acquire':
        return this.acquire(index, command);
      case 'release':
        return this.release(index, command, fx);
      case 'withdraw-wait':
        return this.withdrawWait(index, command, fx);
    }
  }

  private grantLease(index: number, cmd: GrantLease, fx: Effects): CommandResult {
    const { leaseId, ttlMs } = cmd;
    const { minTtlMs, maxTtlMs } = this.limits;
    if (ttlMs < minTtlMs || ttlMs > maxTtlMs) return { kind: 'invalid-ttl', ttlMs, minTtlMs, maxTtlMs };
    const existing = this.table.leases.get(leaseId);
    const owner = cmd.owner ?? '';
    if (existing !== undefined) {
      if (existing.owner !== owner) return { kind: 'lease-not-owned', leaseId };
      if (!cmd.idempotent) return { kind: 'lease-id-taken', leaseId };
      if (existing.ttlMs !== ttlMs) return { kind: 'lease-id-conflict', leaseId, ttlMs: existing.ttlMs, requestedTtlMs: ttlMs };
      return { kind: 'lease-granted', leaseId, ttlMs, grantedIndex: existing.grantedIndex, existing: true };
    }
    if (this.table.leases.size >= this.limits.maxLeases) return this.limitExceeded('maxLeases');
    if (owner !== '' && (this.table.ownerLeases.get(owner) ?? 0) >= this.limits.maxLeasesPerOwner) return this.limitExceeded('maxLeasesPerOwner');
    this.table.createLease(leaseId, ttlMs, index, owner);
    fx.leaseGranted = { leaseId, ttlMs };
    return { kind: 'lease-granted', leaseId, ttlMs, grantedIndex: index, existing: false };
  }

  /**
   * expireLease applies only in the term in which the leader decided it: an
   * entry committed under another term was proposed by a deposed (perhaps
   * paused) leader whose clock is not authoritative, so it is ignored.
   */
  private expireLease(index: number, term: number, cmd: ExpireLease, fx: Effects): CommandResult {
    if (term !== cmd.proposerTerm) {
      return { kind: 'stale-expiry', leaseId: cmd.leaseId, proposerTerm: cmd.proposerTerm, entryTerm: term };
    }
    if (!this.table.leases.has(cmd.leaseId)) return { kind: 'lease-not-found', leaseId: cmd.leaseId };
    return this.removeLease('lease-expired', cmd.leaseId, index, fx);
  }

  /**
   * removeLease deletes the lease with every wait and hold it has, then
   * promotes waiters on every lock it touched — all in this one apply, in
   * canonical name order, so the promoted list is the same on every replica.
   */
  private removeLease(kind: LeaseRemovedResult['kind'], leaseId: number, index: number, fx: Effects): LeaseRemovedResult {
    const lease = this.table.leases.get(leaseId)!;
    const waitsCancelled = sortNames(lease.waiting);
    const locksReleased = sortNames(lease.held.keys());
    for (const name of waitsCancelled) {
      this.table.removeWaiter(this.mustLock(name), leaseId);
      fx.cancelledWaits.push({ name, leaseId });
    }
    for (const name of locksReleased) this.table.removeHolder(this.mustLock(name), leaseId);
    this.table.deleteLease(leaseId);
    fx.leasesRemoved.push(leaseId);
    for (const name of sortNames([...waitsCancelled, ...locksReleased])) this.promoteAndTidy(name, index, fx);
    return { kind, leaseId, locksReleased, waitsCancelled };
  }

  private acquire(index: number, cmd: Acquire): CommandResult {
    const { name, leaseId, mode } = cmd;
    const byteLength = utf8ByteLength(name);
    if (byteLength === 0 || byteLength > this.limits.maxNameBytes) {
      return { kind: 'invalid-name', byteLength, maxNameBytes: this.limits.maxNameBytes };
    }
    const lease = this.table.leases.get(leaseId);
    if (lease === undefined) return { kind: 'lease-not-found', leaseId };
    if (!ownedBy(lease, cmd.owner)) return { kind: 'lease-not-owned', leaseId };
    const lock = this.table.locks.get(name);
    if (lock !== undefined) {
      const retry = this.retriedAcquire(lock, leaseId, mode);
      if (retry !== null) return retry;
    }
    const onLease = lease.held.size + lease.waiting.size;
    const ownerFull = lease.owner !== '' && (this.table.ownerLocks.get(lease.owner) ?? 0) >= this.limits.maxLocksPerOwner;
    if (this.table.grantableNow(lock, mode)) {
      if (lock === undefined && this.table.locks.size >= this.limits.maxLocks) return this.limitExceeded('maxLocks');
      if (onLease >= this.limits.maxLocksPerLease) return this.limitExceeded('maxLocksPerLease');
      if (ownerFull) return this.limitExceeded('maxLocksPerOwner');
      this.table.addHolder(this.table.lockOrCreate(name), leaseId, mode, index);
      return { kind: 'granted', name, leaseId, mode, token: index, existing: false };
    }
    assert(lock !== undefined, 'an absent lock is always grantable');
    if (!cmd.wait) return { kind: 'held', name, mode, holders: holderViews(lock), waiters: lock.waiters.length };
    if (onLease >= this.limits.maxLocksPerLease) return this.limitExceeded('maxLocksPerLease');
    if (lease.waiting.size >= this.limits.maxWaitsPerLease) return this.limitExceeded('maxWaitsPerLease');
    if (lock.waiters.length >= this.limits.maxWaitersPerLock) return this.limitExceeded('maxWaitersPerLock');
    if (ownerFull) return this.limitExceeded('maxLocksPerOwner');
    this.table.enqueue(lock, leaseId, mode, index);
    return { kind: 'queued', name, leaseId, mode, position: lock.waiters.length - 1, queuedIndex: index };
  }

  /** retriedAcquire answers an Acquire by a lease already holding or queued on the lock: a retry is safe and changes nothing. */
  private retriedAcquire(lock: LockEntry, leaseId: number, mode: LockMode): CommandResult | null {
    const name = lock.name;
    const holder = lock.holders.find((h) => h.leaseId === leaseId);
    if (holder !== undefined) {
      if (holder.mode !== mode) return { kind: 'mode-mismatch', name, leaseId, requested: mode, current: holder.mode, state: 'holding' };
      return { kind: 'granted', name, leaseId, mode, token: holder.token, existing: true };
    }
    const position = lock.waiters.findIndex((w) => w.leaseId === leaseId);
    if (position < 0) return null;
    const waiter = lock.waiters[position]!;
    if (waiter.mode !== mode) return { kind: 'mode-mismatch', name, leaseId, requested: mode, current: waiter.mode, state: 'waiting' };
    return { kind: 'queued', name, leaseId, mode, position, queuedIndex: waiter.queuedIndex };
  }

  private release(index: number, cmd: Release, fx: Effects): CommandResult {
    const { name, leaseId, token } = cmd;
    const lease = this.table.leases.get(leaseId);
    if (lease === undefined) return { kind: 'lease-not-found', leaseId };
    if (!ownedBy(lease, cmd.owner)) return { kind: 'lease-not-owned', leaseId };
    const heldToken = lease.held.get(name);
    if (heldToken === undefined) {
      const lock = this.table.locks.get(name);
      return { kind: 'not-holder', name, leaseId, holders: lock === undefined ? [] : holderViews(lock) };
    }
    if (heldToken !== token) return { kind: 'stale-token', name, leaseId, token, currentToken: heldToken };
    this.table.removeHolder(this.mustLock(name), leaseId);
    this.promoteAndTidy(name, index, fx);
    return { kind: 'released', name, leaseId, token };
  }

  private withdrawWait(index: number, cmd: WithdrawWait, fx: Effects): CommandResult {
    const { name, leaseId } = cmd;
    const lease = this.table.leases.get(leaseId);
    if (lease !== undefined && !ownedBy(lease, cmd.owner)) return { kind: 'lease-not-owned', leaseId };
    if (lease === undefined || !lease.waiting.has(name)) {
      return { kind: 'not-waiting', name, leaseId, heldToken: lease?.held.get(name) ?? null };
    }
    this.table.removeWaiter(this.mustLock(name), leaseId);
    this.promoteAndTidy(name, index, fx);
    return { kind: 'withdrawn', name, leaseId };
  }

  /** promoteAndTidy grants whatever became grantable on `name` (token = index) and drops the lock if idle. */
  private promoteAndTidy(name: string, index: number, fx: Effects): void {
    const lock = this.mustLock(name);
    for (const grant of this.table.promote(lock, index)) fx.promoted.push(grant);
    this.table.deleteIfIdle(lock);
  }

  private mustLock(name: string): LockEntry {
    const lock = this.table.locks.get(name);
    assert(lock !== undefined, () => `lock ${JSON.stringify(name)} missing from the table`);
    return lock;
  }

  private limitExceeded(limit: LimitName): LimitExceededResult {
    return { kind: 'limit-exceeded', limit, max: this.limits[limit] };
  }
}

/** ownedBy: a command without an owner is not checked (auth off, or an admin); one with an owner must name the lease's. */
function ownedBy(lease: LeaseEntry, owner: string | undefined): boolean {
  return owner === undefined || lease.owner === owner;
}

function holderViews(lock: LockEntry): HolderView[] {
  return lock.holders.map((h) => ({ leaseId: h.leaseId, token: h.token, mode: h.mode }));
}

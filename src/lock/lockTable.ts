import { assert } from './assert.js';
import type { LockMode } from './commands.js';
import type { PromotedGrant } from './results.js';

/**
 * LockTable is the lock state and its primitive mutations. Each primitive
 * keeps the cross-indexes (a lease's held and waiting sets, the holder and
 * waiter counts) in step with the locks, so the command logic in
 * stateMachine.ts only decides what to do, never how to keep books.
 *
 * The Maps and Sets here are lookup structures only: whenever iteration order
 * could reach a result or a byte, callers sort (see lockName.sortNames).
 * Holder and waiter arrays are real state: their order is grant order and FIFO
 * order, and snapshots preserve it.
 */

export interface Holder {
  readonly leaseId: number;
  readonly mode: LockMode;
  /** token: the Raft index of the entry that caused the grant. */
  readonly token: number;
}

export interface Waiter {
  readonly leaseId: number;
  readonly mode: LockMode;
  /** queuedIndex: the index of the Acquire that queued it; strictly increasing along a queue. */
  readonly queuedIndex: number;
}

export interface LockEntry {
  readonly name: string;
  /**
   * holders: one exclusive or any number of shared, in grant order. Only
   * LockTable assigns it: a first holder gets an array of exactly one slot (a
   * push onto an empty array would reserve 17), the common case of a lock.
   */
  holders: Holder[];
  /** waiters: FIFO. Invariant: non-empty only while holders is non-empty and the head is not grantable. */
  waiters: Waiter[];
}

export interface LeaseEntry {
  readonly leaseId: number;
  /** owner: the identity that granted the lease ('' for none: auth off). */
  readonly owner: string;
  readonly ttlMs: number;
  readonly grantedIndex: number;
  /**
   * held: lock name -> token of this lease's grant; waiting: names of locks
   * this lease is queued on. Read-only here: only LockTable changes them, and
   * a lease with none shares one empty instance (a Map and a Set per lease
   * would cost about 300 bytes on each of 100,000 idle leases).
   */
  held: ReadonlyMap<string, number>;
  waiting: ReadonlySet<string>;
}

/** NONE_HELD and NONE_WAITING: the shared empty indexes of every lease that holds or waits on nothing; never mutated. */
const NONE_HELD: ReadonlyMap<string, number> = new Map<string, number>();
const NONE_WAITING: ReadonlySet<string> = new Set<string>();

/**
 * OneHeld is a lease's held index while it holds exactly one lock, the
 * common case, without the ~200-byte table of a Map of one entry. Lookups
 * are direct; iteration (revoke, expiry, listing: rare) goes through a
 * temporary Map so it behaves exactly like one.
 */
class OneHeld implements ReadonlyMap<string, number> {
  constructor(readonly name: string, readonly token: number) {}

  get size(): number {
    return 1;
  }

  get(name: string): number | undefined {
    return name === this.name ? this.token : undefined;
  }

  has(name: string): boolean {
    return name === this.name;
  }

  forEach(callback: (token: number, name: string, map: ReadonlyMap<string, number>) => void, thisArg?: unknown): void {
    callback.call(thisArg, this.token, this.name, this);
  }

  entries(): MapIterator<[string, number]> {
    return this.asMap().entries();
  }

  keys(): MapIterator<string> {
    return this.asMap().keys();
  }

  values(): MapIterator<number> {
    return this.asMap().values();
  }

  [Symbol.iterator](): MapIterator<[string, number]> {
    return this.asMap()[Symbol.iterator]();
  }

  private asMap(): Map<string, number> {
    return new Map([[this.name, this.token]]);
  }
}

export class LockTable {
  readonly leases = new Map<number, LeaseEntry>();
  readonly locks = new Map<string, LockEntry>();
  lastAppliedIndex = 0;
  holderCount = 0;
  waiterCount = 0;
  /** ownerLeases and ownerLocks: per owner (never ''), its leases and its locks held plus waits queued; absent means 0. */
  readonly ownerLeases = new Map<string, number>();
  readonly ownerLocks = new Map<string, number>();

  createLease(leaseId: number, ttlMs: number, grantedIndex: number, owner = ''): LeaseEntry {
    assert(!this.leases.has(leaseId), () => `lease ${leaseId} already exists`);
    const lease: LeaseEntry = { leaseId, owner, ttlMs, grantedIndex, held: NONE_HELD, waiting: NONE_WAITING };
    this.leases.set(leaseId, lease);
    bump(this.ownerLeases, owner, 1);
    return lease;
  }

  /** deleteLease requires the lease to hold and wait on nothing: the caller removes those first, in canonical order. */
  deleteLease(leaseId: number): void {
    const lease = this.leases.get(leaseId);
    assert(lease !== undefined, () => `deleting unknown lease ${leaseId}`);
    assert(lease.held.size === 0 && lease.waiting.size === 0, () => `lease ${leaseId} still holds or waits`);
    this.leases.delete(leaseId);
    bump(this.ownerLeases, lease.owner, -1);
  }

  lockOrCreate(name: string): LockEntry {
    let lock = this.locks.get(name);
    if (lock === undefined) {
      lock = { name, holders: [], waiters: [] };
      this.locks.set(name, lock);
    }
    return lock;
  }

  /** deleteIfIdle drops a lock with no holders and no waiters, so idle names cost nothing. */
  deleteIfIdle(lock: LockEntry): void {
    if (lock.holders.length === 0 && lock.waiters.length === 0) this.locks.delete(lock.name);
  }

  addHolder(lock: LockEntry, leaseId: number, mode: LockMode, token: number): void {
    const lease = this.mustLease(leaseId);
    assert(!lease.held.has(lock.name) && !lease.waiting.has(lock.name), () => `lease ${leaseId} already on lock ${lock.name}`);
    const holder: Holder = { leaseId, mode, token };
    if (lock.holders.length === 0) lock.holders = [holder];
    else lock.holders.push(holder);
    const held = lease.held;
    if (held === NONE_HELD) lease.held = new OneHeld(lock.name, token);
    else if (held instanceof OneHeld) lease.held = new Map([[held.name, held.token], [lock.name, token]]);
    else (held as Map<string, number>).set(lock.name, token);
    this.holderCount++;
    bump(this.ownerLocks, lease.owner, 1);
  }

  removeHolder(lock: LockEntry, leaseId: number): void {
    const at = lock.holders.findIndex((h) => h.leaseId === leaseId);
    assert(at >= 0, () => `lease ${leaseId} does not hold lock ${lock.name}`);
    lock.holders.splice(at, 1);
    const lease = this.mustLease(leaseId);
    const held = lease.held;
    if (held instanceof OneHeld) {
      assert(held.name === lock.name, () => `lease ${leaseId} held index names ${held.name}, not ${lock.name}`);
      lease.held = NONE_HELD;
    } else (held as Map<string, number>).delete(lock.name);
    if (lease.held.size === 0) lease.held = NONE_HELD;
    this.holderCount--;
    bump(this.ownerLocks, lease.owner, -1);
  }

  enqueue(lock: LockEntry, leaseId: number, mode: LockMode, queuedIndex: number): void {
    const lease = this.mustLease(leaseId);
    assert(!lease.held.has(lock.name) && !lease.waiting.has(lock.name), () => `lease ${leaseId} already on lock ${lock.name}`);
    const waiter: Waiter = { leaseId, mode, queuedIndex };
    if (lock.waiters.length === 0) lock.waiters = [waiter];
    else lock.waiters.push(waiter);
    if (lease.waiting === NONE_WAITING) lease.waiting = new Set([lock.name]);
    else (lease.waiting as Set<string>).add(lock.name);
    this.waiterCount++;
    bump(this.ownerLocks, lease.owner, 1);
  }

  removeWaiter(lock: LockEntry, leaseId: number): Waiter {
    const at = lock.waiters.findIndex((w) => w.leaseId === leaseId);
    assert(at >= 0, () => `lease ${leaseId} is not waiting on lock ${lock.name}`);
    const [waiter] = lock.waiters.splice(at, 1);
    const lease = this.mustLease(leaseId);
    (lease.waiting as Set<string>).delete(lock.name);
    if (lease.waiting.size === 0) lease.waiting = NONE_WAITING;
    this.waiterCount--;
    bump(this.ownerLocks, lease.owner, -1);
    return waiter!;
  }

  /**
   * canJoinHolders: a request in `mode` is compatible with the current holders,
   * ignoring the queue — true when there are no holders, or when it and every
   * holder are shared.
   */
  canJoinHolders(lock: LockEntry, mode: LockMode): boolean {
    if (lock.holders.length === 0) return true;
    return mode === 'shared' && lock.holders.every((h) => h.mode === 'shared');
  }

  /**
   * grantableNow decides a new Acquire: compatible with the holders and no
   * waiter queued (a shared request may not overtake a queued exclusive one,
   * so writers do not starve).
   */
  grantableNow(lock: LockEntry | undefined, mode: LockMode): boolean {
    if (lock === undefined) return true;
    assert(lock.holders.length > 0 || lock.waiters.length === 0, () => `lock ${lock.name} has waiters but no holders`);
    return lock.waiters.length === 0 && this.canJoinHolders(lock, mode);
  }

  /**
   * promote grants waiters from the head of the queue while the head is
   * compatible with the holders: one exclusive waiter when nothing is held, or
   * the run of consecutive shared waiters at the head when nothing or only
   * shared is held. It stops at the first incompatible waiter (FIFO), which
   * restores the invariant that the head of a queue is never grantable.
   * Every grant gets `token`, the index of the entry that caused it.
   */
  promote(lock: LockEntry, token: number): PromotedGrant[] {
    const granted: PromotedGrant[] = [];
    while (lock.waiters.length > 0) {
      const head = lock.waiters[0]!;
      if (!this.canJoinHolders(lock, head.mode)) break;
      this.removeWaiter(lock, head.leaseId);
      this.addHolder(lock, head.leaseId, head.mode, token);
      granted.push({ name: lock.name, leaseId: head.leaseId, token, mode: head.mode });
    }
    return granted;
  }

  private mustLease(leaseId: number): LeaseEntry {
    const lease = this.leases.get(leaseId);
    assert(lease !== undefined, () => `unknown lease ${leaseId}`);
    return lease;
  }
}

/** bump adjusts an owner's count, dropping it at zero so idle owners cost nothing; the ownerless '' is not counted. */
function bump(counts: Map<string, number>, owner: string, delta: number): void {
  if (owner === '') return;
  const next = (counts.get(owner) ?? 0) + delta;
  assert(next >= 0, () => `owner ${JSON.stringify(owner)} count would go negative`);
  if (next === 0) counts.delete(owner);
  else counts.set(owner, next);
}

import type { Command, LockMode } from '../../../src/lock/commands.js';
import type { LimitName, LockLimits } from '../../../src/lock/limits.js';
import type { ApplyResult, CancelledWait, CommandResult, HolderView, PromotedGrant } from '../../../src/lock/results.js';
import type { LeaseInfo, LockCounts, LockInfo } from '../../../src/lock/stateMachine.js';

/**
 * LockModel is the reference the state machine is checked against: the same
 * rules written as plainly as possible — three flat arrays and linear scans,
 * no indexes to keep in step, no shared code with src/lock beyond the types.
 * Slow and obviously right is the point.
 *
 * Global order of `holds` is grant order and of `waits` is queue order, so
 * filtering by name gives a lock's holders and its FIFO queue.
 */
interface Lease {
  readonly leaseId: number;
  /** owner: the identity that granted it, '' for none. */
  readonly owner: string;
  readonly ttlMs: number;
  readonly grantedIndex: number;
}

interface Hold {
  readonly name: string;
  readonly leaseId: number;
  readonly token: number;
  readonly mode: LockMode;
}

interface Wait {
  readonly name: string;
  readonly leaseId: number;
  readonly mode: LockMode;
  readonly queuedIndex: number;
}

const encoder = new TextEncoder();
const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export class LockModel {
  leases: Lease[] = [];
  holds: Hold[] = [];
  waits: Wait[] = [];
  lastAppliedIndex = 0;

  constructor(readonly limits: LockLimits) {}

  apply(index: number, term: number, cmd: Command): ApplyResult {
    if (index <= this.lastAppliedIndex) throw new Error('model: index must increase');
    this.lastAppliedIndex = index;
    const out: Out = { promoted: [], cancelledWaits: [], leaseGranted: null, leasesRemoved: [] };
    const result = this.step(index, term, cmd, out);
    return { index, result, ...out };
  }

  // ---- observations ----

  lock(name: string): LockInfo | null {
    const holders = this.holdersOf(name);
    const waiters = this.queueOf(name);
    if (holders.length === 0 && waiters.length === 0) return null;
    return {
      name,
      holders: holders.map(view),
      waiters: waiters.map((w) => ({ leaseId: w.leaseId, mode: w.mode, queuedIndex: w.queuedIndex })),
    };
  }

  lease(leaseId: number): LeaseInfo | null {
    const lease = this.leases.find((l) => l.leaseId === leaseId);
    if (lease === undefined) return null;
    return {
      leaseId,
      owner: lease.owner,
      ttlMs: lease.ttlMs,
      grantedIndex: lease.grantedIndex,
      locksHeld: this.holds.filter((h) => h.leaseId === leaseId).map((h) => h.name).sort(byName),
      waitingOn: this.waits.filter((w) => w.leaseId === leaseId).map((w) => w.name).sort(byName),
    };
  }

  leaseList(): Lease[] {
    return [...this.leases].sort((a, b) => a.leaseId - b.leaseId);
  }

  lockNames(): string[] {
    const names: string[] = [];
    for (const x of [...this.holds, ...this.waits]) if (!names.includes(x.name)) names.push(x.name);
    return names.sort(byName);
  }

  counts(): LockCounts {
    return { leases: this.leases.length, locks: this.lockNames().length, holders: this.holds.length, waiters: this.waits.length };
  }

  /** ownerOf is the lease's owner ('' for none), or null when there is no such lease. */
  ownerOf(leaseId: number): string | null {
    return this.leases.find((l) => l.leaseId === leaseId)?.owner ?? null;
  }

  /** tokenHeld is the token `leaseId` holds on `name`, or null. */
  tokenHeld(name: string, leaseId: number): number | null {
    return this.holds.find((h) => h.name === name && h.leaseId === leaseId)?.token ?? null;
  }

  // ---- rules ----

  private step(index: number, term: number, cmd: Command, out: Out): CommandResult {
    switch (cmd.type) {
      case 'grant-lease': {
        const { minTtlMs, maxTtlMs } = this.limits;
        if (cmd.ttlMs < minTtlMs || cmd.ttlMs > maxTtlMs) return { kind: 'invalid-ttl', ttlMs: cmd.ttlMs, minTtlMs, maxTtlMs };
        const owner = cmd.owner ?? '';
        const old = this.leases.find((l) => l.leaseId === cmd.leaseId);
        if (old !== undefined) {
          if (old.owner !== owner) return { kind: 'lease-not-owned', leaseId: cmd.leaseId };
          if (!cmd.idempotent) return { kind: 'lease-id-taken', leaseId: cmd.leaseId };
          if (old.ttlMs !== cmd.ttlMs) return { kind: 'lease-id-conflict', leaseId: cmd.leaseId, ttlMs: old.ttlMs, requestedTtlMs: cmd.ttlMs };
          return { kind: 'lease-granted', leaseId: cmd.leaseId, ttlMs: old.ttlMs, grantedIndex: old.grantedIndex, existing: true };
        }
        if (this.leases.length >= this.limits.maxLeases) return this.limit('maxLeases');
        if (owner !== '' && this.leases.filter((l) => l.owner === owner).length >= this.limits.maxLeasesPerOwner) return this.limit('maxLeasesPerOwner');
        this.leases.push({ leaseId: cmd.leaseId, owner, ttlMs: cmd.ttlMs, grantedIndex: index });
        out.leaseGranted = { leaseId: cmd.leaseId, ttlMs: cmd.ttlMs };
        return { kind: 'lease-granted', leaseId: cmd.leaseId, ttlMs: cmd.ttlMs, grantedIndex: index, existing: false };
      }
      case 'revoke-lease':
        if (!this.hasLease(cmd.leaseId)) return { kind: 'lease-not-found', leaseId: cmd.leaseId };
        if (!this.ownedBy(cmd.leaseId, cmd.owner)) return { kind: 'lease-not-owned', leaseId: cmd.leaseId };
        return this.dropLease('lease-revoked', cmd.leaseId, index, out);
      case 'expire-lease':
        if (term !== cmd.proposerTerm) return { kind: 'stale-expiry', leaseId: cmd.leaseId, proposerTerm: cmd.proposerTerm, entryTerm: term };
        if (!this.hasLease(cmd.leaseId)) return { kind: 'lease-not-found', leaseId: cmd.leaseId };
        return this.dropLease('lease-expired', cmd.leaseId, index, out);
      case 'acquire':
        return this.acquire(index, cmd.name, cmd.leaseId, cmd.mode, cmd.wait, cmd.owner);
      case 'release': {
        if (!this.hasLease(cmd.leaseId)) return { kind: 'lease-not-found', leaseId: cmd.leaseId };
        if (!this.ownedBy(cmd.leaseId, cmd.owner)) return { kind: 'lease-not-owned', leaseId: cmd.leaseId };
        const mine = this.holds.find((h) => h.name === cmd.name && h.leaseId === cmd.leaseId);
        if (mine === undefined) return { kind: 'not-holder', name: cmd.name, leaseId: cmd.leaseId, holders: this.holdersOf(cmd.name).map(view) };
        if (mine.token !== cmd.token) return { kind: 'stale-token', name: cmd.name, leaseId: cmd.leaseId, token: cmd.token, currentToken: mine.token };
        this.holds = this.holds.filter((h) => h !== mine);
        out.promoted.push(...this.promote(cmd.name, index));
        return { kind: 'released', name: cmd.name, leaseId: cmd.leaseId, token: cmd.token };
      }
      case 'withdraw-wait': {
        if (this.hasLease(cmd.leaseId) && !this.ownedBy(cmd.leaseId, cmd.owner)) return { kind: 'lease-not-owned', leaseId: cmd.leaseId };
        const mine = this.waits.find((w) => w.name === cmd.name && w.leaseId === cmd.leaseId);
        if (mine === undefined) return { kind: 'not-waiting', name: cmd.name, leaseId: cmd.leaseId, heldToken: this.tokenHeld(cmd.name, cmd.leaseId) };
        this.waits = this.waits.filter((w) => w !== mine);
        out.promoted.push(...this.promote(cmd.name, index));
        return { kind: 'withdrawn', name: cmd.name, leaseId: cmd.leaseId };
      }
    }
  }

  private acquire(index: number, name: string, leaseId: number, mode: LockMode, wait: boolean, owner: string | undefined): CommandResult {
    const bytes = encoder.encode(name).length;
    if (bytes < 1 || bytes > this.limits.maxNameBytes) return { kind: 'invalid-name', byteLength: bytes, maxNameBytes: this.limits.maxNameBytes };
    if (!this.hasLease(leaseId)) return { kind: 'lease-not-found', leaseId };
    if (!this.ownedBy(leaseId, owner)) return { kind: 'lease-not-owned', leaseId };
    const holders = this.holdersOf(name);
    const queue = this.queueOf(name);
    const held = holders.find((h) => h.leaseId === leaseId);
    if (held !== undefined) {
      if (held.mode !== mode) return { kind: 'mode-mismatch', name, leaseId, requested: mode, current: held.mode, state: 'holding' };
      return { kind: 'granted', name, leaseId, mode, token: held.token, existing: true };
    }
    const position = queue.findIndex((w) => w.leaseId === leaseId);
    if (position >= 0) {
      const w = queue[position]!;
      if (w.mode !== mode) return { kind: 'mode-mismatch', name, leaseId, requested: mode, current: w.mode, state: 'waiting' };
      return { kind: 'queued', name, leaseId, mode, position, queuedIndex: w.queuedIndex };
    }
    const onLease = this.holds.filter((h) => h.leaseId === leaseId).length + this.waits.filter((w) => w.leaseId === leaseId).length;
    const leaseOwner = this.ownerOf(leaseId) as string;
    const ownersLeases = this.leases.filter((l) => l.owner === leaseOwner).map((l) => l.leaseId);
    const onOwner = [...this.holds, ...this.waits].filter((x) => ownersLeases.includes(x.leaseId)).length;
    const ownerFull = leaseOwner !== '' && onOwner >= this.limits.maxLocksPerOwner;
    const grantable = holders.length === 0 || (mode === 'shared' && holders.every((h) => h.mode === 'shared') && queue.length === 0);
    if (grantable) {
      const isNewName = holders.length === 0 && queue.length === 0;
      if (isNewName && this.lockNames().length >= this.limits.maxLocks) return this.limit('maxLocks');
      if (onLease >= this.limits.maxLocksPerLease) return this.limit('maxLocksPerLease');
      if (ownerFull) return this.limit('maxLocksPerOwner');
      this.holds.push({ name, leaseId, token: index, mode });
      return { kind: 'granted', name, leaseId, mode, token: index, existing: false };
    }
    if (!wait) return { kind: 'held', name, mode, holders: holders.map(view), waiters: queue.length };
    if (onLease >= this.limits.maxLocksPerLease) return this.limit('maxLocksPerLease');
    if (this.waits.filter((w) => w.leaseId === leaseId).length >= this.limits.maxWaitsPerLease) return this.limit('maxWaitsPerLease');
    if (queue.length >= this.limits.maxWaitersPerLock) return this.limit('maxWaitersPerLock');
    if (ownerFull) return this.limit('maxLocksPerOwner');
    this.waits.push({ name, leaseId, mode, queuedIndex: index });
    return { kind: 'queued', name, leaseId, mode, position: queue.length, queuedIndex: index };
  }

  private dropLease(kind: 'lease-revoked' | 'lease-expired', leaseId: number, index: number, out: Out): CommandResult {
    const waitsCancelled = this.waits.filter((w) => w.leaseId === leaseId).map((w) => w.name).sort(byName);
    const locksReleased = this.holds.filter((h) => h.leaseId === leaseId).map((h) => h.name).sort(byName);
    this.waits = this.waits.filter((w) => w.leaseId !== leaseId);
    this.holds = this.holds.filter((h) => h.leaseId !== leaseId);
    this.leases = this.leases.filter((l) => l.leaseId !== leaseId);
    out.cancelledWaits.push(...waitsCancelled.map((name) => ({ name, leaseId })));
    out.leasesRemoved.push(leaseId);
    for (const name of [...waitsCancelled, ...locksReleased].sort(byName)) out.promoted.push(...this.promote(name, index));
    return { kind, leaseId, locksReleased, waitsCancelled };
  }

  /** promote: while the first waiter could join the holders, it does. */
  private promote(name: string, index: number): PromotedGrant[] {
    const granted: PromotedGrant[] = [];
    for (;;) {
      const head = this.queueOf(name)[0];
      if (head === undefined) return granted;
      const holders = this.holdersOf(name);
      const fits = holders.length === 0 || (head.mode === 'shared' && holders.every((h) => h.mode === 'shared'));
      if (!fits) return granted;
      this.waits = this.waits.filter((w) => w !== head);
      this.holds.push({ name, leaseId: head.leaseId, token: index, mode: head.mode });
      granted.push({ name, leaseId: head.leaseId, token: index, mode: head.mode });
    }
  }

  private holdersOf(name: string): Hold[] {
    return this.holds.filter((h) => h.name === name);
  }

  private queueOf(name: string): Wait[] {
    return this.waits.filter((w) => w.name === name);
  }

  /** ownedBy: a command without an owner is not checked; one with an owner must name the lease's. */
  private ownedBy(leaseId: number, owner: string | undefined): boolean {
    return owner === undefined || this.ownerOf(leaseId) === owner;
  }

  private hasLease(leaseId: number): boolean {
    return this.leases.some((l) => l.leaseId === leaseId);
  }

  private limit(limit: LimitName): CommandResult {
    return { kind: 'limit-exceeded', limit, max: this.limits[limit] };
  }
}

interface Out {
  promoted: PromotedGrant[];
  cancelledWaits: CancelledWait[];
  leaseGranted: { leaseId: number; ttlMs: number } | null;
  leasesRemoved: number[];
}

function view(h: Hold): HolderView {
  return { leaseId: h.leaseId, token: h.token, mode: h.mode };
}

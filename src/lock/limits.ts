import { assert } from './assert.js';

/**
 * LockLimits bound every table and queue in the state machine. They are part
 * of the replicated behaviour: every replica must run with the same limits, or
 * one could refuse what another grants. Limits are enforced when something is
 * created; lowering a limit never deletes existing state.
 */
export interface LockLimits {
  /** maxNameBytes: the longest lock name, in UTF-8 bytes. */
  readonly maxNameBytes: number;
  /** maxLocksPerLease counts locks held plus waits queued, so a promotion can never push a lease over it. */
  readonly maxLocksPerLease: number;
  /** maxWaitsPerLease: waits queued by one lease. */
  readonly maxWaitsPerLease: number;
  /**
   * maxWaitersPerLock: waits queued on one lock name. Without it, many leases
   * could pile onto one name and make every promotion and Get on it slow.
   */
  readonly maxWaitersPerLock: number;
  readonly maxLeases: number;
  /** maxLocks: distinct lock names with a holder or a waiter. */
  readonly maxLocks: number;
  /** maxLeasesPerOwner: leases one owner (an authenticated identity) may have at once; ownerless leases are not counted. */
  readonly maxLeasesPerOwner: number;
  /** maxLocksPerOwner: locks held plus waits queued over all of one owner's leases. */
  readonly maxLocksPerOwner: number;
  readonly minTtlMs: number;
  readonly maxTtlMs: number;
}

export type LimitName = 'maxLocksPerLease' | 'maxWaitsPerLease' | 'maxWaitersPerLock' | 'maxLeases' | 'maxLocks' | 'maxLeasesPerOwner' | 'maxLocksPerOwner';

export const DEFAULT_LOCK_LIMITS: LockLimits = Object.freeze({
  maxNameBytes: 256,
  maxLocksPerLease: 1000,
  maxWaitsPerLease: 1000,
  maxWaitersPerLock: 10_000,
  maxLeases: 1_000_000,
  maxLocks: 1_000_000,
  maxLeasesPerOwner: 10_000,
  maxLocksPerOwner: 100_000,
  minTtlMs: 500,
  maxTtlMs: 3_600_000,
});

/** resolveLimits fills in defaults and asserts the result is coherent; bad limits are a configuration bug. */
export function resolveLimits(overrides: Partial<LockLimits> = {}): LockLimits {
  for (const key of Object.keys(overrides)) {
    assert(key in DEFAULT_LOCK_LIMITS, () => `unknown lock limit ${key}; known: ${Object.keys(DEFAULT_LOCK_LIMITS).join(', ')}`);
  }
  const limits: LockLimits = Object.freeze({ ...DEFAULT_LOCK_LIMITS, ...overrides });
  for (const [key, value] of Object.entries(limits)) {
    assert(Number.isSafeInteger(value) && value >= 1, () => `limit ${key} must be a positive integer, got ${value}`);
  }
  assert(limits.minTtlMs <= limits.maxTtlMs, () => `minTtlMs ${limits.minTtlMs} exceeds maxTtlMs ${limits.maxTtlMs}`);
  return limits;
}

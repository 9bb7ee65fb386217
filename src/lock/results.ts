import type { LockMode } from './commands.js';
import type { LimitName } from './limits.js';

/**
 * The typed outcomes of applying a command. Operating conditions (a held lock,
 * an unknown lease, a limit) are values, not exceptions, so the server can map
 * each kind to a gRPC status and describeResult can say what was wrong and
 * what is accepted. Every field is plain data and identical on every replica.
 */

/**
 * HolderView: one holder of a lock. The token is the Raft index of the entry
 * that caused the grant, so tokens strictly increase from one entry to the
 * next; shared waiters promoted together by one entry share its token.
 */
export interface HolderView {
  readonly leaseId: number;
  readonly token: number;
  readonly mode: LockMode;
}

/** WaiterView: one queued wait; queuedIndex is the index of the Acquire that queued it (FIFO order). */
export interface WaiterView {
  readonly leaseId: number;
  readonly mode: LockMode;
  readonly queuedIndex: number;
}

// ---- successes ----

export interface LeaseGrantedResult {
  readonly kind: 'lease-granted';
  readonly leaseId: number;
  readonly ttlMs: number;
  readonly grantedIndex: number;
  /** existing: an idempotent retry found the lease already granted with this TTL. */
  readonly existing: boolean;
}

/** LeaseRemovedResult reports a Revoke or an Expire that took effect, and what went with the lease. */
export interface LeaseRemovedResult {
  readonly kind: 'lease-revoked' | 'lease-expired';
  readonly leaseId: number;
  /** locksReleased: names, canonical order. */
  readonly locksReleased: readonly string[];
  /** waitsCancelled: names, canonical order. */
  readonly waitsCancelled: readonly string[];
}

export interface GrantedResult {
  readonly kind: 'granted';
  readonly name: string;
  readonly leaseId: number;
  readonly mode: LockMode;
  readonly token: number;
  /** existing: the lease already held the lock; this is the token of that grant (a safe retry). */
  readonly existing: boolean;
}

export interface QueuedResult {
  readonly kind: 'queued';
  readonly name: string;
  readonly leaseId: number;
  readonly mode: LockMode;
  /** position: waiters ahead of this one (0 = at the head of the queue). */
  readonly position: number;
  readonly queuedIndex: number;
}

export interface ReleasedResult {
  readonly kind: 'released';
  readonly name: string;
  readonly leaseId: number;
  readonly token: number;
}

export interface WithdrawnResult {
  readonly kind: 'withdrawn';
  readonly name: string;
  readonly leaseId: number;
}

/**
 * NotWaitingResult: a withdraw found no such wait. Harmless, but heldToken
 * tells the server when the wait was granted before the withdraw was applied,
 * so it can hand the grant to the client or release it.
 */
export interface NotWaitingResult {
  readonly kind: 'not-waiting';
  readonly name: string;
  readonly leaseId: number;
  readonly heldToken: number | null;
}

// ---- refusals (no state change) ----

export interface LeaseNotFoundResult {
  readonly kind: 'lease-not-found';
  readonly leaseId: number;
}

export interface LeaseIdConflictResult {
  readonly kind: 'lease-id-conflict';
  readonly leaseId: number;
  readonly ttlMs: number;
  readonly requestedTtlMs: number;
}

export interface LeaseIdTakenResult {
  readonly kind: 'lease-id-taken';
  readonly leaseId: number;
}

/** LeaseNotOwnedResult: the command named an owner other than the lease's (or a grant reused another owner's lease id). */
export interface LeaseNotOwnedResult {
  readonly kind: 'lease-not-owned';
  readonly leaseId: number;
}

export interface StaleExpiryResult {
  readonly kind: 'stale-expiry';
  readonly leaseId: number;
  readonly proposerTerm: number;
  readonly entryTerm: number;
}

export interface HeldResult {
  readonly kind: 'held';
  readonly name: string;
  readonly mode: LockMode;
  readonly holders: readonly HolderView[];
  /** waiters: queued waits, which a shared request may not overtake. */
  readonly waiters: number;
}

/** ModeMismatchResult: the lease already holds or waits on the lock in the other mode; upgrades are not supported. */
export interface ModeMismatchResult {
  readonly kind: 'mode-mismatch';
  readonly name: string;
  readonly leaseId: number;
  readonly requested: LockMode;
  readonly current: LockMode;
  readonly state: 'holding' | 'waiting';
}

export interface NotHolderResult {
  readonly kind: 'not-holder';
  readonly name: string;
  readonly leaseId: number;
  readonly holders: readonly HolderView[];
}

export interface StaleTokenResult {
  readonly kind: 'stale-token';
  readonly name: string;
  readonly leaseId: number;
  readonly token: number;
  readonly currentToken: number;
}

export interface InvalidNameResult {
  readonly kind: 'invalid-name';
  readonly byteLength: number;
  readonly maxNameBytes: number;
}

export interface InvalidTtlResult {
  readonly kind: 'invalid-ttl';
  readonly ttlMs: number;
  readonly minTtlMs: number;
  readonly maxTtlMs: number;
}

export interface LimitExceededResult {
  readonly kind: 'limit-exceeded';
  readonly limit: LimitName;
  readonly max: number;
}

export type SuccessResult =
  | LeaseGrantedResult
  | LeaseRemovedResult
  | GrantedResult
  | QueuedResult
  | ReleasedResult
  | WithdrawnResult
  | NotWaitingResult;

export type RefusalResult =
  | LeaseNotFoundResult
  | LeaseIdConflictResult
  | LeaseIdTakenResult
  | LeaseNotOwnedResult
  | StaleExpiryResult
  | HeldResult
  | ModeMismatchResult
  | NotHolderResult
  | StaleTokenResult
  | InvalidNameResult
  | InvalidTtlResult
  | LimitExceededResult;

export type CommandResult = SuccessResult | RefusalResult;

/** PromotedGrant: a waiter granted by this apply; its token is the index of this entry. */
export interface PromotedGrant {
  readonly name: string;
  readonly leaseId: number;
  readonly token: number;
  readonly mode: LockMode;
}

export interface CancelledWait {
  readonly name: string;
  readonly leaseId: number;
}

export interface LeaseTtl {
  readonly leaseId: number;
  readonly ttlMs: number;
}

/**
 * ApplyResult is the command's result plus the side effects the node acts on:
 * notify promoted waiters, fail cancelled waits, and keep the lease clock in
 * step (leaseGranted / leasesRemoved) on every replica.
 */
export interface ApplyResult {
  readonly index: number;
  readonly result: CommandResult;
  /** promoted: canonical order — by lock name, then queue order. */
  readonly promoted: readonly PromotedGrant[];
  /** cancelledWaits: canonical order — by lock name. */
  readonly cancelledWaits: readonly CancelledWait[];
  /** leaseGranted: a lease created by this apply (not an idempotent retry). */
  readonly leaseGranted: LeaseTtl | null;
  readonly leasesRemoved: readonly number[];
}

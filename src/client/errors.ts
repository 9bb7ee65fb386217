/**
 * errors: every failure the client library reports is a RaftlockError, with
 * `name` set on each class so it survives logging and `err.name` checks. Raw
 * gRPC status codes never reach the user: protocol.ts maps each status to one
 * of these classes (see `errorForStatus` there).
 *
 *   RaftlockError
 *   ├── LockHeldError           a try-lock found the lock held (with its holders)
 *   ├── LockConflictError       any other refused lock operation (mode mismatch, ...)
 *   ├── LeaseNotFoundError      the server does not know the lease (never granted, revoked or expired)
 *   ├── LeaseLostError          this client stopped vouching for a lease (the lease signal's reason)
 *   ├── LeaseIdConflictError    a lease id is in use with another TTL
 *   ├── ResourceExhaustedError  a cluster limit was reached (leases, locks, waits)
 *   ├── InvalidArgumentError    malformed input (name, TTL, wait, ...)
 *   ├── DeadlineExceededError   an acquire's waitMs ran out (the wait was withdrawn)
 *   ├── UnavailableError        no node could serve the request within the time allowed
 *   │   └── NotLeaderError      ... and the last answer named a leader that could not be reached
 *   ├── AbortError              the caller's AbortSignal cancelled the operation
 *   ├── ClientClosedError       the client was closed
 *   └── InternalError           the server failed unexpectedly (a bug: please report it)
 */

/** RaftlockError is the base class of every error the client library throws. */
export class RaftlockError extends Error {
  override readonly name: string = 'RaftlockError';
}

/** LockMode is how a lock is held: by one lease (exclusive) or by several (shared). */
export type LockMode = 'exclusive' | 'shared';

/** LockHolder is one holder of a lock: its lease and the fencing token of its grant. */
export interface LockHolder {
  readonly leaseId: string;
  /** token: the fencing token of the grant, exact (a bigint, never a lossy number). */
  readonly token: bigint;
  readonly mode: LockMode;
}

/** LockHeldError: a try-lock (waitMs 0) found the lock held by someone else. */
export class LockHeldError extends RaftlockError {
  override readonly name: string = 'LockHeldError';

  constructor(
    message: string,
    /** lockName: the lock that is held. */
    readonly lockName: string,
    /** holders: the current holders (at most 32 are reported; see holdersCount). */
    readonly holders: readonly LockHolder[],
    /** holdersCount: how many holders there are, which may exceed holders.length. */
    readonly holdersCount: number,
  ) {
    super(message);
  }
}

/** LockConflictError: a lock operation refused for the lock's state (mode mismatch, release by a non-holder). */
export class LockConflictError extends RaftlockError {
  override readonly name: string = 'LockConflictError';
}

/**
 * MembershipError: the leader refused a membership change or a leader
 * transfer: the member is unknown, already a member, or the change is not
 * possible now (another change in progress, a learner not caught up, the last
 * voter). The message says which and what to do.
 */
export class MembershipError extends RaftlockError {
  override readonly name = 'MembershipError';
  constructor(message: string, readonly member: string, readonly reason: 'unknown-member' | 'already-member' | 'refused') {
    super(message);
  }
}

/** LeaseNotFoundError: the server knows no lease with this id (never granted, revoked, or expired). */
export class LeaseNotFoundError extends RaftlockError {
  override readonly name: string = 'LeaseNotFoundError';

  constructor(
    message: string,
    readonly leaseId: string,
  ) {
    super(message);
  }
}

/**
 * LeaseLostReason says why a lease was declared lost:
 * - 'expired': no renewal was acknowledged before the local deadline
 *   (last acknowledged send + TTL - safety margin), e.g. the client was cut off;
 * - 'gone': the server said the lease no longer exists (KeepAlive ttl 0, or NOT_FOUND);
 * - 'revoked': this client revoked it (Lease.revoke, releasing a private lock, close({ revoke: true }));
 * - 'closed': the client was closed, so nobody renews it any more.
 */
export type LeaseLostReason = 'expired' | 'gone' | 'revoked' | 'closed';

/** LeaseLostError is the reason of a lost lease's signal, and what onLost listeners receive. */
export class LeaseLostError extends RaftlockError {
  override readonly name: string = 'LeaseLostError';

  constructor(
    message: string,
    readonly leaseId: string,
    readonly reason: LeaseLostReason,
  ) {
    super(message);
  }
}

/** LeaseIdConflictError: Grant with a lease id that exists with another TTL. */
export class LeaseIdConflictError extends RaftlockError {
  override readonly name: string = 'LeaseIdConflictError';
}

/**
 * ResourceExhaustedError: a cluster limit (leases, locks, locks per lease,
 * waits) was reached, or a node's per-client limit (call rate, calls in
 * flight, queued requests). For the latter `retryAfterMs` is the node's hint
 * (the `raftlock-retry-after-ms` trailer): it refused the call before doing
 * anything, and the client has already waited that long and asked again for
 * as long as the operation's deadline allowed.
 */
export class ResourceExhaustedError extends RaftlockError {
  override readonly name: string = 'ResourceExhaustedError';

  constructor(
    message: string,
    readonly retryAfterMs: number | null = null,
  ) {
    super(message);
  }
}

/** UnauthenticatedError: the cluster requires credentials and got none, or a token that is unknown or revoked. */
export class UnauthenticatedError extends RaftlockError {
  override readonly name: string = 'UnauthenticatedError';
}

/** PermissionDeniedError: the identity lacks the permission named in the message, or used another identity's lease. */
export class PermissionDeniedError extends RaftlockError {
  override readonly name: string = 'PermissionDeniedError';
}

/** InvalidArgumentError: malformed input; the message says what was wrong and what is accepted. */
export class InvalidArgumentError extends RaftlockError {
  override readonly name: string = 'InvalidArgumentError';
}

/** DeadlineExceededError: an acquire's waitMs ran out before the lock was granted; the wait was withdrawn. */
export class DeadlineExceededError extends RaftlockError {
  override readonly name: string = 'DeadlineExceededError';

  constructor(
    message: string,
    readonly lockName: string,
    readonly waitMs: number,
  ) {
    super(message);
  }
}

/**
 * UnavailableError: no node served the request within the time allowed (no
 * node answered, no quorum, or an election did not finish). `cause` holds the
 * last failure seen, `endpoints` the addresses tried.
 */
export class UnavailableError extends RaftlockError {
  override readonly name: string = 'UnavailableError';

  constructor(
    message: string,
    readonly endpoints: readonly string[],
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** NotLeaderError: the request ran out of time while the last node asked named a leader (the hint) that did not serve it. */
export class NotLeaderError extends UnavailableError {
  override readonly name: string = 'NotLeaderError';

  constructor(
    message: string,
    endpoints: readonly string[],
    /** leaderAddress: the leader's client address as the last node reported it. */
    readonly leaderAddress: string,
    /** leaderId: the leader's node id, or null when not reported. */
    readonly leaderId: string | null,
    options?: ErrorOptions,
  ) {
    super(message, endpoints, options);
  }
}

/** AbortError: the caller's AbortSignal cancelled the operation; `cause` is the signal's reason. */
export class AbortError extends RaftlockError {
  override readonly name: string = 'AbortError';
}

/** ClientClosedError: the client was closed before or while the operation ran. */
export class ClientClosedError extends RaftlockError {
  override readonly name: string = 'ClientClosedError';
}

/** InternalError: the server failed in a way it should not (a bug); the message is the server's. */
export class InternalError extends RaftlockError {
  override readonly name: string = 'InternalError';
}

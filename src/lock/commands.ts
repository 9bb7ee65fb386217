/**
 * The commands the lock state machine applies. Each is proposed by the server
 * after it has validated the request, encoded by commandCodec into a log
 * entry, and applied on every replica at the same index.
 */

export type LockMode = 'exclusive' | 'shared';

/** GrantLease creates lease `leaseId`; the server always chooses the id (client-supplied or random). */
export interface GrantLease {
  readonly type: 'grant-lease';
  readonly leaseId: number;
  readonly ttlMs: number;
  /** idempotent: a client-chosen id, so a retry with the same TTL returns the existing lease. */
  readonly idempotent: boolean;
}

export interface RevokeLease {
  readonly type: 'revoke-lease';
  readonly leaseId: number;
}

/**
 * ExpireLease is proposed by the leader's lease clock. It carries the term in
 * which the leader decided the expiry, and takes effect only if the entry is
 * committed in that same term (etcd#15247: a paused old leader's expiries must
 * never apply, not even re-proposed by a new leader).
 */
export interface ExpireLease {
  readonly type: 'expire-lease';
  readonly leaseId: number;
  readonly proposerTerm: number;
}

export interface Acquire {
  readonly type: 'acquire';
  readonly name: string;
  readonly leaseId: number;
  readonly mode: LockMode;
  /** wait: queue behind the current holders instead of being refused. */
  readonly wait: boolean;
}

export interface Release {
  readonly type: 'release';
  readonly name: string;
  readonly leaseId: number;
  readonly token: number;
}

/** WithdrawWait goes through the log so a late grant can never go to a client that has gone away. */
export interface WithdrawWait {
  readonly type: 'withdraw-wait';
  readonly name: string;
  readonly leaseId: number;
}

export type Command = GrantLease | RevokeLease | ExpireLease | Acquire | Release | WithdrawWait;

/** MAX_LEASE_ID: lease ids are positive safe integers so they fit a JS number and a proto int64 alike. */
export const MAX_LEASE_ID = Number.MAX_SAFE_INTEGER;

export function isValidLeaseId(id: number): boolean {
  return Number.isSafeInteger(id) && id >= 1;
}

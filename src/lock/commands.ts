/**
 * The commands the lock state machine applies. Each is proposed by the server
 * after it has validated the request, encoded by commandCodec into a log
 * entry, and applied on every replica at the same index.
 */

export type LockMode = 'exclusive' | 'shared';

/**
 * Owned: the optional `owner` of a command. On GrantLease it is recorded as
 * the lease's owner; on the other lease commands it must equal the lease's
 * owner or the command is refused (lease-not-owned) and changes nothing. The
 * lock machine treats owners as opaque names (the server fills them from the
 * caller's authenticated identity); a command without one — auth off, or an
 * admin acting on any lease — is not checked, and an ownerless lease counts
 * against no per-owner quota.
 */
export interface Owned {
  readonly owner?: string;
}

/** MAX_OWNER_BYTES bounds an owner name in a command (user names are shorter still). */
export const MAX_OWNER_BYTES = 128;

/** GrantLease creates lease `leaseId`; the server always chooses the id (client-supplied or random). */
export interface GrantLease extends Owned {
  readonly type: 'grant-lease';
  readonly leaseId: number;
  readonly ttlMs: number;
  /** idempotent: a client-chosen id, so a retry with the same TTL returns the existing lease. */
  readonly idempotent: boolean;
}

export interface RevokeLease extends Owned {
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

export interface Acquire extends Owned {
  readonly type: 'acquire';
  readonly name: string;
  readonly leaseId: number;
  readonly mode: LockMode;
  /** wait: queue behind the current holders instead of being refused. */
  readonly wait: boolean;
}

export interface Release extends Owned {
  readonly type: 'release';
  readonly name: string;
  readonly leaseId: number;
  readonly token: number;
}

/** WithdrawWait goes through the log so a late grant can never go to a client that has gone away. */
export interface WithdrawWait extends Owned {
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

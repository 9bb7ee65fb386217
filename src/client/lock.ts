import type { LockHolder, LockMode } from './errors.js';
import type { Lease } from './lease.js';

/**
 * lock: what acquire() hands back, and the shapes of lock state.
 *
 * A LockHandle is valid while its lease is: watch `signal` (the lease's),
 * and pass `token` to whatever the lock protects so a holder that outlived
 * its lease is refused there (fencing, design.md §3-4).
 */

/** LockState is a lock's holders and waiters (Lock.Get, linearizable). A free lock has neither. */
export interface LockState {
  readonly name: string;
  readonly holders: readonly LockHolder[];
  /** waiters: in queue order (the head is granted next). */
  readonly waiters: readonly LockWaiter[];
}

export interface LockWaiter {
  readonly leaseId: string;
  readonly mode: LockMode;
}

/** LockContext is what withLock passes to its function. */
export interface LockContext {
  readonly name: string;
  /** token: the fencing token of this grant. */
  readonly token: bigint;
  readonly tokenString: string;
  /** signal aborts when the lock's lease is lost: stop working on the protected resource. */
  readonly signal: AbortSignal;
  readonly lease: Lease;
}

/** Releaser is how a handle gives its lock back (supplied by the client). */
export type Releaser = (handle: LockHandle, options?: { signal?: AbortSignal }) => Promise<void>;

/** LockHandle is one granted lock. */
export class LockHandle {
  /** token: the fencing token — the Raft index of the grant; strictly increasing across the cluster's history. */
  readonly token: bigint;
  readonly #release: Releaser;
  #released: Promise<void> | null = null;

  /** LockHandles are made by RaftlockClient.acquire (the constructor is not part of the public API). */
  constructor(
    readonly name: string,
    readonly mode: LockMode,
    /** tokenString: the token as a decimal string, as on the wire. */
    readonly tokenString: string,
    /** lease: the lease holding the lock (a private one unless acquire was given a lease). */
    readonly lease: Lease,
    /** privateLease: the lease was granted for this lock alone and is revoked on release. */
    readonly privateLease: boolean,
    release: Releaser,
  ) {
    this.token = BigInt(tokenString);
    this.#release = release;
  }

  /** signal: the lease's signal; it aborts (reason LeaseLostError) when the lock can no longer be relied on. */
  get signal(): AbortSignal {
    return this.lease.signal;
  }

  /** released: release() was called. */
  get released(): boolean {
    return this.#released !== null;
  }

  /**
   * release gives the lock back (a private lease is revoked, which releases
   * it). Idempotent: calling it again returns the first call's promise. A lock
   * whose lease is already lost, or that the cluster says is no longer held
   * with this token, counts as released. After a failure it may be called again.
   */
  release(options?: { signal?: AbortSignal }): Promise<void> {
    this.#released ??= this.#release(this, options).catch((err: unknown) => {
      this.#released = null; // a failed release may be tried again
      throw err;
    });
    return this.#released;
  }

  context(): LockContext {
    return { name: this.name, token: this.token, tokenString: this.tokenString, signal: this.signal, lease: this.lease };
  }
}

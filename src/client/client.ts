import { randomBytes } from 'node:crypto';
import { Connection, DEFAULT_BACKOFF, abortError, sleep, throwIfAborted, type BackoffPolicy } from './connection.js';
import {
  AbortError,
  ClientClosedError,
  DeadlineExceededError,
  InvalidArgumentError,
  LeaseIdConflictError,
  LeaseLostError,
  LeaseNotFoundError,
  LockConflictError,
  UnavailableError,
  type LockMode,
} from './errors.js';
import { KeepAliveStream } from './keepAliveStream.js';
import { Lease, LeaseState, stateOf, type LeaseTimeToLive } from './lease.js';
import { LockHandle, type LockContext, type LockState } from './lock.js';
import { channelCredentials, type ClientTlsOptions } from './tls.js';
import { AuthAdmin } from './authAdmin.js';
import { bigintFromWire, modeFromWire, modeToWire, numberFromWire, type MemberWire, type RequestOf, type StatusResponse } from './protocol.js';

/**
 * client: RaftlockClient, the library's front door. It composes the
 * connection (endpoints, leader, retries), the shared KeepAlive stream, the
 * leases it granted and the locks acquired on them.
 */

export interface ConnectOptions {
  /** endpoints: client addresses ("host:port") of any subset of the cluster's nodes; a comma-separated string is accepted. */
  readonly endpoints: string | readonly string[];
  /** connectTimeoutMs: how long connect() waits for some node to answer Cluster.Status (default 5000). */
  readonly connectTimeoutMs?: number;
  /** requestTimeoutMs: the budget of one operation across all its retries, not counting an acquire's wait (default 10000). */
  readonly requestTimeoutMs?: number;
  /** attemptTimeoutMs: how long one attempt may take before the next endpoint is tried (default 2000). */
  readonly attemptTimeoutMs?: number;
  /** backoff between failed attempts: jittered, exponential (default 25 ms doubling up to 250 ms: followers park calls during an election, so longer sleeps only add to a failover). */
  readonly backoff?: Partial<BackoffPolicy>;
  /** defaultLeaseTtlMs: TTL of the private lease acquire() grants when not given one (default 10000). */
  readonly defaultLeaseTtlMs?: number;
  /**
   * discoverMembers: also use the members' addresses that Cluster.Status
   * reports, and talk to the leader directly (default true). With false, only
   * `endpoints` (and leader redirects) are used, and a follower forwards calls.
   */
  readonly discoverMembers?: boolean;
  /** signal cancels connect(). */
  readonly signal?: AbortSignal;
  /**
   * tls: talk TLS to a cluster with client TLS (PEM text; loadClientTls reads
   * files). Without it the client talks plaintext, which a TLS cluster refuses.
   */
  readonly tls?: ClientTlsOptions;
  /**
   * token: a bearer token (`raftlock token issue`) sent with every call, for a
   * cluster with auth enabled. Prefer TLS with it: over plaintext the token
   * crosses the network readable. With `tls` carrying a user certificate
   * (raftlock://<cluster>/user/<name>) no token is needed.
   */
  readonly token?: string;
}

export interface CallOptions {
  /** signal cancels the operation; an in-flight call is cancelled on the server too. */
  readonly signal?: AbortSignal;
}

export interface GrantOptions extends CallOptions {}

export interface AcquireOptions extends CallOptions {
  /** lease: the lease to hold the lock with; without one, a private lease is granted and revoked on release. */
  readonly lease?: Lease;
  /** mode: 'exclusive' (default) or 'shared'. */
  readonly mode?: LockMode;
  /** waitMs: how long to wait in the lock's queue (default Infinity: until granted, aborted, or the lease is lost). 0 tries once. */
  readonly waitMs?: number;
  /** leaseTtlMs: TTL of the private lease (default: the client's defaultLeaseTtlMs). */
  readonly leaseTtlMs?: number;
}

export type TryAcquireOptions = Omit<AcquireOptions, 'waitMs'>;

export interface StatusOptions extends CallOptions {
  /** endpoint: ask this node (no failover); by default the leader, or any node that answers. */
  readonly endpoint?: string;
}

export interface CloseOptions {
  /** revoke: revoke every lease this client granted (releasing its locks) before closing (default false: they expire). */
  readonly revoke?: boolean;
}

/** ClusterStatus is one node's view of the cluster (Cluster.Status). */
export interface ClusterStatus {
  /** endpoint: the address that answered. */
  readonly endpoint: string;
  readonly id: string;
  /** role: 'leader', 'follower', 'candidate' or 'pre-candidate'. */
  readonly role: string;
  readonly term: bigint;
  /** leader: the leader's node id, or null when this node knows none. */
  readonly leader: string | null;
  readonly commitIndex: bigint;
  readonly appliedIndex: bigint;
  readonly snapshotIndex: bigint;
  readonly members: readonly { readonly id: string; readonly clientAddress: string; readonly peerAddress: string; readonly role: 'voter' | 'learner' }[];
}

/** MemberInfo is one member of the configuration in force, as the leader sees it. */
export interface MemberInfo {
  readonly id: string;
  readonly role: 'voter' | 'learner';
  readonly clientAddress: string;
  readonly peerAddress: string;
  /** matchIndex: how far the member's log matches the leader's. */
  readonly matchIndex: bigint;
}

export interface MemberList {
  readonly leader: string | null;
  /** leaderLastIndex: the leader's last log index; a learner close to it can be promoted. */
  readonly leaderLastIndex: bigint;
  readonly members: readonly MemberInfo[];
}

/** MemberChange: the committed change's log index and the membership after it. */
export interface MemberChange {
  readonly index: bigint;
  readonly members: readonly MemberInfo[];
}

export interface LeaseInfo {
  readonly id: string;
  readonly ttlMs: number;
}

/** MAX_WAIT_CHUNK_MS: the server's longest wait_ms (one hour); longer waits are made of several. */
const MAX_WAIT_CHUNK_MS = 3_600_000;
/** ABANDONED_WAIT_SETTLE_MS: after no node answered, let the cluster settle (a new leader) before looking for the wait. */
const ABANDONED_WAIT_SETTLE_MS = 200;
/** CLOSE_REVOKE_TIMEOUT_MS bounds close({ revoke: true }). */
const CLOSE_REVOKE_TIMEOUT_MS = 5_000;
const LEASE_ID_ATTEMPTS = 3;

/**
 * connect returns a client for the cluster at `endpoints`, once some node has
 * answered (UnavailableError if none does within connectTimeoutMs). The
 * leader is found from that answer.
 */
export async function connect(options: ConnectOptions): Promise<RaftlockClient> {
  const client = new RaftlockClient(options);
  try {
    await client.connection.discover(client.connectTimeoutMs, options.signal);
  } catch (err) {
    await client.close();
    throw err;
  }
  return client;
}

export class RaftlockClient {
  /** @internal */
  readonly connection: Connection;
  /** @internal */
  readonly connectTimeoutMs: number;
  private readonly stream: KeepAliveStream;
  private readonly defaultLeaseTtlMs: number;
  /** leaseMap: the live leases this client renews; `granted` is false for leases adopted with keepAlive(). */
  private readonly leaseMap = new Map<string, { readonly state: LeaseState; readonly lease: Lease; readonly granted: boolean }>();
  /** revoking: leases given up locally whose Revoke has not finished (close({ revoke }) retries them). */
  private readonly revoking = new Set<string>();
  /** cleanups: background checks that an abandoned wait left nothing behind, by lease and lock. */
  private readonly cleanups = new Map<string, Promise<void>>();
  private readonly closing = new AbortController();
  private closed: Promise<void> | null = null;

  /** Use connect(); the constructor does not contact the cluster. */
  constructor(options: ConnectOptions) {
    const endpoints = parseEndpoints(options.endpoints);
    this.connectTimeoutMs = positive(options.connectTimeoutMs ?? 5_000, 'connectTimeoutMs');
    this.defaultLeaseTtlMs = positive(options.defaultLeaseTtlMs ?? 10_000, 'defaultLeaseTtlMs');
    const backoff: BackoffPolicy = { ...DEFAULT_BACKOFF, ...options.backoff };
    this.connection = new Connection({
      endpoints,
      attemptTimeoutMs: positive(options.attemptTimeoutMs ?? 2_000, 'attemptTimeoutMs'),
      requestTimeoutMs: positive(options.requestTimeoutMs ?? 10_000, 'requestTimeoutMs'),
      backoff,
      discoverMembers: options.discoverMembers ?? true,
      credentials: channelCredentials(options.tls),
      ...(options.token === undefined ? {} : { token: checkToken(options.token) }),
    });
    this.stream = new KeepAliveStream(this.connection, backoff);
  }

  /** auth: users, roles and tokens of a cluster with auth enabled (cluster admins only, except whoAmI). */
  get auth(): AuthAdmin {
    this.throwIfClosed();
    return new AuthAdmin(this.connection, (s) => this.signal(s));
  }

  /** leaderAddress: the leader this client currently sends requests to, or null when none is known. */
  get leaderAddress(): string | null {
    return this.connection.leaderAddress();
  }

  /** keepAliveAddress: the node the shared KeepAlive stream is open to, or null. */
  get keepAliveAddress(): string | null {
    return this.stream.currentAddress();
  }

  // ---------------------------------------------------------------- leases

  /**
   * grant creates a lease with a TTL (ms; the cluster's accepted range applies)
   * and keeps it alive until it is revoked, lost, or the client closes.
   */
  grant(ttlMs: number, options: GrantOptions = {}): Promise<Lease> {
    return this.grantLease(ttlMs, false, options.signal);
  }

  /**
   * keepAlive adopts a lease granted elsewhere (another process, the CLI) by
   * its id and keeps it alive like one of this client's own, until it is
   * revoked, lost, or the client closes (close({ revoke: true }) leaves
   * adopted leases alone). The local deadline starts from the lease's
   * remaining time as the leader reports it, counted from when this client
   * asked. LeaseNotFoundError if the lease does not exist. Adopting a lease
   * this client already renews returns the same Lease.
   */
  async keepAlive(leaseId: string, options: CallOptions = {}): Promise<Lease> {
    this.throwIfClosed();
    const known = this.leaseMap.get(leaseId);
    if (known !== undefined) return known.lease;
    const askedAt = performance.now();
    const info = await this.timeToLive(leaseId, options);
    const again = this.leaseMap.get(leaseId);
    if (again !== undefined) return again.lease;
    this.throwIfClosed();
    // The leader cannot expire it before askedAt + remainingMs: count it as if granted a TTL before that.
    const countedFrom = askedAt + Math.min(info.remainingMs, info.ttlMs) - info.ttlMs;
    const state = new LeaseState(info.id, info.ttlMs, countedFrom, false, (s) => this.forget(s));
    const lease = new Lease(state, { revoke: (l, o) => this.revoke(l, o), timeToLive: (l, o) => this.timeToLive(l, o) });
    this.leaseMap.set(state.id, { state, lease, granted: false });
    this.stream.add(state);
    return lease;
  }

  /** revoke deletes a lease (a Lease of this client, or any lease id), releasing its locks. An unknown lease is not an error. */
  async revoke(lease: Lease | string, options: CallOptions = {}): Promise<void> {
    this.throwIfClosed();
    const id = typeof lease === 'string' ? lease : lease.id;
    const state = typeof lease === 'string' ? this.leaseMap.get(id)?.state : stateOf(lease);
    state?.lose('revoked', 'it was revoked by this client');
    await this.revokeId(id, this.signal(options.signal));
  }

  /** timeToLive asks for a lease's TTL, the leader's view of its time left, and its locks. */
  async timeToLive(lease: Lease | string, options: CallOptions = {}): Promise<LeaseTimeToLive> {
    this.throwIfClosed();
    const id = typeof lease === 'string' ? lease : lease.id;
    try {
      const r = await this.connection.call('Lease/TimeToLive', { leaseId: id }, { signal: this.signal(options.signal), idempotent: true, context: { leaseId: id } });
      return { id: r.leaseId, ttlMs: numberFromWire(r.ttlMs), remainingMs: numberFromWire(r.remainingMs), locks: r.locks };
    } catch (err) {
      if (err instanceof LeaseNotFoundError) this.leaseGone(id);
      throw err;
    }
  }

  /** leases lists every lease in the cluster, in ascending id order. */
  async leases(options: CallOptions = {}): Promise<LeaseInfo[]> {
    this.throwIfClosed();
    const r = await this.connection.call('Lease/List', {}, { signal: this.signal(options.signal), idempotent: true, context: {} });
    return r.leases.map((l) => ({ id: l.leaseId, ttlMs: numberFromWire(l.ttlMs) }));
  }

  // ---------------------------------------------------------------- locks

  /**
   * acquire takes a lock and returns its handle: waits up to waitMs in the
   * lock's queue (DeadlineExceededError), or fails at once when waitMs is 0
   * and the lock is held (LockHeldError). Acquiring a lock the lease already
   * holds returns the same token.
   */
  async acquire(name: string, options: AcquireOptions = {}): Promise<LockHandle> {
    this.throwIfClosed();
    const mode = options.mode ?? 'exclusive';
    if (mode !== 'exclusive' && mode !== 'shared') throw new InvalidArgumentError(`mode ${JSON.stringify(mode)} is unknown; accepted: 'exclusive' or 'shared'`);
    if (typeof name !== 'string') throw new InvalidArgumentError(`lock name must be a string, got ${typeof name}`);
    const waitMs = options.waitMs ?? Infinity;
    if (!(waitMs >= 0) || (waitMs !== Infinity && !Number.isInteger(waitMs))) {
      throw new InvalidArgumentError(`waitMs ${String(waitMs)} is invalid; accepted: 0 (try once), a whole number of milliseconds, or Infinity`);
    }
    throwIfAborted(options.signal);
    const isPrivate = options.lease === undefined;
    const lease = options.lease ?? (await this.grantLease(options.leaseTtlMs ?? this.defaultLeaseTtlMs, true, options.signal));
    const state = stateOf(lease);
    if (state === undefined) throw new InvalidArgumentError('options.lease must be a Lease returned by RaftlockClient.grant');
    if (state.lost !== null) throw state.lost;
    const signal = AbortSignal.any([this.closing.signal, state.signal, ...(options.signal === undefined ? [] : [options.signal])]);
    try {
      await this.cleanups.get(cleanupKey(lease.id, name));
      const token = await this.acquireOn(name, state, mode, waitMs, signal);
      return new LockHandle(name, mode, token, lease, isPrivate, (handle, opts) => this.release(handle, opts));
    } catch (err) {
      if (isPrivate) await this.giveUp(state, err);
      else if (waitMs > 0 && (err instanceof AbortError || err instanceof UnavailableError)) {
        // An abort is the user giving up: give the wait back now (the server holds a cancelled wait for a retry).
        this.checkAbandonedWait(state, name, mode, err instanceof AbortError ? 0 : ABANDONED_WAIT_SETTLE_MS);
      }
      throw err;
    }
  }

  /** tryAcquire takes a lock if it is free (or shareable) right now; LockHeldError with the holders otherwise. */
  tryAcquire(name: string, options: TryAcquireOptions = {}): Promise<LockHandle> {
    return this.acquire(name, { ...options, waitMs: 0 });
  }

  /**
   * withLock acquires `name`, runs `fn` with the token and the lease's
   * signal, and always releases — also when fn throws (fn's error wins over a
   * failed release). Returns fn's result.
   */
  async withLock<T>(name: string, fn: (lock: LockContext) => T | Promise<T>, options: AcquireOptions = {}): Promise<T> {
    const handle = await this.acquire(name, options);
    let result: T;
    try {
      result = await fn(handle.context());
    } catch (err) {
      await handle.release().catch(() => undefined);
      throw err;
    }
    await handle.release();
    return result;
  }

  /** get reports a lock's holders (tokens as bigint) and waiters. Linearizable. */
  async get(name: string, options: CallOptions = {}): Promise<LockState> {
    this.throwIfClosed();
    const r = await this.connection.call('Lock/Get', { name }, { signal: this.signal(options.signal), idempotent: true, context: { lockName: name } });
    return {
      name: r.name,
      holders: r.holders.map((h) => ({ leaseId: h.leaseId, token: bigintFromWire(h.token), mode: modeFromWire(h.mode) })),
      waiters: r.waiters.map((w) => ({ leaseId: w.leaseId, mode: modeFromWire(w.mode) })),
    };
  }

  // ---------------------------------------------------------------- cluster

  /** status returns Cluster.Status of the node that answers: `endpoint` if given, else the leader or any node. */
  async status(options: StatusOptions = {}): Promise<ClusterStatus> {
    this.throwIfClosed();
    const signal = this.signal(options.signal);
    const { attemptTimeoutMs, requestTimeoutMs } = this.connection.options;
    if (options.endpoint !== undefined) return toClusterStatus(options.endpoint, await this.connection.statusOf(options.endpoint, attemptTimeoutMs, signal));
    const deadline = performance.now() + requestTimeoutMs;
    let last: unknown = null;
    const tried = new Set<string>();
    for (let backoffMs = 25; performance.now() < deadline; backoffMs = Math.min(backoffMs * 2, 500)) {
      const address = this.connection.pick();
      tried.add(address);
      try {
        return toClusterStatus(address, await this.connection.statusOf(address, Math.min(attemptTimeoutMs, deadline - performance.now()), signal));
      } catch (err) {
        if (!(err instanceof UnavailableError)) throw err;
        last = err;
        this.connection.noteFailure(address);
        await sleep(Math.min(backoffMs, Math.max(0, deadline - performance.now())), signal);
      }
    }
    throw new UnavailableError(`no raftlock node answered Cluster.Status within ${requestTimeoutMs} ms; tried ${[...tried].join(', ')}`, [...tried], { cause: last });
  }

  // ---------------------------------------------------------------- members

  /** members lists the configuration in force, answered by the leader (voters, then learners). */
  async members(options: CallOptions = {}): Promise<MemberList> {
    this.throwIfClosed();
    const r = await this.connection.call('Members/List', {}, { signal: this.signal(options.signal), idempotent: true, context: {} });
    return { leader: r.leader === '' ? null : r.leader, leaderLastIndex: bigintFromWire(r.leaderLastIndex), members: r.members.map(toMemberInfo) };
  }

  /**
   * addMember adds a learner with its addresses; resolves once the change is
   * committed. Start the new node (config entry with "join": true) before or
   * after: it catches up from the leader, then promoteMember makes it a voter.
   */
  async addMember(id: string, addresses: { clientAddress: string; peerAddress: string }, options: CallOptions = {}): Promise<MemberChange> {
    return this.memberChange('Members/Add', { id, ...addresses }, id, options);
  }

  /** promoteMember makes a caught-up learner a voter. */
  async promoteMember(id: string, options: CallOptions = {}): Promise<MemberChange> {
    return this.memberChange('Members/Promote', { id }, id, options);
  }

  /** removeMember removes a voter (the leader too: it hands over once the change commits) or a learner. */
  async removeMember(id: string, options: CallOptions = {}): Promise<MemberChange> {
    return this.memberChange('Members/Remove', { id }, id, options);
  }

  /** transferLeader hands leadership to the voter `id`; resolves once it leads. */
  async transferLeader(id: string, options: CallOptions = {}): Promise<void> {
    this.throwIfClosed();
    await this.connection.call('Members/TransferLeader', { id }, { signal: this.signal(options.signal), idempotent: true, context: { member: id } });
  }

  private async memberChange(method: 'Members/Add' | 'Members/Promote' | 'Members/Remove', body: { id: string; clientAddress?: string; peerAddress?: string }, id: string, options: CallOptions): Promise<MemberChange> {
    this.throwIfClosed();
    // Not idempotent: an attempt whose outcome is unknown is not retried (member list tells what happened).
    const r = await this.connection.call(method, body as never, { signal: this.signal(options.signal), idempotent: false, context: { member: id } });
    return { index: bigintFromWire(r.index), members: r.members.map(toMemberInfo) };
  }

  // ---------------------------------------------------------------- close

  /**
   * close stops the client: in-flight operations fail with
   * ClientClosedError, every lease's signal aborts (reason 'revoked' with
   * { revoke: true }, else 'closed': unrenewed, they expire on the server
   * after their TTL), leases are revoked when asked (best-effort, bounded), and
   * the KeepAlive stream, timers and channels end — nothing keeps the process
   * alive afterwards. Idempotent.
   */
  close(options: CloseOptions = {}): Promise<void> {
    this.closed ??= this.shutdown(options.revoke ?? false);
    return this.closed;
  }

  private async shutdown(revoke: boolean): Promise<void> {
    const ids = new Set<string>([...[...this.leaseMap.values()].filter((l) => l.granted).map((l) => l.state.id), ...this.revoking]);
    // In-flight operations first (they fail with ClientClosedError), then the leases' signals.
    this.closing.abort(new ClientClosedError('the raftlock client was closed'));
    for (const { state } of [...this.leaseMap.values()]) {
      state.lose(revoke ? 'revoked' : 'closed', revoke ? 'the client revoked it while closing' : 'the client was closed, so nothing renews it');
    }
    this.stream.close();
    if (revoke && ids.size > 0) {
      const signal = AbortSignal.timeout(Math.min(CLOSE_REVOKE_TIMEOUT_MS, this.connection.options.requestTimeoutMs));
      await Promise.allSettled([...ids].map((id) => this.revokeId(id, signal)));
    }
    await Promise.allSettled([...this.cleanups.values()]);
    this.connection.close();
  }

  // ---------------------------------------------------------------- internals

  private throwIfClosed(): void {
    if (this.closed !== null) throw new ClientClosedError('the raftlock client is closed');
  }

  /** signal combines the caller's signal with the client's own (aborted by close). */
  private signal(user: AbortSignal | undefined): AbortSignal {
    return user === undefined ? this.closing.signal : AbortSignal.any([this.closing.signal, user]);
  }

  private async grantLease(ttlMs: number, isPrivate: boolean, userSignal: AbortSignal | undefined): Promise<Lease> {
    this.throwIfClosed();
    if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0) throw new InvalidArgumentError(`ttlMs ${String(ttlMs)} is invalid; accepted: a whole number of milliseconds within the cluster's TTL range`);
    const signal = this.signal(userSignal);
    for (let attempt = 1; ; attempt++) {
      const id = randomLeaseId();
      // The lease is counted from the first attempt's send: the server cannot have started its clock earlier.
      const sentAt = performance.now();
      try {
        const r = await this.connection.call('Lease/Grant', { ttlMs: String(ttlMs), leaseId: id }, { signal, idempotent: true, context: { leaseId: id } });
        const state = new LeaseState(r.leaseId, numberFromWire(r.ttlMs), sentAt, isPrivate, (s) => this.forget(s));
        const lease = new Lease(state, { revoke: (l, o) => this.revoke(l, o), timeToLive: (l, o) => this.timeToLive(l, o) });
        if (this.closed !== null) {
          state.lose('closed', 'the client was closed while it was granted');
          throw new ClientClosedError('the raftlock client was closed');
        }
        this.leaseMap.set(state.id, { state, lease, granted: true });
        this.stream.add(state);
        return lease;
      } catch (err) {
        // A random 53-bit id already in use with another TTL: pick another (never expected in practice).
        if (err instanceof LeaseIdConflictError && attempt < LEASE_ID_ATTEMPTS) continue;
        throw err;
      }
    }
  }

  /** forget: a lease was lost; stop renewing it. */
  private forget(state: LeaseState): void {
    if (this.leaseMap.get(state.id)?.state === state) this.leaseMap.delete(state.id);
    this.stream.remove(state);
  }

  /** leaseGone: the cluster says a lease does not exist. */
  private leaseGone(id: string): void {
    this.leaseMap.get(id)?.state.lose('gone', 'the cluster reports it does not exist (revoked or expired)');
  }

  private async revokeId(id: string, signal: AbortSignal): Promise<void> {
    this.revoking.add(id);
    try {
      await this.connection.call('Lease/Revoke', { leaseId: id }, { signal, idempotent: true, context: { leaseId: id } });
    } catch (err) {
      // A retried Revoke that already took effect answers NOT_FOUND: the lease is gone either way.
      if (!(err instanceof LeaseNotFoundError)) throw err;
    } finally {
      this.revoking.delete(id);
    }
  }

  /**
   * giveUp stops renewing the private lease of a failed acquire and revokes
   * it: awaited when the cluster gave a definitive answer (so a failed
   * tryAcquire leaves nothing behind), in the background when the cluster is
   * unreachable or the caller gave up (it expires anyway if that fails).
   */
  private async giveUp(state: LeaseState, cause: unknown): Promise<void> {
    state.lose('revoked', 'the acquire it was granted for failed');
    if (this.closed !== null) return;
    const revoking = this.revokeId(state.id, this.closing.signal).catch(() => undefined);
    const reachable = !(cause instanceof AbortError || cause instanceof UnavailableError || cause instanceof LeaseLostError || cause instanceof ClientClosedError);
    if (reachable) await revoking;
  }

  /** acquireOn runs Acquire, in chunks of at most an hour for longer waits; returns the token. */
  private async acquireOn(name: string, state: LeaseState, mode: LockMode, waitMs: number, signal: AbortSignal): Promise<string> {
    const waitUntil = performance.now() + waitMs;
    const chunk = (): number => (waitMs === 0 ? 0 : Math.max(1, Math.min(MAX_WAIT_CHUNK_MS, Math.ceil(waitUntil - performance.now()))));
    for (;;) {
      let attempts = 0;
      const request = (): RequestOf<'Lock/Acquire'> => {
        if (attempts++ > 0 && waitMs > 0 && performance.now() >= waitUntil) {
          // A retry once the wait has run out would not rejoin it (the server withdraws a wait when its wait_ms
          // ends): it would be a fresh try, which can be granted ahead of waiters queued behind ours, after the
          // caller's waitMs. The first attempt may have been granted with its reply lost: acquire() gives it back.
          throw new UnavailableError(
            `lock ${JSON.stringify(name)}: no node answered lease ${state.id}'s wait within waitMs ${waitMs}; it may have been granted meanwhile and is given back — retry`,
            this.connection.knownEndpoints(),
          );
        }
        return { name, leaseId: state.id, mode: modeToWire(mode), waitMs: String(chunk()) };
      };
      try {
        const r = await this.connection.call(
          'Lock/Acquire',
          request,
          { signal, idempotent: true, context: { leaseId: state.id, lockName: name, waitMs }, holdMs: chunk },
        );
        return r.token;
      } catch (err) {
        if (err instanceof DeadlineExceededError) {
          if (performance.now() < waitUntil - 1) continue; // one chunk of a longer wait ran out
          throw new DeadlineExceededError(
            `lock ${JSON.stringify(name)} was not granted to lease ${state.id} within waitMs ${waitMs}; the wait was withdrawn — retry, or wait longer`,
            name,
            waitMs,
          );
        }
        if (err instanceof LeaseNotFoundError) {
          state.lose('gone', 'the cluster reports it does not exist (revoked or expired)');
          if (signal.aborted) throw abortError(signal);
        }
        throw err;
      }
    }
  }

  private async release(handle: LockHandle, options: CallOptions = {}): Promise<void> {
    const state = stateOf(handle.lease);
    if (state === undefined || state.lost !== null || this.closed !== null) return; // nothing vouches for it any more
    if (handle.privateLease) {
      state.lose('revoked', `its lock ${JSON.stringify(handle.name)} was released`);
      return this.revokeId(state.id, this.signal(options.signal));
    }
    await this.cleanups.get(cleanupKey(state.id, handle.name));
    try {
      await this.connection.call(
        'Lock/Release',
        { name: handle.name, leaseId: state.id, token: handle.tokenString },
        { signal: this.signal(options.signal), idempotent: true, context: { leaseId: state.id, lockName: handle.name } },
      );
    } catch (err) {
      // The lock is no longer held with this token (a retry of ours already released it) or the lease is gone.
      if (err instanceof LockConflictError) return;
      if (err instanceof LeaseNotFoundError) return this.leaseGone(state.id);
      throw err;
    }
  }

  /**
   * checkAbandonedWait: an acquire that waited ended without a definitive
   * answer (aborted, or no node answered), so the wait may still sit in the
   * lock's queue — or have been granted — with nobody to use it: the server
   * keeps a cancelled wait queued for a re-attach grace (the cancellation may
   * be a dropped connection the client retries), and a broken call may not
   * have been seen as cancelled at all. This background check, after
   * `delayMs`, finds what is left and gives it back. Later acquires and
   * releases of the same lock on the lease wait for it.
   */
  private checkAbandonedWait(state: LeaseState, name: string, mode: LockMode, delayMs: number): void {
    if (this.closed !== null || state.lost !== null) return;
    const key = cleanupKey(state.id, name);
    const signal = AbortSignal.any([this.closing.signal, state.signal]);
    const opts = { signal, idempotent: true, context: { leaseId: state.id, lockName: name } };
    const task = (async () => {
      if (delayMs > 0) await sleep(delayMs, signal);
      const lock = await this.connection.call('Lock/Get', { name }, opts);
      let token = lock.holders.find((h) => h.leaseId === state.id)?.token;
      if (token === undefined && lock.waiters.some((w) => w.leaseId === state.id)) {
        // Withdraw by joining the same wait for 1 ms: the server withdraws it when that runs out (or grants it).
        token = await this.connection
          .call('Lock/Acquire', { name, leaseId: state.id, mode: modeToWire(mode), waitMs: '1' }, { ...opts, context: { ...opts.context, waitMs: 1 } })
          .then((r) => r.token, () => undefined);
      }
      if (token !== undefined) await this.connection.call('Lock/Release', { name, leaseId: state.id, token }, opts);
    })()
      .catch(() => undefined)
      .finally(() => {
        if (this.cleanups.get(key) === task) this.cleanups.delete(key);
      });
    this.cleanups.set(key, task);
  }
}

function cleanupKey(leaseId: string, name: string): string {
  return `${leaseId}\u0000${name}`;
}

/** randomLeaseId picks a uniformly random lease id in 1..2^53-1 (a decimal string). */
export function randomLeaseId(): string {
  for (;;) {
    const bytes = randomBytes(8);
    const id = (bytes.readUInt32BE(0) & 0x1f_ffff) * 2 ** 32 + bytes.readUInt32BE(4);
    if (id !== 0) return String(id);
  }
}

function toClusterStatus(endpoint: string, s: StatusResponse): ClusterStatus {
  return {
    endpoint,
    id: s.id,
    role: s.role,
    term: bigintFromWire(s.term),
    leader: s.leader === '' ? null : s.leader,
    commitIndex: bigintFromWire(s.commitIndex),
    appliedIndex: bigintFromWire(s.appliedIndex),
    snapshotIndex: bigintFromWire(s.snapshotIndex),
    members: s.members.map((m) => ({ id: m.id, clientAddress: m.clientAddress, peerAddress: m.peerAddress, role: m.role === 'learner' ? 'learner' : 'voter' })),
  };
}

function toMemberInfo(m: MemberWire): MemberInfo {
  return {
    id: m.id,
    role: m.role === 'learner' ? 'learner' : 'voter',
    clientAddress: m.clientAddress,
    peerAddress: m.peerAddress,
    matchIndex: bigintFromWire(m.matchIndex),
  };
}

function parseEndpoints(input: string | readonly string[]): string[] {
  const list = (typeof input === 'string' ? input.split(',') : [...input]).map((e) => String(e).trim()).filter((e) => e !== '');
  if (list.length === 0) throw new InvalidArgumentError('endpoints is empty; accepted: one or more "host:port" client addresses of cluster nodes');
  for (const e of list) {
    if (!/^(\[[0-9a-fA-F:.]+\]|[^\s:/]+):[0-9]{1,5}$/.test(e)) {
      throw new InvalidArgumentError(`endpoint ${JSON.stringify(e)} is not "host:port"; accepted: e.g. "127.0.0.1:7001" or "[::1]:7001"`);
    }
  }
  return list;
}

function positive(value: number, name: string): number {
  if (!(value > 0) || !Number.isFinite(value)) throw new InvalidArgumentError(`${name} ${String(value)} is invalid; accepted: a positive number of milliseconds`);
  return value;
}

/** checkToken refuses a token that could not travel in metadata (the server checks the rest). */
function checkToken(token: string): string {
  if (typeof token !== 'string' || !/^[\x21-\x7e]{1,512}$/.test(token)) {
    throw new InvalidArgumentError('token must be 1 to 512 printable ASCII characters without spaces, as raftlock token issue prints it');
  }
  return token;
}

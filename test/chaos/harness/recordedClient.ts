import { connect, type Lease, type RaftlockClient } from '../../../src/client/index.js';
import { safetyMarginMs, stateOf } from '../../../src/client/lease.js';
import { modeFromWire, modeToWire, type RequestOf, type ResponseOf, type UnaryMethod } from '../../../src/client/protocol.js';
import type { LockMode, Op } from '../history.js';
import type { ChaosCluster } from './chaosCluster.js';
import type { FencedStore } from './fencedStore.js';
import { now, type OpRequest, type Recorder } from './recorder.js';

/** What a recorded op came to, as the calling code sees it (the History has the same). */
export type Outcome<T> =
  | { readonly outcome: 'ok'; readonly value: T; readonly op: Op }
  | { readonly outcome: 'fail' | 'unknown'; readonly error: { code: string; message: string }; readonly op: Op };

export interface RecordedClientOptions {
  /** requestTimeoutMs: one op's budget across retries before it is `unknown` (default 10000: rides out most faults, and a loaded machine). */
  readonly requestTimeoutMs?: number;
  /** attemptTimeoutMs: one attempt's budget before the next node is tried (default 2000, the library's). */
  readonly attemptTimeoutMs?: number;
}

/**
 * RecordedLease is a lease granted through the real client library, which
 * keeps it alive over its KeepAlive stream. The library's loss signal is
 * what the client "believes": when it fires, a LeaseLoss is recorded.
 */
export class RecordedLease {
  constructor(readonly lease: Lease) {}

  get id(): string {
    return this.lease.id;
  }

  get ttlMs(): number {
    return this.lease.ttlMs;
  }

  /** lost: the client no longer believes it holds the lease (reads the clock, exact after a pause). */
  get lost(): boolean {
    return this.lease.signal.aborted;
  }

  get signal(): AbortSignal {
    return this.lease.signal;
  }
}

/**
 * NOT_APPLIED: library errors that mean the state machine refused (or the
 * request was invalid before proposing).
 */
const NOT_APPLIED = new Set(['LockHeldError', 'LockConflictError', 'LeaseNotFoundError', 'LeaseIdConflictError', 'ResourceExhaustedError', 'InvalidArgumentError']);

/**
 * WITHDRAWN: a wait that ran out is a refusal only when the leader withdrew
 * it through the log (its DEADLINE_EXCEEDED says so, src/server/lockService.ts).
 * Any other DEADLINE_EXCEEDED (a forwarding hop's own deadline) races a
 * possible grant, so it is recorded `unknown`.
 */
const WITHDRAWN = /the wait was withdrawn/;

/**
 * RecordedClient is one workload client (one logical process): the real
 * client library over this client's own proxies (so the harness can cut it
 * off), and every operation recorded in the History as invoke then ok /
 * fail / unknown.
 *
 * Leases go through the library (grant + its KeepAlive stream + its loss
 * signal). Acquire / release / get / revoke go through the library's
 * connection (same leader tracking, retries and error mapping) but not its
 * conveniences, which would issue unrecorded requests (private leases,
 * background clean-up of abandoned waits, release() that silently does
 * nothing once the lease is lost). A refusal after the library retried an
 * attempt is recorded `unknown`: an earlier attempt may have been applied.
 *
 *   const c = await RecordedClient.connect(cluster, 'c1');
 *   const lease = (await c.grant(2_000)).value;           // check .outcome first
 *   const got = await c.acquire(lease, 'a', { mode: 'exclusive', waitMs: 1_000 });
 *   if (got.outcome === 'ok') await c.holdAndWrite(store, lease, 'a', got.value.token, 'exclusive', 500);
 *   await c.release(lease, 'a', token);
 *   await c.close();
 *
 * One op at a time per client (the History's model); the methods assert it.
 */
export class RecordedClient {
  private client: RaftlockClient;
  private busy = false;
  private closed = false;

  private constructor(
    readonly name: string,
    private readonly endpoints: readonly string[],
    private readonly recorder: Recorder,
    private readonly options: Required<RecordedClientOptions>,
    client: RaftlockClient,
  ) {
    this.client = client;
  }

  /** connect opens this client's proxies (cluster.clientEndpoints) and connects the library through them. */
  static async connect(cluster: ChaosCluster, name: string, options: RecordedClientOptions = {}): Promise<RecordedClient> {
    const endpoints = await cluster.clientEndpoints(name);
    const opts = { requestTimeoutMs: options.requestTimeoutMs ?? 10_000, attemptTimeoutMs: options.attemptTimeoutMs ?? 2_000 };
    const client = await RecordedClient.open(endpoints, opts);
    return new RecordedClient(name, endpoints, cluster.recorder, opts, client);
  }

  private static open(endpoints: readonly string[], o: Required<RecordedClientOptions>): Promise<RaftlockClient> {
    return connect({ endpoints, discoverMembers: false, requestTimeoutMs: o.requestTimeoutMs, attemptTimeoutMs: o.attemptTimeoutMs, connectTimeoutMs: 30_000 });
  }

  /** grant: a lease of ttlMs kept alive by the library; its loss is recorded as a LeaseLoss. */
  async grant(ttlMs: number): Promise<Outcome<RecordedLease>> {
    const invokedAt = now();
    return this.run({ client: this.name, kind: 'grant', ttlMs }, async () => {
      const lease = await this.client.grant(ttlMs);
      this.watchLoss(lease, invokedAt);
      this.recordKeepAlives(lease);
      return lease;
    }, (lease) => ({ value: new RecordedLease(lease), result: { leaseId: lease.id, ttlMs: lease.ttlMs } }), true);
  }

  /** acquire: Lock/Acquire on the lease; waitMs 0 tries once, more waits in the queue (a wait that runs out is `unknown`: a grant can race it). */
  async acquire(lease: RecordedLease, lock: string, o: { mode: LockMode; waitMs: number }): Promise<Outcome<{ token: string; existing: boolean }>> {
    const request = { client: this.name, kind: 'acquire' as const, leaseId: lease.id, lock, mode: o.mode, wait: o.waitMs > 0, waitMs: o.waitMs };
    const waitUntil = now() + o.waitMs;
    const remaining = (): number => (o.waitMs === 0 ? 0 : Math.max(1, Math.ceil(waitUntil - now())));
    return this.call(request, 'Lock/Acquire', () => ({ name: lock, leaseId: lease.id, mode: modeToWire(o.mode), waitMs: String(remaining()) }), remaining, (r) => {
      const value = { token: r.token, existing: r.existing };
      return { value, result: { token: r.token, existing: r.existing } };
    });
  }

  /** release: Lock/Release of `token` held by the lease. */
  async release(lease: RecordedLease, lock: string, token: string): Promise<Outcome<null>> {
    const request = { client: this.name, kind: 'release' as const, leaseId: lease.id, lock, token };
    return this.call(request, 'Lock/Release', () => ({ name: lock, leaseId: lease.id, token }), undefined, () => ({ value: null, result: {} }));
  }

  /** get: Lock/Get (linearizable): holders and waiters. */
  async get(lock: string): Promise<Outcome<{ holders: { leaseId: string; token: string; mode: LockMode }[]; waiters: string[] }>> {
    const request = { client: this.name, kind: 'get' as const, lock };
    return this.call(request, 'Lock/Get', () => ({ name: lock }), undefined, (r) => {
      const holders = r.holders.map((h) => ({ leaseId: h.leaseId, token: h.token, mode: modeFromWire(h.mode) }));
      const waiters = r.waiters.map((w) => w.leaseId);
      return { value: { holders, waiters }, result: { holders, waiters } };
    });
  }

  /** revoke: Lease/Revoke (a gone lease is success), after the library stops believing in it. */
  async revoke(lease: RecordedLease): Promise<Outcome<null>> {
    const state = stateOf(lease.lease);
    state?.lose('revoked', 'the workload revoked it');
    const request = { client: this.name, kind: 'revoke' as const, leaseId: lease.id };
    return this.call(request, 'Lease/Revoke', () => ({ leaseId: lease.id }), undefined, () => ({ value: null, result: {} }));
  }

  /**
   * holdAndWrite is the critical section: until holdMs passed or the lease
   * is lost, write to the fenced store every gapMs (each write in flight for
   * flightMs), checking the lease's signal right before each write.
   * Returns how many writes the store accepted and rejected.
   */
  async holdAndWrite(store: FencedStore, lease: RecordedLease, lock: string, token: string, mode: LockMode, holdMs: number, o: { gapMs?: number; flightMs?: number } = {}): Promise<{ accepted: number; rejected: number }> {
    const until = now() + holdMs;
    const counts = { accepted: 0, rejected: 0 };
    const gapMs = o.gapMs ?? 50;
    do {
      if (lease.lost) break;
      const ok = await store.write({ client: this.name, lock, leaseId: lease.id, token, mode, flightMs: o.flightMs ?? 5 });
      if (ok) counts.accepted++;
      else counts.rejected++;
      await new Promise((resolve) => setTimeout(resolve, gapMs));
    } while (now() < until);
    return counts;
  }

  /**
   * lapse stops renewing every lease of this client without revoking them
   * (closes the library client and opens a new one on the same proxies): the
   * leases expire on the cluster after their TTL, and the library reports them
   * lost ('closed') at once.
   */
  async lapse(): Promise<void> {
    const old = this.client;
    await old.close();
    // Reconnect (bounded): connect() needs some node to answer, which a fault may delay.
    let lastErr: unknown = null;
    for (let attempt = 1; attempt <= 5; attempt++) {
      try {
        this.client = await RecordedClient.open(this.endpoints, this.options);
        return;
      } catch (err) {
        lastErr = err;
      }
    }
    throw new Error(`client ${this.name} could not reconnect after letting its leases lapse: ${(lastErr as Error).message}`);
  }

  /** close ends the library client; leases are not revoked (they expire). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.client.close();
  }

  // ---------------------------------------------------------------- internals

  /**
   * recordKeepAlives records the library's renewals of a lease as
   * `keepalive` ops of client `<name>~keepalive`: invoked when the library
   * sends one, ok when the reply that acknowledges it arrives (the library
   * matches replies to the oldest unacknowledged send), unknown when its
   * stream broke or the lease was lost first. Up to four renewals of a lease
   * can be in flight at once, so these ops overlap (unlike the client's
   * own). Done by wrapping the lease state's methods, from the outside.
   */
  private recordKeepAlives(lease: Lease): void {
    const state = stateOf(lease);
    if (state === undefined) return;
    const client = `${this.name}~keepalive`;
    const pending: Op[] = [];
    const rec = this.recorder;
    const sent = state.recordSent.bind(state);
    const acknowledge = state.acknowledge.bind(state);
    const forget = state.forgetUnacknowledged.bind(state);
    const lose = state.lose.bind(state);
    const giveUp = (code: string, message: string): void => {
      for (const op of pending.splice(0)) rec.unknown(op, { code, message });
    };
    // The stream may already have sent a renewal (a stream opened for this lease resends at once).
    const alreadySent = (state as unknown as { unacknowledged?: unknown }).unacknowledged;
    if (Array.isArray(alreadySent)) {
      for (const at of alreadySent) if (typeof at === 'number') pending.push(rec.invokeAt({ client, kind: 'keepalive', leaseId: state.id }, at));
    }
    state.recordSent = (at: number): void => {
      sent(at);
      pending.push(rec.invoke({ client, kind: 'keepalive', leaseId: state.id }));
    };
    state.acknowledge = (ttl: number): void => {
      const live = state.lost === null;
      acknowledge(ttl);
      const op = live ? pending.shift() : undefined;
      if (op !== undefined) rec.ok(op, { leaseId: state.id, ttlMs: ttl });
    };
    state.forgetUnacknowledged = (): void => {
      forget();
      giveUp('StreamBroken', 'the KeepAlive stream broke before the reply came');
    };
    state.lose = (reason, detail): void => {
      lose(reason, detail);
      giveUp('LeaseLost', detail);
    };
  }

  /**
   * watchLoss records the lease's loss. For an expiry, the client stopped
   * believing at the library's deadline, not when its timer ran: reading the
   * lease's signal or `lost` checks the clock (lease.ts), and holdAndWrite
   * reads it before every write. So `atMs` is min(deadline, now) for
   * 'expired', and `notifiedMs` says when the library's listeners actually
   * ran (later when this process's event loop was late).
   */
  private watchLoss(lease: Lease, invokedAt: number): void {
    const ttlMs = lease.ttlMs;
    lease.onLost((err) => {
      const notifiedMs = now();
      const state = stateOf(lease);
      // The library's deadline is (newest acknowledged keepalive's send time) + TTL - margin.
      const lastAcked = state === undefined ? invokedAt : state.deadline - state.ttlMs + safetyMarginMs(state.ttlMs);
      const atMs = err.reason === 'expired' && state !== undefined ? Math.min(state.deadline, notifiedMs) : notifiedMs;
      this.recorder.leaseLoss({ client: this.name, leaseId: lease.id, ttlMs, atMs, notifiedMs, lastAckedKeepAliveSentMs: lastAcked, reason: `${err.reason}: ${err.message}` });
    });
  }

  private call<M extends UnaryMethod, V>(
    request: OpRequest,
    method: M,
    body: () => RequestOf<M>,
    holdMs: (() => number) | undefined,
    onOk: (r: ResponseOf<M>) => { value: V; result: Op['result'] },
  ): Promise<Outcome<V>> {
    let attempts = 0;
    const counted = (): RequestOf<M> => {
      attempts++;
      return body();
    };
    const context = { leaseId: request.leaseId, lockName: request.lock, waitMs: request.waitMs };
    return this.run(
      request,
      () => this.client.connection.call(method, counted, { idempotent: true, context, ...(holdMs !== undefined ? { holdMs } : {}) }),
      onOk,
      false,
      () => attempts,
    );
  }

  private async run<R, V>(request: OpRequest, fn: () => Promise<R>, onOk: (r: R) => { value: V; result: Op['result'] }, refusalsUnknown: boolean, attempts: () => number = () => 1): Promise<Outcome<V>> {
    if (this.busy) throw new Error(`client ${this.name} runs one op at a time; ${request.kind} was called while another is in flight`);
    if (this.closed) throw new Error(`client ${this.name} is closed`);
    this.busy = true;
    const op = this.recorder.invoke(request);
    try {
      const r = await fn();
      const { value, result } = onOk(r);
      this.recorder.ok(op, result);
      return { outcome: 'ok', value, op };
    } catch (err) {
      const e = err as Error;
      const error = { code: e.name, message: e.message };
      const refused = NOT_APPLIED.has(e.name) || (e.name === 'DeadlineExceededError' && WITHDRAWN.test(e.message));
      const definite = refused && !refusalsUnknown && attempts() <= 1;
      if (definite) this.recorder.fail(op, error);
      else this.recorder.unknown(op, error);
      return { outcome: definite ? 'fail' : 'unknown', error, op };
    } finally {
      this.busy = false;
    }
  }
}

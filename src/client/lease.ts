import { LeaseLostError, type LeaseLostReason } from './errors.js';

/**
 * lease: a lease as this client vouches for it.
 *
 * The local deadline (design.md §4). The client counts a lease from the
 * moment it SENT the request that the server acknowledged (Grant, or a
 * KeepAlive whose reply came back), never from when the reply arrived: the
 * leader restarted the lease's clock when it received that request, which was
 * after we sent it. So the server cannot expire the lease before
 * `sentAt + ttlMs`, and this client declares it lost at
 *
 *     deadline = sentAt + ttlMs - safetyMarginMs(ttlMs)
 *
 * safetyMarginMs = max(50 ms, 10% of the TTL). The margin covers what the
 * argument above leaves out: the client's and the leader's clocks running at
 * slightly different rates (10% is far beyond any real drift), the time between
 * our timer firing and the application seeing the abort (event-loop delay, a
 * GC pause; at least 50 ms however short the TTL), and the Expire entry that
 * must still be committed before anyone else can be granted the lock (which
 * only widens the gap). Fencing tokens cover what no margin can: a holder
 * paused past its deadline (design.md §4).
 *
 * KeepAlive replies carry no request id, so a reply is matched to the OLDEST
 * unacknowledged send of that lease: the earliest send time gives the earliest
 * deadline, which is always safe. When the stream breaks, unacknowledged sends
 * are forgotten (their replies can no longer arrive).
 *
 * A lost lease stays lost: a late reply never revives it. Losing it aborts
 * `signal` with a LeaseLostError and calls every onLost listener exactly once.
 */

/** MIN_SAFETY_MARGIN_MS and SAFETY_MARGIN_FRACTION define the default margin: max(50 ms, 10% of the TTL). */
export const MIN_SAFETY_MARGIN_MS = 50;
export const SAFETY_MARGIN_FRACTION = 0.1;

/** safetyMarginMs is how long before the server could expire a lease this client declares it lost. */
export function safetyMarginMs(ttlMs: number): number {
  return Math.max(MIN_SAFETY_MARGIN_MS, Math.ceil(ttlMs * SAFETY_MARGIN_FRACTION));
}

/** REFRESH_FRACTION: a lease is renewed about every third of its TTL, so two renewals can fail before it is lost. */
export const REFRESH_FRACTION = 1 / 3;

/**
 * STALL_FRACTION and MIN_STALL_MS: a keepalive unanswered for a third of the
 * renewal interval (at least 150 ms) marks its stream stuck. A healthy leader
 * answers within a heartbeat round trip; waiting a whole interval (as before)
 * left too little of a short TTL to find a new leader after a paused or
 * killed one: with TTL 3 s the stream was given up 2 s after the last
 * acknowledged send, 0.7 s before the lease's local deadline.
 */
export const STALL_FRACTION = 1 / 3;
export const MIN_STALL_MS = 150;

/** stallMs: how long a keepalive of a lease with `ttlMs` may wait for its reply before its stream is presumed stuck. */
export function stallMs(ttlMs: number): number {
  return Math.max(MIN_STALL_MS, Math.ceil(ttlMs * REFRESH_FRACTION * STALL_FRACTION));
}

/** MAX_UNACKNOWLEDGED bounds the keepalives of one lease awaiting a reply on one stream. */
export const MAX_UNACKNOWLEDGED = 4;

/** LeaseState is the client-side clock of one lease (internal; the public face is Lease). */
export class LeaseState {
  readonly controller = new AbortController();
  /** deadline: performance.now() time at which the lease is declared lost without a renewal. */
  private deadlineAt: number;
  /** acknowledgedSentAt: send time of the request most recently acknowledged. */
  private acknowledgedAt: number;
  private ttl: number;
  private readonly unacknowledged: number[] = [];
  private readonly listeners = new Set<(err: LeaseLostError) => void>();
  private expiryTimer: NodeJS.Timeout | null = null;
  private lostError: LeaseLostError | null = null;

  constructor(
    readonly id: string,
    ttlMs: number,
    /** countedFrom: when the (first attempt of the) Grant was sent — the server cannot have started the lease's clock earlier. */
    countedFrom: number,
    /** isPrivate: granted by acquire() for one lock, and revoked when it is released. */
    readonly isPrivate: boolean,
    private readonly onLose: (state: LeaseState) => void,
  ) {
    this.ttl = ttlMs;
    this.acknowledgedAt = countedFrom;
    this.deadlineAt = countedFrom + ttlMs - safetyMarginMs(ttlMs);
    this.armExpiry();
  }

  get ttlMs(): number {
    return this.ttl;
  }

  /** signal: reading it checks the clock first (see checkDeadline). */
  get signal(): AbortSignal {
    this.checkDeadline();
    return this.controller.signal;
  }

  /** lost: the LeaseLostError once lost; reading it checks the clock first. */
  get lost(): LeaseLostError | null {
    this.checkDeadline();
    return this.lostError;
  }

  /**
   * checkDeadline declares the lease lost now if its deadline has passed,
   * without waiting for the expiry timer: after the process was paused (GC,
   * SIGSTOP, a laptop lid) timers run late and in the order they were due, so
   * other code may run before the expiry timer does. Reading `signal` or
   * `lost` therefore always reflects the clock.
   */
  checkDeadline(): void {
    if (this.lostError === null && performance.now() >= this.deadlineAt) this.expire();
  }

  /** deadline: when (performance.now() time) this client will declare the lease lost unless renewed. */
  get deadline(): number {
    return this.deadlineAt;
  }

  /** refreshDueAt: when the next renewal should be sent. */
  refreshDueAt(): number {
    return this.acknowledgedAt + this.ttl * REFRESH_FRACTION;
  }

  /** oldestUnacknowledged: send time of the oldest keepalive awaiting a reply, or null. */
  oldestUnacknowledged(): number | null {
    return this.unacknowledged[0] ?? null;
  }

  canSend(): boolean {
    return this.lostError === null && this.unacknowledged.length < MAX_UNACKNOWLEDGED;
  }

  recordSent(at: number): void {
    this.unacknowledged.push(at);
  }

  /** forgetUnacknowledged: the stream that carried them broke; their replies can no longer come. */
  forgetUnacknowledged(): void {
    this.unacknowledged.length = 0;
  }

  /** acknowledge applies a KeepAlive reply with the lease's full TTL (ttlMs > 0). */
  acknowledge(ttlMs: number): void {
    if (this.lost !== null) return;
    const sentAt = this.unacknowledged.shift();
    if (sentAt === undefined) return; // a reply we no longer wait for: never extend on it
    this.ttl = ttlMs;
    this.acknowledgedAt = Math.max(this.acknowledgedAt, sentAt);
    this.deadlineAt = Math.max(this.deadlineAt, sentAt + ttlMs - safetyMarginMs(ttlMs));
    this.armExpiry();
  }

  /** lose declares the lease lost (once): abort the signal, then tell the listeners. */
  lose(reason: LeaseLostReason, detail: string): void {
    if (this.lostError !== null) return;
    const err = new LeaseLostError(`lease ${this.id} is lost: ${detail}`, this.id, reason);
    this.lostError = err;
    this.dispose();
    this.onLose(this);
    this.controller.abort(err);
    for (const listener of [...this.listeners]) notify(listener, err);
    this.listeners.clear();
  }

  /** onLost registers a listener called once when the lease is lost (at once, asynchronously, if it already is). */
  onLost(listener: (err: LeaseLostError) => void): () => void {
    const lost = this.lostError;
    if (lost !== null) {
      let cancelled = false;
      queueMicrotask(() => {
        if (!cancelled) notify(listener, lost);
      });
      return () => {
        cancelled = true;
      };
    }
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** dispose stops the expiry timer. */
  dispose(): void {
    if (this.expiryTimer !== null) clearTimeout(this.expiryTimer);
    this.expiryTimer = null;
  }

  private armExpiry(): void {
    this.dispose();
    const delay = Math.max(0, this.deadlineAt - performance.now());
    this.expiryTimer = setTimeout(() => {
      this.expiryTimer = null;
      if (performance.now() < this.deadlineAt) return this.armExpiry();
      this.expire();
    }, delay);
  }

  private expire(): void {
    this.lose('expired', `no renewal was acknowledged within ${this.ttl} ms minus a ${safetyMarginMs(this.ttl)} ms safety margin of the last acknowledged send`);
  }
}

/** notify calls a listener; an exception it throws is reported like an event listener's (uncaught), not swallowed. */
function notify(listener: (err: LeaseLostError) => void, err: LeaseLostError): void {
  try {
    listener(err);
  } catch (thrown) {
    queueMicrotask(() => {
      throw thrown;
    });
  }
}

/** LeaseTimeToLive is the server's view of a lease (Lease.TimeToLive). */
export interface LeaseTimeToLive {
  readonly id: string;
  /** ttlMs: the TTL the lease was granted with. */
  readonly ttlMs: number;
  /** remainingMs: the leader's view of the time left before it expires the lease. */
  readonly remainingMs: number;
  /** locks: names of the locks the lease holds. */
  readonly locks: readonly string[];
}

/** LeaseOperations is what a Lease needs from its client. */
export interface LeaseOperations {
  revoke(lease: Lease, options?: { signal?: AbortSignal }): Promise<void>;
  timeToLive(lease: Lease, options?: { signal?: AbortSignal }): Promise<LeaseTimeToLive>;
}

const states = new WeakMap<Lease, LeaseState>();

/** stateOf returns a Lease's internal clock (for the client's own modules; not exported from index.ts). */
export function stateOf(lease: Lease): LeaseState | undefined {
  return states.get(lease);
}

/**
 * Lease is a lease this client granted and keeps alive over its shared
 * KeepAlive stream until it is revoked, lost, or the client is closed.
 */
export class Lease {
  readonly #state: LeaseState;
  readonly #ops: LeaseOperations;

  /** Leases are made by RaftlockClient.grant (the constructor is not part of the public API). */
  constructor(state: LeaseState, ops: LeaseOperations) {
    this.#state = state;
    this.#ops = ops;
    states.set(this, state);
  }

  /** id: the lease id (a decimal string, as on the wire). */
  get id(): string {
    return this.#state.id;
  }

  /** ttlMs: the lease's TTL as the server last confirmed it. */
  get ttlMs(): number {
    return this.#state.ttlMs;
  }

  /**
   * signal aborts, with a LeaseLostError as its reason, when this client stops
   * vouching for the lease. Reading it checks the clock, so
   * `lease.signal.throwIfAborted()` right before a side effect is exact even
   * if the process was just paused past the deadline.
   */
  get signal(): AbortSignal {
    return this.#state.signal;
  }

  /** lost: the LeaseLostError once the lease is lost, else null (reading it checks the clock). */
  get lost(): LeaseLostError | null {
    return this.#state.lost;
  }

  /** remainingMs: how long this client still vouches for the lease without another acknowledged renewal (0 once lost). */
  remainingMs(): number {
    return this.#state.lost === null ? Math.max(0, this.#state.deadline - performance.now()) : 0;
  }

  /** onLost calls `listener` exactly once when the lease is lost; returns a function that unregisters it. */
  onLost(listener: (err: LeaseLostError) => void): () => void {
    return this.#state.onLost(listener);
  }

  /** revoke deletes the lease on the server, releasing its locks; the signal aborts first (reason 'revoked'). */
  revoke(options?: { signal?: AbortSignal }): Promise<void> {
    return this.#ops.revoke(this, options);
  }

  /** timeToLive asks the cluster for the lease's TTL, time left and locks. */
  timeToLive(options?: { signal?: AbortSignal }): Promise<LeaseTimeToLive> {
    return this.#ops.timeToLive(this, options);
  }
}

import type * as grpc from '@grpc/grpc-js';
import { AbortError, ClientClosedError, NotLeaderError, RaftlockError, ResourceExhaustedError, UnauthenticatedError, UnavailableError } from './errors.js';
import {
  CallFailure,
  dispose,
  newChannel,
  unaryCall,
  type ErrorContext,
  type LeaderHint,
  type RequestOf,
  type ResponseOf,
  type StatusResponse,
  type UnaryMethod,
} from './protocol.js';

/**
 * connection owns the channels, knows which endpoint to try next, tracks the
 * leader, and runs the retry policy for unary calls:
 *
 * - Endpoint selection: the leader when one is known (learned from
 *   Cluster.Status at connect time, or from an UNAVAILABLE answer's
 *   `raftlock-leader` hint); otherwise the endpoints in turn, starting with the
 *   ones the user gave, then members learned from Status (discoverMembers).
 * - Redirects: an UNAVAILABLE naming another leader is followed at once, at
 *   most MAX_REDIRECTS_IN_A_ROW times before backing off (no redirect loops).
 * - Failover: an UNAVAILABLE without a usable hint, a broken connection, or an
 *   attempt that ran out of time forgets the leader, moves to the next
 *   endpoint and sleeps a jittered exponential backoff first.
 * - Retry only what is safe: a retried attempt is one whose outcome may be
 *   unknown, so only calls marked idempotent are retried. Every call the
 *   client makes is idempotent by construction (Grant carries a
 *   client-chosen lease id; Acquire by the same lease returns the same token;
 *   Release names its token; reads change nothing); a non-idempotent call
 *   would fail with UnavailableError instead of being repeated.
 * - Back off when told: a RESOURCE_EXHAUSTED carrying `raftlock-retry-after-ms`
 *   is a node's per-client limit refusing the call before doing anything; an
 *   idempotent call waits at least that long (plus up to a quarter more, so
 *   that refused clients do not come back together) and asks the same node
 *   again, while the deadline leaves room for it. Otherwise (or for a
 *   non-idempotent call) the ResourceExhaustedError is the answer.
 * - The whole operation has a deadline (requestTimeoutMs, plus an acquire's
 *   wait); when it passes, UnavailableError (NotLeaderError when the last
 *   answer named a leader) says what was tried and what went wrong last.
 */

/** BackoffPolicy: delays grow from initialMs by multiplier up to maxMs; each is drawn from [d/2, d] ("equal jitter"). */
export interface BackoffPolicy {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly multiplier: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = Object.freeze({ initialMs: 25, maxMs: 250, multiplier: 2 });

/** LEADER_SEARCH_INTERVAL_MS spaces background searches for the leader while none is known. */
const LEADER_SEARCH_INTERVAL_MS = 200;

/** MAX_REDIRECTS_IN_A_ROW bounds how many leader hints are followed without a pause. */
const MAX_REDIRECTS_IN_A_ROW = 3;

/** Backoff yields jittered exponential delays; reset() after a success. */
export class Backoff {
  private attempt = 0;

  constructor(private readonly policy: BackoffPolicy) {}

  /** nextMs is the next delay: uniform in [d/2, d] with d = min(maxMs, initialMs * multiplier^attempt). */
  nextMs(capMs = Infinity): number {
    const d = Math.min(this.policy.maxMs, capMs, this.policy.initialMs * this.policy.multiplier ** Math.min(this.attempt, 30));
    this.attempt++;
    return d / 2 + (Math.random() * d) / 2;
  }

  reset(): void {
    this.attempt = 0;
  }
}

/** UNAUTHENTICATED_RETRIES: how often discover asks a member again that refused the credentials (it may lag the leader by a commit). */
const UNAUTHENTICATED_RETRIES = 3;

export interface ConnectionOptions {
  readonly endpoints: readonly string[];
  readonly attemptTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly backoff: BackoffPolicy;
  /** discoverMembers: also use the members' client addresses that Cluster.Status reports. */
  readonly discoverMembers: boolean;
  /** credentials for every channel (default: plaintext). */
  readonly credentials?: grpc.ChannelCredentials;
  /** token: a bearer token sent with every call, for clusters with auth enabled. */
  readonly token?: string;
}

export interface CallOptions {
  /** signal cancels the operation (and the in-flight attempt); its reason decides the error (see abortError). */
  readonly signal?: AbortSignal | undefined;
  /** idempotent: repeating the request is safe, so an attempt with an unknown outcome may be retried. */
  readonly idempotent: boolean;
  readonly context: ErrorContext;
  /** timeoutMs: the whole operation's budget (default requestTimeoutMs). */
  readonly timeoutMs?: number;
  /** holdMs: how long the server may legitimately hold an attempt (an acquire's wait), on top of attemptTimeoutMs. */
  readonly holdMs?: () => number;
}

/** Invoke makes one attempt of a unary call; the default goes over gRPC (protocol.ts), tests pass a fake. */
export type Invoke = <M extends UnaryMethod>(
  address: string,
  method: M,
  request: RequestOf<M>,
  timeoutMs: number,
  signal: AbortSignal | undefined,
) => Promise<ResponseOf<M>>;

export class Connection {
  private readonly endpoints: string[];
  private readonly channels = new Map<string, grpc.Client>();
  private readonly members = new Map<string, string>();
  private leader: LeaderHint | null = null;
  private cursor = 0;
  private closed = false;
  private searching = false;
  private lastSearch = -Infinity;
  private readonly closeController = new AbortController();

  private readonly invoke: Invoke;

  constructor(
    readonly options: ConnectionOptions,
    invoke?: Invoke,
  ) {
    this.endpoints = [...new Set(options.endpoints)];
    this.invoke = invoke ?? ((address, method, request, timeoutMs, signal) => unaryCall(this.channel(address), address, method, request, timeoutMs, signal));
  }

  /** leaderAddress is the leader this client currently talks to, or null when it does not know one. */
  leaderAddress(): string | null {
    return this.leader?.address ?? null;
  }

  /** knownEndpoints: the user's endpoints, then any learned ones. */
  knownEndpoints(): readonly string[] {
    return this.endpoints;
  }

  /**
   * pick chooses where the next attempt goes: the leader if known, else the
   * next endpoint in turn (any node forwards to the leader) — and then it
   * looks for the leader in the background, so later calls go straight there.
   */
  pick(): string {
    if (this.leader !== null) return this.leader.address;
    this.seekLeader();
    return this.endpoints[this.cursor % this.endpoints.length]!;
  }

  /** channel returns the (cached) channel to an address. */
  channel(address: string): grpc.Client {
    if (this.closed) throw new ClientClosedError('the raftlock client is closed');
    let channel = this.channels.get(address);
    if (channel === undefined) {
      channel = newChannel(address, this.options.credentials, this.options.token);
      this.channels.set(address, channel);
    }
    return channel;
  }

  /** noteLeader follows a leader hint (and remembers the address when discovering members). */
  noteLeader(hint: LeaderHint): void {
    this.leader = hint;
    if (this.options.discoverMembers) this.learn(hint.address);
  }

  /** noteFailure: `address` did not serve; forget it as leader and move past it. */
  noteFailure(address: string): void {
    if (this.leader?.address === address) this.leader = null;
    if (this.endpoints[this.cursor % this.endpoints.length] === address) this.cursor++;
  }

  /** noteStatus learns the members and the leader a node reported. */
  noteStatus(status: StatusResponse): void {
    for (const m of status.members) {
      if (m.clientAddress === '') continue;
      this.members.set(m.id, m.clientAddress);
      if (this.options.discoverMembers) this.learn(m.clientAddress);
    }
    const address = status.leader === '' ? undefined : this.members.get(status.leader);
    if (address !== undefined && (this.options.discoverMembers || this.endpoints.includes(address))) {
      this.leader = { address, id: status.leader };
    }
  }

  /**
   * call runs a unary call with the retry policy above. `request` may be a
   * function, evaluated for every attempt (an acquire's remaining wait).
   */
  async call<M extends UnaryMethod>(method: M, request: RequestOf<M> | (() => RequestOf<M>), opts: CallOptions): Promise<ResponseOf<M>> {
    const started = performance.now();
    const deadline = started + (opts.timeoutMs ?? this.options.requestTimeoutMs) + (opts.holdMs?.() ?? 0);
    const backoff = new Backoff(this.options.backoff);
    const tried = new Set<string>();
    let redirects = 0;
    let last = 'no attempt was made';
    let lastHint: LeaderHint | null = null;
    for (;;) {
      throwIfAborted(opts.signal);
      const remaining = deadline - performance.now();
      if (remaining <= 0) throw this.gaveUp(method, last, lastHint, tried, performance.now() - started);
      const address = this.pick();
      tried.add(address);
      const attemptMs = Math.min(remaining, this.options.attemptTimeoutMs + (opts.holdMs?.() ?? 0));
      const body = typeof request === 'function' ? request() : request;
      try {
        return await this.invoke(address, method, body, attemptMs, opts.signal);
      } catch (err) {
        if (!(err instanceof CallFailure)) throw err;
        if (err.local === 'aborted') throw abortError(opts.signal);
        const d = dispose(err, opts.context);
        if (d.kind === 'fail') {
          const waitMs = opts.idempotent ? retryAfterWaitMs(d.error) : null;
          if (waitMs === null || performance.now() + waitMs >= deadline) throw d.error;
          last = `${address} asked to retry after ${waitMs} ms: ${err.details}`;
          await sleep(Math.max(waitMs, Math.min(waitMs * (1 + Math.random() / 4), deadline - performance.now() - 1)), opts.signal);
          continue;
        }
        last = d.reason;
        lastHint = d.leader;
        if (!opts.idempotent) {
          throw new UnavailableError(`${method} may or may not have been applied and is not safe to repeat: ${d.reason}`, [...tried]);
        }
        if (d.leader !== null && d.leader.address !== address && redirects < MAX_REDIRECTS_IN_A_ROW) {
          redirects++;
          this.noteLeader(d.leader);
          continue;
        }
        redirects = 0;
        this.noteFailure(address);
        await sleep(Math.min(backoff.nextMs(), Math.max(0, deadline - performance.now())), opts.signal);
      }
    }
  }

  /** statusOf asks one node for Cluster.Status (no retries, no redirects) and learns from the answer. */
  async statusOf(address: string, timeoutMs: number, signal?: AbortSignal): Promise<StatusResponse> {
    try {
      const status = await this.invoke(address, 'Cluster/Status', {}, timeoutMs, signal);
      this.noteStatus(status);
      return status;
    } catch (err) {
      if (!(err instanceof CallFailure)) throw err;
      if (err.local === 'aborted') throw abortError(signal);
      const d = dispose(err, {});
      if (d.kind === 'fail') throw d.error;
      throw new UnavailableError(`Cluster.Status failed: ${d.reason}`, [address]);
    }
  }

  /**
   * discover asks every endpoint for Cluster.Status at once — each retried
   * with backoff until timeoutMs, as nodes may still be starting — and
   * returns the first answer that names a leader (or, if none does by the
   * time every endpoint answered or gave up, any answer). The leader and
   * members are learned on the way. UnavailableError when no node answers.
   */
  async discover(timeoutMs: number, signal?: AbortSignal): Promise<StatusResponse> {
    const stop = new AbortController();
    const combined = signal === undefined ? stop.signal : AbortSignal.any([signal, stop.signal]);
    const deadline = performance.now() + timeoutMs;
    const failures = new Map<string, string>();
    let any: StatusResponse | null = null;
    // A member that has not yet applied a just-issued token refuses it for a moment: ask again a few
    // times, and give the refusal only when no endpoint accepts the credentials.
    let refused: UnauthenticatedError | null = null;
    const ask = async (address: string): Promise<StatusResponse | null> => {
      const backoff = new Backoff(this.options.backoff);
      let refusals = 0;
      for (;;) {
        const remaining = deadline - performance.now();
        if (remaining <= 0) return null;
        try {
          return await this.statusOf(address, Math.min(remaining, this.options.attemptTimeoutMs), combined);
        } catch (err) {
          if (err instanceof UnauthenticatedError) {
            if (++refusals > UNAUTHENTICATED_RETRIES) {
              refused = err;
              return null;
            }
            await sleep(Math.min(backoff.nextMs(), Math.max(0, deadline - performance.now())), combined);
            continue;
          }
          const waitMs = retryAfterWaitMs(err);
          if (!(err instanceof UnavailableError) && waitMs === null) throw err;
          failures.set(address, (err as RaftlockError).message);
          await sleep(Math.min(Math.max(backoff.nextMs(), waitMs ?? 0), Math.max(0, deadline - performance.now())), combined);
        }
      }
    };
    try {
      return await new Promise<StatusResponse>((resolve, reject) => {
        const list = [...this.endpoints];
        let pending = list.length;
        const settle = (): void => {
          if (--pending > 0) return;
          if (any !== null) resolve(any);
          else if (refused !== null) reject(refused);
          else reject(new UnavailableError(`no raftlock node answered within ${timeoutMs} ms (${[...failures.values()].join('; ')})`, this.endpoints));
        };
        for (const address of list) {
          ask(address).then(
            (status) => {
              if (status !== null) any ??= status;
              if (status !== null && status.leader !== '') resolve(status);
              else settle();
            },
            (err: unknown) => {
              if (signal?.aborted === true || this.closed) reject(abortError(signal, err));
              else if (!stop.signal.aborted) reject(err);
            },
          );
        }
      });
    } finally {
      stop.abort();
    }
  }

  /** close closes every channel; later calls fail with ClientClosedError. */
  close(): void {
    this.closed = true;
    this.closeController.abort();
    for (const channel of this.channels.values()) channel.close();
    this.channels.clear();
  }

  /**
   * seekLeader asks the endpoints for Cluster.Status in the background (one
   * search at a time, at most every LEADER_SEARCH_INTERVAL_MS) while no
   * leader is known, e.g. after the leader failed.
   */
  seekLeader(): void {
    if (this.leader !== null) return;
    const now = performance.now();
    if (this.closed || this.searching || now - this.lastSearch < LEADER_SEARCH_INTERVAL_MS) return;
    this.searching = true;
    this.lastSearch = now;
    this.discover(this.options.attemptTimeoutMs, this.closeController.signal)
      .catch(() => undefined)
      .finally(() => {
        this.searching = false;
      });
  }

  private learn(address: string): void {
    if (!this.endpoints.includes(address)) this.endpoints.push(address);
  }

  private gaveUp(method: string, last: string, hint: LeaderHint | null, tried: Set<string>, elapsedMs: number): UnavailableError {
    const message = `raftlock ${method} failed after ${Math.round(elapsedMs)} ms; tried ${[...tried].join(', ')}; last: ${last}`;
    if (hint !== null) return new NotLeaderError(message, [...tried], hint.address, hint.id);
    return new UnavailableError(message, [...tried]);
  }
}

/**
 * abortError is what an aborted operation throws: the signal's reason itself
 * when it is one of ours (LeaseLostError when the lease went, ClientClosedError
 * on close), else an AbortError whose cause is the reason.
 */
export function abortError(signal: AbortSignal | undefined, fallback?: unknown): RaftlockError {
  const reason: unknown = signal?.aborted === true ? signal.reason : fallback;
  if (reason instanceof RaftlockError) return reason;
  return new AbortError('the operation was aborted', { cause: reason });
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw abortError(signal);
}

/** sleep waits ms (ref'd: a pending operation keeps the process alive), rejecting when the signal aborts. */
/** retryAfterWaitMs: how long a node asked us to wait before asking again (a per-client limit's refusal), or null when it did not. */
export function retryAfterWaitMs(err: unknown): number | null {
  return err instanceof ResourceExhaustedError ? err.retryAfterMs : null;
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted === true) return reject(abortError(signal));
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortError(signal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

import * as grpc from '@grpc/grpc-js';
import {
  apiServices,
  type AcquireResponse,
  type ApiServiceName,
  type GetLockResponse,
  type GrantResponse,
  type KeepAliveResponse,
  type ListLeasesResponse,
  type RevokeResponse,
  type StatusResponse,
  type TimeToLiveResponse,
} from '../../src/server/apiProto.js';

/**
 * apiClient is the integration tests' own small client for proto/raftlock.proto
 * (the real client library comes later): promise wrappers with deadlines,
 * retry on UNAVAILABLE by following `raftlock-leader` or trying the next
 * endpoint, and a KeepAlive loop that reconnects on its own.
 *
 * Lease ids and tokens are decimal strings, as on the wire.
 */

/** LEADER_METADATA is the trailing metadata key naming the leader's client address on UNAVAILABLE. */
export const LEADER_METADATA = 'raftlock-leader';
/** HOLDERS_METADATA carries JSON [{leaseId, token, mode}] on FAILED_PRECONDITION for a held lock. */
export const HOLDERS_METADATA = 'raftlock-holders';

export type Mode = 'EXCLUSIVE' | 'SHARED';
export type Id = string | number;

export interface ClientOptions {
  /** deadlineMs bounds a whole call, retries included (Acquire adds its wait_ms). */
  readonly deadlineMs: number;
  /** attemptMs bounds one attempt; a local timeout of an attempt is retried like UNAVAILABLE. */
  readonly attemptMs: number;
  /** retry: retry UNAVAILABLE (and attempts that timed out locally) until the deadline. */
  readonly retry: boolean;
  /** followLeader: on UNAVAILABLE go to the address in `raftlock-leader`; otherwise stay on the same endpoint. */
  readonly followLeader: boolean;
  /** credentials of every channel (default: plaintext; a TLS cluster needs TLS ones). */
  readonly credentials?: grpc.ChannelCredentials;
  /** token: a bearer token sent with every call (clusters with auth enabled). */
  readonly token?: string;
}

export const DEFAULT_CLIENT_OPTIONS: ClientOptions = Object.freeze({ deadlineMs: 15_000, attemptMs: 4_000, retry: true, followLeader: true });

export type CallOptions = Partial<ClientOptions> & {
  /** endpoint: the address of the first attempt (default: the last endpoint that answered). */
  readonly endpoint?: string;
};

/** CallError is a failed call: the last attempt's status, the endpoint it came from and how many attempts ran. */
export class CallError extends Error {
  override readonly name = 'CallError';
  constructor(
    readonly method: string,
    readonly code: grpc.status,
    readonly details: string,
    readonly metadata: grpc.Metadata,
    readonly endpoint: string,
    readonly attempts: number,
  ) {
    super(`${method} at ${endpoint} failed with ${grpc.status[code] ?? code}: ${details} (after ${attempts} attempt(s))`);
  }

  /** meta returns the first value of a trailing metadata key, or null. */
  meta(key: string): string | null {
    const v = this.metadata.get(key)[0];
    return v === undefined ? null : typeof v === 'string' ? v : v.toString('utf8');
  }
}

/** code returns the gRPC status code of a failed call (or -1 for anything else). */
export function codeOf(err: unknown): number {
  return err instanceof CallError ? err.code : -1;
}

/** failure awaits a promise that must reject and returns its CallError. */
export async function failure(p: Promise<unknown>): Promise<CallError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof CallError) return err;
    throw err;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

type Ctor = grpc.ServiceClientConstructor;
let ctors: Record<ApiServiceName, Ctor> | null = null;

function constructors(): Record<ApiServiceName, Ctor> {
  if (ctors === null) {
    const s = apiServices();
    ctors = {
      Lease: grpc.makeGenericClientConstructor(s.Lease, 'Lease'),
      Lock: grpc.makeGenericClientConstructor(s.Lock, 'Lock'),
      Cluster: grpc.makeGenericClientConstructor(s.Cluster, 'Cluster'),
      Maintenance: grpc.makeGenericClientConstructor(s.Maintenance, 'Maintenance'),
      Members: grpc.makeGenericClientConstructor(s.Members, 'Members'),
      Auth: grpc.makeGenericClientConstructor(s.Auth, 'Auth'),
    };
  }
  return ctors;
}

type UnaryFn = (req: object, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: unknown) => void) => grpc.ClientUnaryCall;
type BidiFn = (md: grpc.Metadata, opts: grpc.CallOptions) => grpc.ClientDuplexStream<object, unknown>;

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * ApiClient talks to a set of endpoints (client addresses). Calls start at
 * the endpoint that answered last (or `endpoint`), and on UNAVAILABLE follow
 * the leader hint or move to the next endpoint, with a bounded backoff, until
 * the call's deadline.
 */
export class ApiClient {
  private readonly channels = new Map<string, Record<ApiServiceName, grpc.Client>>();
  private readonly opts: ClientOptions;
  private preferred: string;
  private closed = false;
  private readonly keepAlives = new Set<KeepAlive>();

  constructor(readonly endpoints: readonly string[], options: Partial<ClientOptions> = {}) {
    if (endpoints.length === 0) throw new Error('ApiClient needs at least one endpoint');
    this.opts = { ...DEFAULT_CLIENT_OPTIONS, ...options };
    this.preferred = endpoints[0] as string;
  }

  // ---------------------------------------------------------------- Lease

  grant(ttlMs: number, leaseId: Id = 0, o: CallOptions = {}): Promise<GrantResponse> {
    return this.unary<GrantResponse>('Lease', 'Grant', { ttlMs, leaseId }, o);
  }

  revoke(leaseId: Id, o: CallOptions = {}): Promise<RevokeResponse> {
    return this.unary<RevokeResponse>('Lease', 'Revoke', { leaseId }, o);
  }

  timeToLive(leaseId: Id, o: CallOptions = {}): Promise<TimeToLiveResponse> {
    return this.unary<TimeToLiveResponse>('Lease', 'TimeToLive', { leaseId }, o);
  }

  list(o: CallOptions = {}): Promise<ListLeasesResponse> {
    return this.unary<ListLeasesResponse>('Lease', 'List', {}, o);
  }

  // ---------------------------------------------------------------- Lock

  acquire(name: string, leaseId: Id, a: { mode?: Mode; waitMs?: number } = {}, o: CallOptions = {}): Promise<AcquireResponse> {
    const waitMs = a.waitMs ?? 0;
    const extra = { deadlineMs: (o.deadlineMs ?? this.opts.deadlineMs) + waitMs, attemptMs: (o.attemptMs ?? this.opts.attemptMs) + waitMs };
    return this.unary<AcquireResponse>('Lock', 'Acquire', { name, leaseId, mode: a.mode ?? 'EXCLUSIVE', waitMs }, { ...o, ...extra });
  }

  release(name: string, leaseId: Id, token: Id, o: CallOptions = {}): Promise<Record<string, never>> {
    return this.unary<Record<string, never>>('Lock', 'Release', { name, leaseId, token }, o);
  }

  get(name: string, o: CallOptions = {}): Promise<GetLockResponse> {
    return this.unary<GetLockResponse>('Lock', 'Get', { name }, o);
  }

  // ---------------------------------------------------------------- Cluster

  /** status asks one endpoint for its own view; never retried elsewhere. */
  status(endpoint: string, deadlineMs = 1_000): Promise<StatusResponse> {
    return this.unary<StatusResponse>('Cluster', 'Status', {}, { endpoint, retry: false, deadlineMs, attemptMs: deadlineMs });
  }

  /**
   * keepAlive starts renewing `leaseId` every intervalMs over one KeepAlive
   * stream (one request in flight at a time), reconnecting when the stream
   * breaks. Stop it with stop(); close() stops every loop.
   */
  keepAlive(leaseId: Id, intervalMs: number, o: { endpoint?: string; replyTimeoutMs?: number } = {}): KeepAlive {
    const ka = new KeepAlive(this, String(leaseId), intervalMs, o.endpoint ?? this.preferred, o.replyTimeoutMs ?? this.opts.attemptMs);
    this.keepAlives.add(ka);
    void ka.done.finally(() => this.keepAlives.delete(ka));
    return ka;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.keepAlives].map((ka) => ka.stop()));
    for (const c of this.channels.values()) for (const client of Object.values(c)) client.close();
    this.channels.clear();
  }

  // ---------------------------------------------------------------- plumbing

  /** unary runs one call with retries (per the options) and resolves with the decoded response. */
  async unary<Res>(service: ApiServiceName, method: string, request: object, o: CallOptions = {}): Promise<Res> {
    const opts = { ...this.opts, ...o };
    const name = `${service}.${method}`;
    const deadline = performance.now() + opts.deadlineMs;
    let target = o.endpoint ?? this.preferred;
    for (let attempt = 1; ; attempt++) {
      const attemptMs = Math.max(1, Math.min(opts.attemptMs, deadline - performance.now()));
      try {
        const res = await this.once<Res>(service, method, request, target, attemptMs);
        if (service !== 'Cluster') this.preferred = target;
        return res;
      } catch (e) {
        const err = e as grpc.ServiceError;
        const localTimeout = err.code === grpc.status.DEADLINE_EXCEEDED && /deadline exceeded/i.test(err.details ?? '');
        const retriable = err.code === grpc.status.UNAVAILABLE || localTimeout;
        const backoffMs = Math.min(25 * 2 ** Math.min(attempt, 4), 400);
        if (!opts.retry || !retriable || this.closed || performance.now() + backoffMs >= deadline) {
          throw new CallError(name, err.code ?? grpc.status.UNKNOWN, err.details ?? String(e), err.metadata ?? new grpc.Metadata(), target, attempt);
        }
        target = this.nextTarget(target, err.metadata, opts.followLeader);
        await sleep(backoffMs);
      }
    }
  }

  /** nextTarget picks where a retry goes: the leader hint, else the next endpoint (or the same one when not following). */
  nextTarget(current: string, md: grpc.Metadata | undefined, followLeader: boolean): string {
    if (!followLeader) return current;
    const hint = md?.get(LEADER_METADATA)[0];
    if (typeof hint === 'string' && hint !== '' && hint !== current) return hint;
    const i = this.endpoints.indexOf(current);
    return this.endpoints[(i + 1) % this.endpoints.length] as string;
  }

  /** client returns the cached grpc client of one service at one endpoint. */
  client(endpoint: string, service: ApiServiceName): grpc.Client {
    if (this.closed) throw new Error('the ApiClient is closed');
    let c = this.channels.get(endpoint);
    if (c === undefined) {
      const k = constructors();
      const creds = this.opts.credentials ?? grpc.credentials.createInsecure();
      // One channel per endpoint, shared by the services.
      const lease = new k.Lease(endpoint, creds, { 'grpc.initial_reconnect_backoff_ms': 100, 'grpc.max_reconnect_backoff_ms': 500 });
      const channelOverride = lease.getChannel();
      c = {
        Lease: lease,
        Lock: new k.Lock(endpoint, creds, { channelOverride }),
        Cluster: new k.Cluster(endpoint, creds, { channelOverride }),
        Maintenance: new k.Maintenance(endpoint, creds, { channelOverride }),
        Members: new k.Members(endpoint, creds, { channelOverride }),
        Auth: new k.Auth(endpoint, creds, { channelOverride }),
      };
      this.channels.set(endpoint, c);
    }
    return c[service];
  }

  private once<Res>(service: ApiServiceName, method: string, request: object, endpoint: string, attemptMs: number): Promise<Res> {
    const client = this.client(endpoint, service) as unknown as Record<string, UnaryFn>;
    const fn = client[method];
    if (fn === undefined) throw new Error(`no method ${service}.${method}`);
    return new Promise<Res>((resolve, reject) => {
      fn.call(client, request, this.metadata(), { deadline: Date.now() + attemptMs }, (err, res) => {
        if (err !== null) reject(err);
        else resolve(res as Res);
      });
    });
  }

  /** metadata: what every call carries — the bearer token, when one is set. */
  private metadata(): grpc.Metadata {
    const md = new grpc.Metadata();
    if (this.opts.token !== undefined) md.set('authorization', `Bearer ${this.opts.token}`);
    return md;
  }

  /** openKeepAlive opens a raw KeepAlive stream at an endpoint. */
  openKeepAlive(endpoint: string): grpc.ClientDuplexStream<object, KeepAliveResponse> {
    const client = this.client(endpoint, 'Lease') as unknown as Record<string, BidiFn>;
    const fn = client.KeepAlive as BidiFn;
    return fn.call(client, this.metadata(), {}) as grpc.ClientDuplexStream<object, KeepAliveResponse>;
  }
}

export interface KeepAliveAck {
  /** sentAt: performance.now() when the acknowledged request was written. */
  readonly sentAt: number;
  readonly ackAt: number;
  readonly ttlMs: number;
  readonly endpoint: string;
}

/**
 * KeepAlive renews one lease: write a request, wait for its reply, sleep
 * intervalMs, repeat. Exactly one request is in flight, so every reply is
 * matched to the request it answers and `sentAt` is exact. A broken stream
 * (error, end, or no reply within replyTimeoutMs) is reopened at the leader
 * hint or the next endpoint. A reply with ttl_ms = 0 means the lease is gone:
 * `lost` is set and the loop ends.
 */
export class KeepAlive {
  readonly acks: KeepAliveAck[] = [];
  /** streamErrors: why each stream ended, in order. */
  readonly streamErrors: string[] = [];
  reconnects = 0;
  lost = false;
  readonly done: Promise<void>;
  private stopped = false;
  private wake: (() => void) | null = null;
  private current: grpc.ClientDuplexStream<object, KeepAliveResponse> | null = null;

  constructor(
    private readonly api: ApiClient,
    readonly leaseId: string,
    private readonly intervalMs: number,
    private endpoint: string,
    private readonly replyTimeoutMs: number,
  ) {
    this.done = this.run();
  }

  /** lastAck is the newest acknowledgement, or null. */
  get lastAck(): KeepAliveAck | null {
    return this.acks[this.acks.length - 1] ?? null;
  }

  /** acksSince counts acknowledgements of requests sent at or after `t` (performance.now()). */
  acksSince(t: number): KeepAliveAck[] {
    return this.acks.filter((a) => a.sentAt >= t);
  }

  /** stop ends the loop; a request in flight is abandoned (its stream cancelled). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    this.current?.cancel();
    await this.done;
  }

  private async run(): Promise<void> {
    let attempt = 0;
    while (!this.stopped && !this.lost) {
      const ok = await this.serveStream();
      if (this.stopped || this.lost) break;
      if (ok) attempt = 0;
      this.reconnects++;
      attempt++;
      await this.pause(Math.min(20 * 2 ** Math.min(attempt, 4), 300));
    }
  }

  /** serveStream renews over one stream until it breaks; true if it carried at least one ack. */
  private async serveStream(): Promise<boolean> {
    let stream: grpc.ClientDuplexStream<object, KeepAliveResponse>;
    try {
      stream = this.api.openKeepAlive(this.endpoint);
    } catch (err) {
      this.streamErrors.push(String(err));
      return false;
    }
    this.current = stream;
    let pending: { resolve: (r: KeepAliveResponse) => void; reject: (e: Error) => void } | null = null;
    let broken: Error | null = null;
    let hint: grpc.Metadata | undefined;
    const breakWith = (e: Error): void => {
      if (broken === null) broken = e;
      pending?.reject(broken);
      pending = null;
      this.wake?.();
    };
    stream.on('data', (r: KeepAliveResponse) => {
      const p = pending;
      pending = null;
      p?.resolve(r);
    });
    stream.on('error', (e: grpc.ServiceError) => {
      hint = e.metadata;
      breakWith(new Error(`${grpc.status[e.code] ?? e.code}: ${e.details}`));
    });
    stream.on('end', () => breakWith(new Error('the server ended the stream')));
    let acked = false;
    try {
      while (!this.stopped && broken === null) {
        const sentAt = performance.now();
        const reply = new Promise<KeepAliveResponse>((resolve, reject) => {
          pending = { resolve, reject };
        });
        stream.write({ leaseId: this.leaseId });
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no reply within ${this.replyTimeoutMs} ms`)), this.replyTimeoutMs);
        });
        let r: KeepAliveResponse;
        try {
          r = await Promise.race([reply, timeout]);
        } finally {
          clearTimeout(timer);
        }
        const ttlMs = Number(r.ttlMs);
        if (ttlMs === 0) {
          this.lost = true;
          break;
        }
        acked = true;
        this.acks.push({ sentAt, ackAt: performance.now(), ttlMs, endpoint: this.endpoint });
        await this.pause(this.intervalMs);
      }
      if (broken !== null && !this.stopped) this.streamErrors.push(`${this.endpoint}: ${(broken as Error).message}`);
    } catch (err) {
      if (!this.stopped) this.streamErrors.push(`${this.endpoint}: ${(err as Error).message}`);
    } finally {
      this.current = null;
      stream.removeAllListeners('data');
      stream.removeAllListeners('end');
      stream.on('error', () => undefined);
      stream.cancel();
    }
    this.endpoint = this.api.nextTarget(this.endpoint, hint, true);
    return acked;
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.wake = null;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(t);
        this.wake = null;
        resolve();
      };
    });
  }
}

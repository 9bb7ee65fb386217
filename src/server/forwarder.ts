import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { ApiError } from './apiError.js';
import { methodOf, type ApiServiceName } from './apiProto.js';
import type { ServerCall } from './rpc.js';
import { callerKey } from './callerKey.js';
import { ForwardingPool, SEPARATE_CONNECTION, type ForwardingSlot } from './forwardingPool.js';
import { METADATA, leaderMetadata, unavailable, type LeaderHint } from './statusMapping.js';

/**
 * Forwarder relays calls a follower receives to the leader: unary calls as
 * one forwarded call each, KeepAlive as a proxied stream. Forwarded calls
 * carry `raftlock-forwarded: 1`, so a node that is not the leader either
 * answers them itself or refuses; it never forwards them again (no loops).
 *
 * A pool of connections (forwardingPool.ts) is kept per leader address, so
 * the leader's per-connection stream limit does not cap what this member
 * forwards for all its clients; the set is bounded by the cluster's members
 * and each pool by maxConnections. close() closes them all.
 */
export interface ForwarderOptions {
  readonly credentials: grpc.ChannelCredentials;
  readonly logger: Logger;
  /** timeoutMs caps a forwarded call beyond the caller's own deadline, so a hung leader cannot hang callers without one. */
  readonly timeoutMs: number;
  /** maxMessageBytes: the largest reply accepted from the leader (a List of every lease can be large). */
  readonly maxMessageBytes: number;
  /** streamsPerConnection: the leader's clientLimits.maxConcurrentStreams (the config is cluster-wide). */
  readonly streamsPerConnection: number;
  /** maxConnections: connections opened to one leader at most. */
  readonly maxConnections: number;
}

/** Only raftlock's own trailing metadata crosses the hop back to the caller. */
const FORWARDED_PREFIX = 'raftlock-';

export class Forwarder {
  private readonly pools = new Map<string, ForwardingPool>();
  private closed = false;

  constructor(private readonly options: ForwarderOptions) {}

  /**
   * unary forwards `request` to the leader's `service/method` with the
   * caller's deadline (capped by timeoutMs + extraMs) and cancellation.
   * A failure keeps the leader's code, message and raftlock metadata; an
   * UNAVAILABLE without a leader hint gets `leader`'s, so the caller can go there itself.
   */
  unary<Req, Res>(service: ApiServiceName, method: string, request: Req, call: ServerCall, leader: LeaderHint, extraMs = 0, credentials?: grpc.Metadata): Promise<Res> {
    const definition = methodOf<Req, Res>(service, method);
    const slot = this.slotFor(leader);
    return new Promise<Res>((resolve, reject) => {
      try {
        slot.client.makeUnaryRequest<Req, Res>(
          definition.path,
          definition.requestSerialize,
          definition.responseDeserialize,
          request,
          forwardedMetadata(call, credentials),
          { parent: call, propagate_flags: grpc.propagate.DEADLINE | grpc.propagate.CANCELLATION, deadline: Date.now() + this.options.timeoutMs + extraMs },
          (err, response) => {
            slot.release();
            if (err !== null && neverSent(err)) reject(new LeaderUnreachableError(relayError(err, leader), leader));
            else if (err !== null) reject(relayError(err, leader));
            else if (response === undefined) reject(new ApiError(grpc.status.INTERNAL, `the leader ${leader.id} sent no ${method} response`));
            else resolve(response);
          },
        );
      } catch (err) {
        slot.release();
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
  }

  /**
   * stream proxies a bidirectional stream to the leader, message for message,
   * with backpressure both ways; when either side ends, so does the other.
   * `admit` is asked before each message is passed on; a refusal ends the
   * stream with it (the entry member's per-caller rate limits).
   */
  stream<Req, Res>(
    service: ApiServiceName,
    method: string,
    down: grpc.ServerDuplexStream<Req, Res>,
    leader: LeaderHint,
    credentials?: grpc.Metadata,
    admit: () => ApiError | null = () => null,
  ): void {
    const definition = methodOf<Req, Res>(service, method);
    const slot = this.slotFor(leader);
    const up = released(slot, () => slot.client.makeBidiStreamRequest<Req, Res>(definition.path, definition.requestSerialize, definition.responseDeserialize, forwardedMetadata(down, credentials), {
      parent: down,
      propagate_flags: grpc.propagate.DEADLINE | grpc.propagate.CANCELLATION,
    }));
    const relay = relayReplies(up, down, leader);
    down.on('data', (req: Req) => {
      if (relay.finished()) return;
      const refusal = admit();
      if (refusal !== null) {
        relay.finish(refusal);
        up.cancel();
        return;
      }
      if (!up.write(req)) {
        down.pause();
        up.once('drain', () => down.resume());
      }
    });
    down.on('end', () => up.end());
    down.on('error', () => up.cancel());
  }

  /**
   * serverStream forwards a server-streaming call (Maintenance.Snapshot) to
   * the leader and relays its messages in order, with backpressure; the
   * leader's status ends the caller's stream. Capped at timeoutMs like unary.
   */
  serverStream<Req, Res>(service: ApiServiceName, method: string, request: Req, down: grpc.ServerWritableStream<Req, Res>, leader: LeaderHint, credentials?: grpc.Metadata): void {
    const definition = methodOf<Req, Res>(service, method);
    const slot = this.slotFor(leader);
    const up = released(slot, () => slot.client.makeServerStreamRequest<Req, Res>(definition.path, definition.requestSerialize, definition.responseDeserialize, request, forwardedMetadata(down, credentials), {
      parent: down,
      propagate_flags: grpc.propagate.DEADLINE | grpc.propagate.CANCELLATION,
      deadline: Date.now() + this.options.timeoutMs,
    }));
    relayReplies(up, down, leader);
  }

  /** close closes every pooled connection; later calls fail with UNAVAILABLE. */
  close(): void {
    this.closed = true;
    for (const pool of this.pools.values()) pool.close();
    this.pools.clear();
  }

  /** slotFor reserves a stream to the leader for one call; the caller releases it when the call ends. */
  private slotFor(leader: LeaderHint): ForwardingSlot {
    if (this.closed) throw unavailable('this node is shutting down; retry on another member', leader);
    let pool = this.pools.get(leader.clientAddress);
    if (pool === undefined) {
      pool = new ForwardingPool(() => this.connect(leader), this.options.streamsPerConnection, this.options.maxConnections);
      this.pools.set(leader.clientAddress, pool);
    }
    return pool.take();
  }

  private connect(leader: LeaderHint): grpc.Client {
    this.options.logger.debug({ leader: leader.id, address: leader.clientAddress }, 'opening a forwarding connection to the leader');
    return new grpc.Client(leader.clientAddress, this.options.credentials, {
      ...SEPARATE_CONNECTION,
      'grpc.max_receive_message_length': this.options.maxMessageBytes,
      'grpc.enable_channelz': 0,
      // grpc-js would otherwise wait 1 s, growing to 2 min, before reconnecting to a restarted node.
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 1_000,
    });
  }
}

/**
 * LeaderUnreachableError: a forwarded call that never reached the leader (no
 * connection could be established), so it certainly did not take effect there
 * and may be sent to another leader. `status` is what the caller gets if not.
 */
export class LeaderUnreachableError extends Error {
  override readonly name = 'LeaderUnreachableError';
  constructor(readonly status: ApiError, readonly leader: LeaderHint) {
    super(status.message);
  }
}

/** released opens a stream on `slot` and gives the slot back when the stream ends (its status), or at once if it cannot be opened. */
function released<S extends grpc.ClientReadableStream<unknown>>(slot: ForwardingSlot, open: () => S): S {
  let up: S;
  try {
    up = open();
  } catch (err) {
    slot.release();
    throw err;
  }
  up.on('status', () => slot.release());
  return up;
}

/** Relay ends a forwarded stream towards the caller, once. */
interface Relay {
  finish(error: ApiError | null): void;
  finished(): boolean;
}

/**
 * relayReplies passes the leader's replies on `up` to the caller's `down`
 * in order, with backpressure (the leader's stream pauses while the caller's
 * buffer is full), and ends `down` with the leader's status; the caller
 * cancelling cancels `up`. Shared by the bidi and server-streaming relays.
 */
function relayReplies<Res>(up: grpc.ClientReadableStream<Res>, down: grpc.ServerWritableStream<unknown, Res> | grpc.ServerDuplexStream<unknown, Res>, leader: LeaderHint): Relay {
  let finished = false;
  const finish = (error: ApiError | null): void => {
    if (finished) return;
    finished = true;
    if (down.cancelled) return;
    if (error === null) down.end();
    else down.emit('error', error.toStatus());
  };
  down.on('cancelled', () => {
    finished = true;
    up.cancel();
  });
  up.on('data', (res: Res) => {
    if (finished) return;
    if (!down.write(res)) {
      up.pause();
      down.once('drain', () => up.resume());
    }
  });
  up.on('error', (err: grpc.ServiceError) => finish(relayError(err, leader)));
  up.on('status', (status: grpc.StatusObject) => {
    if (status.code === grpc.status.OK) finish(null);
  });
  return { finish, finished: () => finished };
}

/** neverSent: grpc-js failed the call before any connection to the leader existed (the request was not sent). */
function neverSent(err: grpc.ServiceError): boolean {
  return err.code === grpc.status.UNAVAILABLE && err.details.startsWith('No connection established');
}

/**
 * forwardedMetadata marks a relayed call, carries the caller's credentials
 * (callerIdentity.forwardingMetadata) and names its original caller, so the
 * leader queues it fairly under that caller.
 */
function forwardedMetadata(call: ServerCall, credentials?: grpc.Metadata): grpc.Metadata {
  const md = credentials?.clone() ?? new grpc.Metadata();
  md.set(METADATA.forwarded, '1');
  md.set(METADATA.caller, callerKey(call));
  return md;
}

/** relayError passes the leader's status through, adding our leader hint to an UNAVAILABLE that has none. */
function relayError(err: grpc.ServiceError, leader: LeaderHint): ApiError {
  const md = new grpc.Metadata();
  const remote = err.metadata ?? new grpc.Metadata();
  for (const [key, value] of Object.entries(remote.getMap())) {
    if (key.startsWith(FORWARDED_PREFIX)) md.set(key, typeof value === 'string' ? value : value.toString('utf8'));
  }
  if (err.code !== grpc.status.UNAVAILABLE) return new ApiError(err.code, err.details, md);
  if (md.get(METADATA.leader).length > 0) return new ApiError(err.code, err.details, md);
  return new ApiError(err.code, `forwarding to the leader ${leader.id} at ${leader.clientAddress} failed: ${err.details}`, leaderMetadata(leader, md));
}

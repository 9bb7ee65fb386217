import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { Message, NodeId } from '../raft/types.js';
import { BoundedQueue } from './boundedQueue.js';
import { encodeMessage, estimateWireBytes, type PeerAckWire, type PeerBatchWire, type RaftMessageWire } from './messageCodec.js';
import { streamMethod } from './raftProto.js';
import type { WarnLimiter } from './warnLimiter.js';

/** PeerLinkOptions configures the sending half of one directed link (self -> peer). */
export interface PeerLinkOptions {
  readonly self: NodeId;
  readonly peer: NodeId;
  readonly address: string;
  readonly clusterId: string;
  /** selfAddress is this node's own peer address, carried in every batch so a peer that does not know us can link back. */
  readonly selfAddress: () => string;
  readonly credentials: grpc.ChannelCredentials;
  readonly channelOptions: grpc.ChannelOptions;
  readonly maxQueued: number;
  readonly maxQueuedBytes: number;
  readonly maxBatchMessages: number;
  readonly maxBatchBytes: number;
  readonly backoffMinMs: number;
  readonly backoffMaxMs: number;
  readonly handshakeTimeoutMs: number;
  readonly stopGraceMs: number;
  /** unreachableGraceMs: how long a link that never connected may fail before it is warned about. */
  readonly unreachableGraceMs: number;
  readonly logger: Logger;
  readonly warnLimiter: WarnLimiter;
  /** random returns a number in [0, 1): the backoff jitter. */
  readonly random: () => number;
}

/** PeerStats counts one link's traffic; `received` and `invalid` are filled in by the transport. */
export interface PeerStats {
  readonly address: string;
  /** Messages waiting in the link's queue. */
  readonly queued: number;
  /** Messages handed to the gRPC stream (a stream that breaks may still lose them). */
  readonly sent: number;
  /** Messages discarded: queue overflow, link down, oversized, or still queued at stop. */
  readonly dropped: number;
  /** Whether a stream to the peer is open and accepted by it. */
  readonly connected: boolean;
  /** Connection attempts after the first one (each retry after a failure or a broken stream). */
  readonly reconnects: number;
  /** Messages from this peer delivered to onMessage. */
  readonly received: number;
  /** Messages from this peer dropped as malformed. */
  readonly invalid: number;
}

/**
 * LinkState:
 * - idle: never used; the first message starts a connection.
 * - connecting: a stream is open and its handshake batch sent; messages queue.
 * - connected: the peer accepted the stream; the writer drains the queue.
 * - backoff: the last attempt failed; messages are dropped until the next attempt.
 * - stopped: final.
 */
type LinkState = 'idle' | 'connecting' | 'connected' | 'backoff' | 'stopped';

type ClientCall = grpc.ClientWritableStream<PeerBatchWire>;

/**
 * Outage is an unreachable spell of the link, reported when it ends. It is
 * warned about at once when a peer that was connected goes away or a peer
 * refuses us, but only after unreachableGraceMs when a link that never
 * connected finds nobody listening (members of a cluster start at different
 * moments); then every STILL_UNREACHABLE_WARN_MS.
 */
interface Outage {
  readonly sinceMs: number;
  readonly droppedBefore: number;
  nextWarnMs: number;
  warned: boolean;
}

/** STILL_UNREACHABLE_WARN_MS: while a peer stays unreachable, a reminder at most this often. */
const STILL_UNREACHABLE_WARN_MS = 30_000;

/** Queued is a message waiting in a link's queue, with its estimated wire size. */
interface Queued {
  readonly m: Message;
  readonly bytes: number;
}

/** BATCH_OVERHEAD_BYTES is room for a batch's header (cluster id, from, to) beyond its messages. */
const BATCH_OVERHEAD_BYTES = 1024;

/**
 * PeerLink is the sending half of one directed peer link: a bounded queue and
 * a writer that drains it in batches onto one long-lived client stream,
 * respecting the stream's backpressure, and reconnecting with jittered
 * exponential backoff when the stream fails. Nothing here blocks or throws
 * into the caller: a slow or dead peer costs queue slots and dropped-message
 * counts, never time.
 *
 * Each connection attempt uses a fresh channel, so our backoff (not the
 * channel's own, which grows to minutes) decides when the next attempt runs.
 */
export class PeerLink {
  readonly peer: NodeId;
  readonly address: string;
  private readonly o: PeerLinkOptions;
  private readonly log: Logger;
  private readonly queue: BoundedQueue<Queued>;
  /** Invariant: queuedBytes is the sum of the queued messages' sizes, at most maxQueuedBytes. */
  private queuedBytes = 0;
  /**
   * inflightBytes: written to the stream but not yet taken by HTTP/2 (whose
   * flow control stops taking when the peer stops reading). The writer keeps
   * it under maxInflightBytes, so a stuck peer holds a bounded amount of memory
   * in gRPC and the rest waits (and is dropped, oldest first) in our queue.
   */
  private inflightBytes = 0;
  private readonly maxInflightBytes: number;
  private waitingInflight = false;
  private state: LinkState = 'idle';
  private client: grpc.Client | null = null;
  private call: ClientCall | null = null;
  /** blocked: the stream's buffer is full; the writer waits for 'drain'. */
  private blocked = false;
  private flushScheduled = false;
  private handshakeTimer: NodeJS.Timeout | null = null;
  private handshakeTimedOut = false;
  private retryTimer: NodeJS.Timeout | null = null;
  /** failures: consecutive attempts that ended without (or after losing) an accepted stream. */
  private failures = 0;
  private everConnected = false;
  private outage: Outage | null = null;
  private stopWaiter: (() => void) | null = null;
  private stopping: Promise<void> | null = null;

  private sent = 0;
  private dropped = 0;
  private reconnects = 0;

  constructor(options: PeerLinkOptions) {
    this.o = options;
    this.peer = options.peer;
    this.address = options.address;
    this.log = options.logger.child({ peer: options.peer, address: options.address });
    this.queue = new BoundedQueue<Queued>(options.maxQueued);
    this.maxInflightBytes = 2 * options.maxBatchBytes;
  }

  /** enqueue accepts one message for the peer; it never blocks and never throws. */
  enqueue(m: Message): void {
    if (this.state === 'stopped' || this.state === 'backoff') {
      this.dropped++;
      return;
    }
    const size = estimateWireBytes(m);
    if (size + BATCH_OVERHEAD_BYTES > this.o.maxBatchBytes) {
      // A message that cannot fit a batch would break the stream: a configuration bug upstream.
      this.dropped++;
      const suppressed = this.o.warnLimiter.take(`oversize:${this.peer}`);
      if (suppressed !== null) {
        this.log.warn({ type: m.type, bytes: size, maxBatchBytes: this.o.maxBatchBytes, suppressed },
          'dropped a message too large for one peer batch: lower the raft maxBytesPerMsg/snapshotChunkBytes or raise the transport maxBatchBytes');
      }
      return;
    }
    this.queuedBytes += size;
    const evicted = this.queue.push({ m, bytes: size });
    if (evicted !== undefined) this.dropOldest(evicted);
    while (this.queuedBytes > this.o.maxQueuedBytes && this.queue.size > 1) this.dropOldest(this.queue.shift() as Queued);
    if (this.state === 'idle') this.connect();
    else if (this.state === 'connected') this.scheduleFlush();
  }

  stats(): Omit<PeerStats, 'received' | 'invalid'> {
    return {
      address: this.address,
      queued: this.queue.size,
      sent: this.sent,
      dropped: this.dropped,
      connected: this.state === 'connected',
      reconnects: this.reconnects,
    };
  }

  /**
   * stop ends the link. A connected stream gets what is queued and a half-close,
   * then up to stopGraceMs for the peer to answer (so a final TimeoutNow is
   * delivered); anything else is cancelled at once. Always resolves.
   */
  stop(): Promise<void> {
    if (this.stopping === null) this.stopping = this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    const call = this.call;
    const wasConnected = this.state === 'connected';
    this.state = 'stopped';
    this.clearTimers();
    if (call !== null && wasConnected) {
      this.writeAll(call);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.o.stopGraceMs);
        this.stopWaiter = () => {
          clearTimeout(timer);
          resolve();
        };
        call.end();
      });
      this.stopWaiter = null;
    }
    this.clearQueue();
    this.closeCall();
  }

  private dropOldest(q: Queued): void {
    this.queuedBytes -= q.bytes;
    this.dropped++;
  }

  /** clearQueue drops everything queued. */
  private clearQueue(): number {
    this.queuedBytes = 0;
    const n = this.queue.clear();
    this.dropped += n;
    return n;
  }

  // ---------------------------------------------------------------- connection

  private connect(): void {
    this.state = 'connecting';
    this.handshakeTimedOut = false;
    const method = streamMethod();
    let client: grpc.Client;
    try {
      client = new grpc.Client(this.address, this.o.credentials, this.o.channelOptions);
    } catch (err) {
      // An address gRPC cannot parse: fail the attempt like any other, never into the caller.
      this.afterFailure(false, undefined, `cannot open a channel: ${err instanceof Error ? err.message : String(err)}`,
        'check the peer address in the cluster config (host:port)');
      return;
    }
    const call: ClientCall = client.makeClientStreamRequest<PeerBatchWire, PeerAckWire>(
      method.path, method.requestSerialize, method.responseDeserialize, new grpc.Metadata(), {},
      (err) => this.onEnded(call, err),
    );
    this.client = client;
    this.call = call;
    // Failures arrive through the callback; a listener keeps a stray stream error from crashing the process.
    call.on('error', () => undefined);
    call.on('metadata', () => this.onAccepted(call));
    // The handshake: an empty batch the peer answers with response headers once it accepts us.
    call.write({ clusterId: this.o.clusterId, from: this.o.self, to: this.peer, messages: [], senderPeerAddress: this.o.selfAddress() });
    this.handshakeTimer = setTimeout(() => {
      this.handshakeTimer = null;
      if (this.call === call && this.state === 'connecting') {
        this.handshakeTimedOut = true;
        call.cancel();
      }
    }, this.o.handshakeTimeoutMs);
    this.handshakeTimer.unref();
  }

  private onAccepted(call: ClientCall): void {
    if (call !== this.call || this.state !== 'connecting') return;
    this.clearHandshakeTimer();
    this.state = 'connected';
    this.failures = 0;
    if (this.outage !== null) {
      const downMs = Math.round(performance.now() - this.outage.sinceMs);
      this.log.info({ downMs, droppedDuringOutage: this.dropped - this.outage.droppedBefore, reconnects: this.reconnects },
        `peer ${this.peer} reachable again at ${this.address}: link reconnected`);
      this.outage = null;
    } else if (this.everConnected) {
      this.log.info({ reconnects: this.reconnects }, `link to peer ${this.peer} at ${this.address} reconnected`);
    } else {
      this.log.debug(`link to peer ${this.peer} at ${this.address} connected`);
    }
    this.everConnected = true;
    this.scheduleFlush();
  }

  private onEnded(call: ClientCall, err: grpc.ServiceError | null): void {
    if (call !== this.call) return;
    if (this.state === 'stopped') {
      this.stopWaiter?.();
      return;
    }
    const wasConnected = this.state === 'connected';
    this.clearHandshakeTimer();
    this.closeCall();
    const reason = describeEnd(err, this.handshakeTimedOut, this.o.handshakeTimeoutMs);
    this.afterFailure(wasConnected, err?.code, reason, adviceFor(err, this.handshakeTimedOut, this.o.self, this.address));
  }

  /** afterFailure drops what is queued, logs (one warning per outage) and schedules the next attempt. */
  private afterFailure(wasConnected: boolean, code: grpc.status | undefined, reason: string, advice: string): void {
    // Messages queued for a broken stream are stale by the time a new one opens: Raft resends.
    const lost = this.clearQueue();
    this.failures++;
    if (wasConnected) {
      this.log.info({ code, reason }, `link to peer ${this.peer} at ${this.address} closed (${reason}); reconnecting`);
    } else {
      this.warnUnreachable(code, reason, advice, lost);
    }
    this.state = 'backoff';
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (this.state !== 'backoff') return;
      this.reconnects++;
      this.connect();
    }, this.backoffMs());
    this.retryTimer.unref();
  }

  /** warnUnreachable starts or continues the outage and warns when it is due (see Outage). */
  private warnUnreachable(code: grpc.status | undefined, reason: string, advice: string, lost: number): void {
    const nowMs = performance.now();
    if (this.outage === null) {
      // Only "nobody answers" waits for the grace: a refusal (another cluster, not a member, TLS) is a config error to report at once.
      const startingUp = !this.everConnected && code === grpc.status.UNAVAILABLE;
      const firstWarnMs = startingUp ? nowMs + this.o.unreachableGraceMs : nowMs;
      this.outage = { sinceMs: nowMs, droppedBefore: this.dropped - lost, nextWarnMs: firstWarnMs, warned: false };
    }
    const outage = this.outage;
    const downMs = Math.round(nowMs - outage.sinceMs);
    if (nowMs < outage.nextWarnMs) {
      this.log.debug({ code, reason, failures: this.failures, downMs }, `peer ${this.peer} unreachable at ${this.address}`);
      return;
    }
    outage.nextWarnMs = nowMs + STILL_UNREACHABLE_WARN_MS;
    const spell = downMs >= 1000 ? ` for ${Math.round(downMs / 1000)} s` : '';
    this.log.warn({ code, reason, downMs, failures: this.failures },
      `peer ${this.peer} ${outage.warned ? 'still ' : ''}unreachable at ${this.address}${spell} (${reason}): ${advice}; ` +
      'messages to it are dropped (Raft retries them) until it answers; retrying with backoff');
    outage.warned = true;
  }

  /** backoffMs: exponential from backoffMinMs to backoffMaxMs with "equal jitter" (half fixed, half random). */
  private backoffMs(): number {
    const exp = Math.min(this.o.backoffMaxMs, this.o.backoffMinMs * 2 ** Math.min(this.failures - 1, 30));
    return Math.round(exp / 2 + this.o.random() * (exp / 2));
  }

  private closeCall(): void {
    const call = this.call;
    const client = this.client;
    this.call = null;
    this.client = null;
    this.blocked = false;
    this.inflightBytes = 0;
    this.waitingInflight = false;
    call?.cancel();
    client?.close();
  }

  private clearHandshakeTimer(): void {
    if (this.handshakeTimer !== null) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = null;
  }

  private clearTimers(): void {
    this.clearHandshakeTimer();
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  // ---------------------------------------------------------------- writer

  /** scheduleFlush coalesces every message enqueued in this turn of the event loop into as few batches as possible. */
  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    queueMicrotask(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  /**
   * flush writes batches until the queue is empty or the stream pushes back:
   * either its buffer is full (write returned false: wait for 'drain') or
   * maxInflightBytes are not yet taken by HTTP/2 (wait for write callbacks).
   */
  private flush(): void {
    const call = this.call;
    if (this.state !== 'connected' || call === null || this.blocked) return;
    while (this.queue.size > 0) {
      if (this.inflightBytes >= this.maxInflightBytes) {
        this.waitingInflight = true;
        return;
      }
      if (this.writeBatch(call)) continue;
      this.blocked = true;
      call.once('drain', () => {
        if (call !== this.call) return;
        this.blocked = false;
        this.flush();
      });
      return;
    }
  }

  /** writeBatch writes the next batch and returns what write() returned (false: the stream's buffer is full). */
  private writeBatch(call: ClientCall): boolean {
    const { batch, bytes } = this.nextBatch();
    this.inflightBytes += bytes;
    return call.write(batch, () => {
      if (call !== this.call) return;
      this.inflightBytes -= bytes;
      if (this.waitingInflight && this.inflightBytes < this.maxInflightBytes) {
        this.waitingInflight = false;
        this.scheduleFlush();
      }
    });
  }

  /** writeAll writes everything queued regardless of backpressure (bounded by the queue): the last flush at stop. */
  private writeAll(call: ClientCall): void {
    while (this.queue.size > 0) this.writeBatch(call);
  }

  /** nextBatch takes up to maxBatchMessages / maxBatchBytes from the queue (always at least one message). */
  private nextBatch(): { batch: PeerBatchWire; bytes: number } {
    const messages: RaftMessageWire[] = [];
    let bytes = BATCH_OVERHEAD_BYTES;
    while (messages.length < this.o.maxBatchMessages) {
      const q = this.queue.peek();
      if (q === undefined) break;
      if (messages.length > 0 && bytes + q.bytes > this.o.maxBatchBytes) break;
      this.queue.shift();
      this.queuedBytes -= q.bytes;
      messages.push(encodeMessage(q.m));
      bytes += q.bytes;
    }
    this.sent += messages.length;
    return { batch: { clusterId: this.o.clusterId, from: this.o.self, to: this.peer, messages, senderPeerAddress: this.o.selfAddress() }, bytes };
  }
}

function describeEnd(err: grpc.ServiceError | null, handshakeTimedOut: boolean, handshakeTimeoutMs: number): string {
  if (handshakeTimedOut) return `no answer to the handshake within ${handshakeTimeoutMs} ms`;
  if (err === null) return 'the peer closed the stream';
  const name = grpc.status[err.code] ?? String(err.code);
  return `${name}: ${err.details || err.message}`;
}

/** adviceFor tells the operator what to check for a failed connection attempt. */
function adviceFor(err: grpc.ServiceError | null, handshakeTimedOut: boolean, self: NodeId, address: string): string {
  if (handshakeTimedOut) {
    return `something accepted the connection at ${address} but did not answer as a raftlock peer: check that the address is the peer port of a raftlock node, that the node is not paused or overloaded, and that TLS is configured alike on both sides`;
  }
  switch (err?.code) {
    case grpc.status.FAILED_PRECONDITION:
      return `the node at ${address} belongs to another cluster: check the cluster id in both configs and that this address is the right node`;
    case grpc.status.PERMISSION_DENIED:
      return `the node at ${address} refused us as a peer: check that its config lists this node as "${self}" and that this address belongs to the node we think`;
    case grpc.status.UNIMPLEMENTED:
      return `the server at ${address} does not serve raftlock peer traffic: check that the address is the peer port, not the client port`;
    default:
      return `check that the node is running and listening on ${address}, that the address in the cluster config is right, and that no firewall or TLS mismatch blocks the connection`;
  }
}

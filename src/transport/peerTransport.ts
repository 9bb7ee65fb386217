import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { Message, NodeId } from '../raft/types.js';
import { InvalidPeerMessageError, TransportStoppedError } from './errors.js';
import { validAddress } from './hostPort.js';
import { checkNodeId, decodeMessage, type PeerAckWire } from './messageCodec.js';
import { PeerLink, type PeerStats } from './peerLink.js';
import { MAX_MESSAGE_BYTES, raftPeerService } from './raftProto.js';
import { WarnLimiter } from './warnLimiter.js';

/** PeerAuthContext: the TLS state of an inbound connection, as grpc-js reports it. */
export interface PeerAuthContext {
  readonly transportSecurityType?: string | undefined;
  readonly sslPeerCertificate?: { readonly subjectaltname?: string } | undefined;
}

export type { PeerStats } from './peerLink.js';

/** PeerTransportOptions configures one node's peer transport. Every limit has a default. */
export interface PeerTransportOptions {
  /** nodeId is this node's id; it must not be a key of `peers` with another meaning. */
  readonly nodeId: NodeId;
  /** clusterId must be the same on every node of the cluster; streams from another cluster are refused. */
  readonly clusterId: string;
  /** peers maps every other node's id to its peer address (host:port). An entry for nodeId itself is ignored. */
  readonly peers: ReadonlyMap<NodeId, string>;
  /** onMessage receives every valid message addressed to us, synchronously, in arrival order per link. */
  readonly onMessage: (m: Message) => void;
  readonly logger: Logger;
  /** serverCredentials for the peer port (default: insecure). Pass TLS credentials in production. */
  readonly serverCredentials?: grpc.ServerCredentials;
  /** channelCredentials for links to peers (default: insecure); a function gives each peer its own (mutual TLS checks the peer's name). */
  readonly channelCredentials?: grpc.ChannelCredentials | ((peer: NodeId) => grpc.ChannelCredentials);
  /**
   * authenticate names the member behind an inbound connection from its TLS
   * state (call.getAuthContext()). When given, a stream it does not name a
   * member is refused, and a batch whose sender is not that member is refused:
   * the `from` of a batch (and so of every message in it) must be the
   * certificate's node. Without it (plaintext), senders are only checked
   * against the member list.
   */
  readonly authenticate?: (auth: PeerAuthContext) => { readonly ok: true; readonly nodeId: NodeId } | { readonly ok: false; readonly reason: string };
  /**
   * advertisedPeerAddress is this node's own peer address (host:port), sent
   * in every batch so that a peer that has no link to us can link back.
   * Default: the address listen() bound (its host and the bound port).
   */
  readonly advertisedPeerAddress?: string;
  /**
   * learnPeer decides whether to accept a stream from `peer`, a node of this
   * cluster that has no link (neither the peers given here nor setPeer name
   * it), carrying its own peer address `address` (well-formed; with
   * authenticate, `peer` is the node the certificate names). On true the
   * transport links back to `address` (setPeer) and accepts the stream; on
   * false it refuses the stream as from an unknown node. Without learnPeer,
   * every stream from a node without a link is refused. Raft needs this: a
   * joiner, or a member that was down, must accept a leader that was added
   * after its config file was written (Raft thesis 4.1).
   */
  readonly learnPeer?: (peer: NodeId, address: string) => boolean;
  /** channelOptions are added to every peer channel (e.g. grpc.ssl_target_name_override with TLS). */
  readonly channelOptions?: grpc.ChannelOptions;
  /** maxQueuedPerPeer bounds each link's queue; beyond it the oldest message is dropped (default 4096). */
  readonly maxQueuedPerPeer?: number;
  /** maxQueuedBytesPerPeer bounds each link's queue by estimated bytes, dropping the oldest beyond it (default 64 MiB). */
  readonly maxQueuedBytesPerPeer?: number;
  /** maxBatchMessages bounds the messages in one PeerBatch (default 256). */
  readonly maxBatchMessages?: number;
  /** maxBatchBytes bounds the estimated size of one PeerBatch (default 4 MiB, at most 16 MiB). */
  readonly maxBatchBytes?: number;
  /** reconnectBackoffMinMs / MaxMs bound the jittered exponential backoff between attempts (default 100 / 5000). */
  readonly reconnectBackoffMinMs?: number;
  readonly reconnectBackoffMaxMs?: number;
  /** handshakeTimeoutMs: how long a new stream may wait to be accepted, both ways (default 5000). */
  readonly handshakeTimeoutMs?: number;
  /** keepaliveTimeMs: HTTP/2 ping interval that detects a silent peer (default 10000; timeout half of it). */
  readonly keepaliveTimeMs?: number;
  /** stopGraceMs: how long stop() waits for peers to take what is queued and for the server to drain (default 1000). */
  readonly stopGraceMs?: number;
  /**
   * unreachableGraceMs: how long a link that never connected may find nobody
   * listening before it is warned about (default 5000): the members of a
   * cluster start at different moments. A peer that was connected and goes
   * away, or that refuses us, is warned about at once.
   */
  readonly unreachableGraceMs?: number;
  /** random returns a number in [0, 1) for backoff jitter (default Math.random). */
  readonly random?: () => number;
}

/** TransportStats: the per-peer counters plus messages and streams refused before reaching any peer. */
export interface TransportStats {
  readonly peers: ReadonlyMap<NodeId, PeerStats>;
  /** unroutable: messages passed to send() for a node that is not a configured peer (dropped). */
  readonly unroutable: number;
  /** refusedStreams: inbound streams refused (wrong cluster, unknown sender, wrong addressee, no handshake). */
  readonly refusedStreams: number;
  /** inboundStreams: streams from peers currently open (identified or still in their handshake). */
  readonly inboundStreams: number;
}

const DEFAULTS = {
  maxQueuedPerPeer: 4096,
  maxQueuedBytesPerPeer: 64 * 1024 * 1024,
  maxBatchMessages: 256,
  maxBatchBytes: 4 * 1024 * 1024,
  reconnectBackoffMinMs: 100,
  reconnectBackoffMaxMs: 5000,
  handshakeTimeoutMs: 5000,
  keepaliveTimeMs: 10_000,
  stopGraceMs: 1000,
  unreachableGraceMs: 5000,
} as const;

/** MAX_BATCH_BYTES_LIMIT keeps a batch, whose size is estimated, safely inside MAX_MESSAGE_BYTES. */
const MAX_BATCH_BYTES_LIMIT = MAX_MESSAGE_BYTES - 64 * 1024;

/** WARN_INTERVAL_MS: at most one warning of a kind per peer in this interval. */
const WARN_INTERVAL_MS = 10_000;

/** InboundStream is the receiving half of one peer's stream to us. */
interface InboundStream {
  readonly call: grpc.ServerReadableStream<unknown, PeerAckWire>;
  readonly callback: grpc.sendUnaryData<PeerAckWire>;
  readonly remote: string;
  /** peer: set once the first batch has been accepted. */
  peer: NodeId | null;
  /** certified: the member the connection's certificate names (mutual TLS), or null without authenticate. */
  readonly certified: NodeId | null;
  done: boolean;
  batches: number;
  messages: number;
  timer: NodeJS.Timeout | null;
}

interface ReceiveCounters {
  received: number;
  invalid: number;
}

/** Refusal: a status that ends a stream, and the warning it logs. */
interface Refusal {
  readonly code: grpc.status;
  readonly details: string;
  readonly warn: string;
  readonly key: string;
}

/**
 * PeerTransport carries Raft messages between the nodes of one cluster over
 * gRPC: one long-lived client stream (RaftPeer.Stream) per directed link,
 * each fed by a bounded queue. send() never blocks and never throws; what
 * cannot be delivered is dropped and counted, and Raft retries. Incoming
 * streams are checked (cluster id, sender, addressee) and every message is
 * validated before it reaches onMessage.
 *
 * Delivery: per link, messages arrive in send order, with gaps (drops) but
 * no duplicates from the transport itself. Across links there is no order.
 */
export class PeerTransport {
  private readonly nodeId: NodeId;
  private readonly clusterId: string;
  private readonly onMessage: (m: Message) => void;
  private readonly log: Logger;
  private readonly serverCredentials: grpc.ServerCredentials;
  private readonly authenticate: PeerTransportOptions['authenticate'];
  private readonly learnPeer: PeerTransportOptions['learnPeer'];
  /** advertisedPeerAddress: what our batches carry as their sender's address ('' until known). */
  private advertisedPeerAddress: string;
  private readonly handshakeTimeoutMs: number;
  private readonly keepaliveTimeMs: number;
  private readonly stopGraceMs: number;
  private readonly links = new Map<NodeId, PeerLink>();
  private readonly newLink: (peer: NodeId, address: string) => PeerLink;
  private readonly receive = new Map<NodeId, ReceiveCounters>();
  private readonly inbound = new Set<InboundStream>();
  private readonly warnLimiter = new WarnLimiter(WARN_INTERVAL_MS);
  private server: grpc.Server | null = null;
  private stopped = false;
  private stopping: Promise<void> | null = null;
  private unroutable = 0;
  private refusedStreams = 0;

  constructor(options: PeerTransportOptions) {
    const o = resolveOptions(options);
    this.nodeId = o.nodeId;
    this.clusterId = o.clusterId;
    this.onMessage = o.onMessage;
    this.log = o.logger.child({ component: 'transport', node: o.nodeId });
    this.serverCredentials = o.serverCredentials ?? grpc.ServerCredentials.createInsecure();
    this.authenticate = o.authenticate;
    this.learnPeer = o.learnPeer;
    this.advertisedPeerAddress = o.advertisedPeerAddress ?? '';
    this.handshakeTimeoutMs = o.handshakeTimeoutMs;
    this.keepaliveTimeMs = o.keepaliveTimeMs;
    this.stopGraceMs = o.stopGraceMs;
    const channelOptions: grpc.ChannelOptions = {
      'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
      'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
      'grpc.keepalive_time_ms': o.keepaliveTimeMs,
      'grpc.keepalive_timeout_ms': Math.ceil(o.keepaliveTimeMs / 2),
      // A fresh channel per attempt, with our backoff: no shared subchannels, no channel-level retry buffering.
      'grpc.use_local_subchannel_pool': 1,
      'grpc.enable_retries': 0,
      'grpc.enable_channelz': 0,
      'grpc.initial_reconnect_backoff_ms': o.reconnectBackoffMinMs,
      'grpc.max_reconnect_backoff_ms': o.reconnectBackoffMaxMs,
      ...o.channelOptions,
    };
    const insecure = grpc.credentials.createInsecure();
    this.newLink = (peer, address) => new PeerLink({
      self: o.nodeId, peer, address, clusterId: o.clusterId, selfAddress: () => this.advertisedPeerAddress,
      credentials: typeof o.channelCredentials === 'function' ? o.channelCredentials(peer) : (o.channelCredentials ?? insecure),
      channelOptions,
      maxQueued: o.maxQueuedPerPeer, maxQueuedBytes: o.maxQueuedBytesPerPeer, maxBatchMessages: o.maxBatchMessages, maxBatchBytes: o.maxBatchBytes,
      backoffMinMs: o.reconnectBackoffMinMs, backoffMaxMs: o.reconnectBackoffMaxMs,
      handshakeTimeoutMs: o.handshakeTimeoutMs, stopGraceMs: o.stopGraceMs, unreachableGraceMs: o.unreachableGraceMs,
      logger: this.log, warnLimiter: this.warnLimiter, random: o.random,
    });
    for (const [peer, address] of o.peers) this.setPeer(peer, address);
  }

  /**
   * setPeer adds a link to `peer` at `address` (a member added at run time),
   * or moves an existing one to a new address. Streams from a peer are
   * accepted while it has a link; a node of this cluster without one gets a
   * link only through learnPeer.
   */
  setPeer(peer: NodeId, address: string): void {
    if (peer === this.nodeId || this.stopped) return;
    const existing = this.links.get(peer);
    if (existing !== undefined) {
      if (existing.address === address) return;
      void existing.stop();
    }
    if (!this.receive.has(peer)) this.receive.set(peer, { received: 0, invalid: 0 });
    this.links.set(peer, this.newLink(peer, address));
    if (existing !== undefined) this.log.info({ peer, address }, `peer ${peer} moved to ${address}`);
  }

  /** removePeer stops the link to a member that left the cluster; its streams are refused from then on. */
  removePeer(peer: NodeId): void {
    const link = this.links.get(peer);
    if (link === undefined) return;
    this.links.delete(peer);
    this.receive.delete(peer);
    void link.stop();
  }

  /** peerIds lists the peers this transport has links to. */
  peerIds(): NodeId[] {
    return [...this.links.keys()];
  }

  /** listen serves RaftPeer on `address` ("host:port"; port 0 picks one) and resolves to the bound port. */
  async listen(address: string): Promise<number> {
    if (this.stopped) throw new TransportStoppedError(`peer transport of ${this.nodeId} is stopped; create a new one`);
    if (this.server !== null) throw new Error(`peer transport of ${this.nodeId} is already listening`);
    const server = new grpc.Server({
      'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
      'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
      'grpc.keepalive_time_ms': this.keepaliveTimeMs,
      'grpc.keepalive_timeout_ms': Math.ceil(this.keepaliveTimeMs / 2),
    });
    server.addService(raftPeerService(), {
      Stream: (call: grpc.ServerReadableStream<unknown, PeerAckWire>, callback: grpc.sendUnaryData<PeerAckWire>) =>
        this.acceptStream(call, callback),
    });
    this.server = server;
    const port = await new Promise<number>((resolve, reject) => {
      server.bindAsync(address, this.serverCredentials, (err, bound) => {
        if (err !== null) reject(new Error(`peer transport of ${this.nodeId}: cannot listen on ${address}: ${err.message}`));
        else resolve(bound);
      });
    });
    if (this.advertisedPeerAddress === '') this.advertisedPeerAddress = address.replace(/:\d+$/, `:${port}`);
    this.log.info({ address, port }, `peer transport listening on ${address} (port ${port})`);
    return port;
  }

  /**
   * send routes each message to its `to` peer's queue and returns at once. It
   * never blocks and never throws: a message for a dead, slow or unknown peer
   * is dropped and counted.
   */
  send(messages: readonly Message[]): void {
    for (const m of messages) {
      const link = this.links.get(m.to);
      if (link === undefined || m.from !== this.nodeId) {
        this.unroutable++;
        const suppressed = this.warnLimiter.take('unroutable');
        if (suppressed !== null) {
          this.log.warn({ type: m.type, from: m.from, to: m.to, peers: [...this.links.keys()], suppressed },
            `dropped a ${m.type} message from ${m.from} to ${m.to}: only messages from ${this.nodeId} to a configured peer can be sent; check that the raft voters match the transport's peer list`);
        }
        continue;
      }
      link.enqueue(m);
    }
  }

  /** stats reports each link's counters, plus messages and streams refused before reaching a peer. */
  stats(): TransportStats {
    const peers = new Map<NodeId, PeerStats>();
    for (const [peer, link] of this.links) {
      const r = this.receive.get(peer) as ReceiveCounters;
      peers.set(peer, { ...link.stats(), received: r.received, invalid: r.invalid });
    }
    return { peers, unroutable: this.unroutable, refusedStreams: this.refusedStreams, inboundStreams: this.inbound.size };
  }

  /**
   * stop flushes connected links (bounded by stopGraceMs), ends inbound
   * streams, closes every channel and shuts the server down. It always
   * resolves, whatever the peers do; calling it again returns the same promise.
   */
  stop(): Promise<void> {
    if (this.stopping === null) {
      this.stopped = true;
      this.stopping = this.doStop();
    }
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    const links = Promise.all([...this.links.values()].map((link) => link.stop()));
    for (const s of [...this.inbound]) {
      this.finish(s, { code: grpc.status.UNAVAILABLE, details: `node ${this.nodeId} is stopping` });
    }
    await Promise.all([links, this.shutdownServer()]);
    this.log.info('peer transport stopped');
  }

  private shutdownServer(): Promise<void> {
    const server = this.server;
    if (server === null) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        server.forceShutdown();
        resolve();
      }, this.stopGraceMs);
      server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  // ---------------------------------------------------------------- receiving

  private acceptStream(call: grpc.ServerReadableStream<unknown, PeerAckWire>, callback: grpc.sendUnaryData<PeerAckWire>): void {
    const identity = this.authenticate?.(call.getAuthContext() as PeerAuthContext) ?? null;
    const certified = identity?.ok === true ? identity.nodeId : null;
    const s: InboundStream = { call, callback, remote: call.getPeer(), peer: null, certified, done: false, batches: 0, messages: 0, timer: null };
    if (this.stopped) {
      this.finish(s, { code: grpc.status.UNAVAILABLE, details: `node ${this.nodeId} is stopping` });
      return;
    }
    if (identity !== null && !identity.ok) {
      this.refuse(s, {
        code: grpc.status.UNAUTHENTICATED,
        details: `node "${this.nodeId}" accepts peer streams only from members with a certificate of the cluster CA: ${identity.reason}`,
        warn: `refused a peer stream from ${s.remote}: ${identity.reason}; check that node's TLS files`,
        key: `cert:${s.remote}`,
      });
      return;
    }
    this.inbound.add(s);
    // A stream must identify itself promptly; an anonymous stream holds nothing for long.
    s.timer = setTimeout(() => {
      s.timer = null;
      if (s.peer === null) {
        this.refuse(s, {
          code: grpc.status.DEADLINE_EXCEEDED,
          details: `no peer batch within ${this.handshakeTimeoutMs} ms`,
          warn: 'closed a peer stream that sent no batch in time',
          key: 'handshake',
        });
      }
    }, this.handshakeTimeoutMs);
    s.timer.unref();
    call.on('data', (batch: unknown) => this.onBatch(s, batch));
    call.on('end', () => this.finish(s, null));
    call.on('cancelled', () => this.forget(s));
    call.on('error', () => this.forget(s));
  }

  private onBatch(s: InboundStream, batch: unknown): void {
    if (s.done) return;
    const refusal = this.checkBatchHeader(s, batch);
    if (refusal !== null) {
      this.refuse(s, refusal);
      return;
    }
    const b = batch as { from: NodeId; messages: unknown };
    if (s.peer === null) this.admit(s, b.from);
    s.batches++;
    // A peer removed from the cluster while its stream was open: count nothing, deliver nothing more.
    const counters = this.receive.get(b.from);
    if (counters === undefined) return;
    const list = Array.isArray(b.messages) ? (b.messages as unknown[]) : [];
    for (const wire of list) {
      if (s.done || this.stopped) return;
      let m: Message;
      try {
        m = this.decodeFromBatch(wire, b.from);
      } catch (err) {
        if (!(err instanceof InvalidPeerMessageError)) throw err;
        counters.invalid++;
        const suppressed = this.warnLimiter.take(`invalid:${b.from}`);
        if (suppressed !== null) {
          this.log.warn({ peer: b.from, remote: s.remote, path: err.path, reason: err.reason, suppressed },
            `dropped a malformed message from peer ${b.from}: ${err.message}; check that every node runs a compatible raftlock version`);
        }
        continue;
      }
      counters.received++;
      s.messages++;
      this.onMessage(m);
    }
  }

  /** decodeFromBatch decodes one message and checks it travels on the link its batch names. */
  private decodeFromBatch(wire: unknown, from: NodeId): Message {
    const m = decodeMessage(wire);
    if (m.from !== from) throw new InvalidPeerMessageError('from', `must equal the batch sender "${from}", got "${m.from}"`);
    if (m.to !== this.nodeId) throw new InvalidPeerMessageError('to', `must equal the batch addressee "${this.nodeId}", got "${m.to}"`);
    return m;
  }

  /** checkBatchHeader checks cluster id, sender and addressee of a batch; null means accepted. */
  private checkBatchHeader(s: InboundStream, batch: unknown): Refusal | null {
    const b = (typeof batch === 'object' && batch !== null ? batch : {}) as Record<string, unknown>;
    const clusterId = b['clusterId'];
    const from = b['from'];
    const to = b['to'];
    const shownFrom = typeof from === 'string' ? JSON.stringify(from.slice(0, 64)) : 'none';
    if (clusterId !== this.clusterId) {
      const shown = typeof clusterId === 'string' ? JSON.stringify(clusterId.slice(0, 64)) : 'none';
      return {
        code: grpc.status.FAILED_PRECONDITION,
        details: `cluster id mismatch: node "${this.nodeId}" belongs to cluster "${this.clusterId}", the stream is from cluster ${shown}`,
        warn: `refused a peer stream from cluster ${shown} (node ${shownFrom}): this node belongs to cluster "${this.clusterId}"; check the cluster id and peer addresses in that node's config`,
        key: `cluster:${s.remote}`,
      };
    }
    let sender: NodeId | null = null;
    try {
      sender = checkNodeId(from, 'from');
    } catch {
      sender = null;
    }
    const known = sender !== null && this.links.has(sender);
    const address = b['senderPeerAddress'];
    const learnable = sender !== null && sender !== this.nodeId && !known && this.learnPeer !== undefined &&
      typeof address === 'string' && validAddress(address);
    if (!known && !learnable) return this.unknownSender(s, shownFrom, address);
    if (s.certified !== null && from !== s.certified) {
      return {
        code: grpc.status.PERMISSION_DENIED,
        details: `the stream claims to be ${shownFrom} but its certificate names "${s.certified}"`,
        warn: `refused a peer stream from ${s.remote} claiming to be ${shownFrom}: its certificate names "${s.certified}"; a member may only speak for itself`,
        key: `impersonate:${s.remote}`,
      };
    }
    if (to !== this.nodeId) {
      const shownTo = typeof to === 'string' ? JSON.stringify(to.slice(0, 64)) : 'none';
      return {
        code: grpc.status.PERMISSION_DENIED,
        details: `a batch for node ${shownTo} reached node "${this.nodeId}"`,
        warn: `refused a peer stream from ${shownFrom} addressed to ${shownTo}: this node is "${this.nodeId}"; check the address of ${shownTo} in the config of ${shownFrom}`,
        key: `to:${s.remote}`,
      };
    }
    if (s.peer !== null && from !== s.peer) {
      return {
        code: grpc.status.INVALID_ARGUMENT,
        details: `the stream opened as "${s.peer}" and now claims to be ${shownFrom}`,
        warn: `refused a peer stream whose sender changed from "${s.peer}" to ${shownFrom}`,
        key: `switch:${s.remote}`,
      };
    }
    if (!known) return this.learn(s, sender as NodeId, address as string, shownFrom);
    return null;
  }

  /**
   * learn asks the node whether to accept `peer`, a node of this cluster we
   * have no link to, and links back to the address it sent if so. It runs
   * last, after the addressee and (with TLS) the certificate have been
   * checked: a sender may only make us link to the node it is.
   */
  private learn(s: InboundStream, peer: NodeId, address: string, shownFrom: string): Refusal | null {
    if (!(this.learnPeer as (peer: NodeId, address: string) => boolean)(peer, address)) {
      return {
        code: grpc.status.PERMISSION_DENIED,
        details: `node "${this.nodeId}" declined a peer stream from ${shownFrom} (at ${address}): it is not a member this node may link to (removed, or too many unknown senders)`,
        warn: `refused a peer stream from unknown node ${shownFrom} at ${address}: this node declined to link to it; configured peers are ${[...this.links.keys()].join(', ')}`,
        key: `from:${s.remote}`,
      };
    }
    this.setPeer(peer, address);
    this.log.info({ peer, address, remote: s.remote }, `learned peer ${peer} at ${address} from its stream (its config or log entry has not reached this node yet); linked back`);
    return null;
  }

  /** unknownSender refuses a stream from a node we have no link to and cannot learn (no usable address, or no learnPeer). */
  private unknownSender(s: InboundStream, shownFrom: string, address: unknown): Refusal {
    const why = this.learnPeer === undefined ? ''
      : typeof address !== 'string' || address === '' ? ' and the stream carries no sender address'
      : ` and the sender address ${JSON.stringify(address.slice(0, 64))} is not host:port`;
    return {
      code: grpc.status.PERMISSION_DENIED,
      details: `node "${this.nodeId}" accepts peer streams only from ${[...this.links.keys()].join(', ')}${why === '' ? '' : ' or from a node of its cluster that sends its host:port peer address'}; got ${shownFrom}${why}`,
      warn: `refused a peer stream from unknown node ${shownFrom}${why}: configured peers are ${[...this.links.keys()].join(', ')}; check the cluster membership in both configs`,
      key: `from:${s.remote}`,
    };
  }

  /** admit accepts a stream's identity: answers its handshake and retires older streams from the same peer. */
  private admit(s: InboundStream, peer: NodeId): void {
    s.peer = peer;
    if (s.timer !== null) clearTimeout(s.timer);
    s.timer = null;
    for (const other of [...this.inbound]) {
      // The peer opens a new stream only after giving up on its old one: the old one is half-dead.
      if (other !== s && other.peer === peer) this.finish(other, null);
    }
    s.call.sendMetadata(new grpc.Metadata());
  }

  private refuse(s: InboundStream, r: Refusal): void {
    this.refusedStreams++;
    const suppressed = this.warnLimiter.take(r.key);
    if (suppressed !== null) this.log.warn({ remote: s.remote, code: grpc.status[r.code], suppressed }, r.warn);
    this.finish(s, { code: r.code, details: r.details });
  }

  /** finish ends an inbound stream once: with a status, or (null) with an ack of what it carried. */
  private finish(s: InboundStream, status: { code: grpc.status; details: string } | null): void {
    if (s.done) return;
    this.forget(s);
    try {
      if (status === null) s.callback(null, { batches: s.batches, messages: s.messages });
      else s.callback({ code: status.code, details: status.details });
    } catch (err) {
      // The call may already be gone (the peer vanished); nothing to tell it.
      this.log.debug({ err, remote: s.remote }, 'could not end a peer stream');
    }
  }

  private forget(s: InboundStream): void {
    s.done = true;
    if (s.timer !== null) clearTimeout(s.timer);
    s.timer = null;
    this.inbound.delete(s);
  }
}

type OptionalOptions = 'serverCredentials' | 'channelCredentials' | 'authenticate' | 'advertisedPeerAddress' | 'learnPeer';
type ResolvedOptions = Required<Omit<PeerTransportOptions, OptionalOptions>> & Pick<PeerTransportOptions, OptionalOptions>;

/** resolveOptions fills in defaults and throws, naming the option, on a configuration error. */
function resolveOptions(o: PeerTransportOptions): ResolvedOptions {
  const r: ResolvedOptions = {
    ...DEFAULTS,
    channelOptions: {},
    random: Math.random,
    ...definedOnly(o),
  } as ResolvedOptions;
  checkNodeId(r.nodeId, 'nodeId');
  if (typeof r.clusterId !== 'string' || r.clusterId.length === 0) throw new Error('peer transport: clusterId must be a non-empty string');
  if (r.advertisedPeerAddress !== undefined && !validAddress(r.advertisedPeerAddress)) {
    throw new Error(`peer transport: advertisedPeerAddress must be host:port with a port from 1 to 65535, got ${JSON.stringify(r.advertisedPeerAddress)}`);
  }
  for (const [peer, address] of r.peers) {
    checkNodeId(peer, `peers key ${JSON.stringify(peer)}`);
    if (typeof address !== 'string' || address.length === 0) throw new Error(`peer transport: the address of peer ${peer} must be a non-empty host:port`);
  }
  const positive = ['maxQueuedPerPeer', 'maxQueuedBytesPerPeer', 'maxBatchMessages', 'maxBatchBytes', 'reconnectBackoffMinMs', 'reconnectBackoffMaxMs',
    'handshakeTimeoutMs', 'keepaliveTimeMs', 'stopGraceMs'] as const;
  for (const key of positive) {
    const v = r[key];
    if (!Number.isSafeInteger(v) || v <= 0) throw new Error(`peer transport: ${key} must be a positive integer, got ${String(v)}`);
  }
  if (!Number.isSafeInteger(r.unreachableGraceMs) || r.unreachableGraceMs < 0) {
    throw new Error(`peer transport: unreachableGraceMs must be a non-negative integer, got ${String(r.unreachableGraceMs)}`);
  }
  if (r.reconnectBackoffMinMs > r.reconnectBackoffMaxMs) {
    throw new Error(`peer transport: reconnectBackoffMinMs (${r.reconnectBackoffMinMs}) must not exceed reconnectBackoffMaxMs (${r.reconnectBackoffMaxMs})`);
  }
  if (r.maxBatchBytes > MAX_BATCH_BYTES_LIMIT) {
    throw new Error(`peer transport: maxBatchBytes must be at most ${MAX_BATCH_BYTES_LIMIT} (the gRPC max message size ${MAX_MESSAGE_BYTES} less headroom for the size estimate), got ${r.maxBatchBytes}`);
  }
  return r;
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

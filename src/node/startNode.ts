import { accessSync, constants, mkdirSync } from 'node:fs';
import { pino, type Logger } from 'pino';
import { PeerTransport } from '../transport/peerTransport.js';
import { createApiServer } from '../server/server.js';
import { LevelStorage } from '../storage/levelStorage.js';
import { ConfigError, nodeSpec, type ClusterConfig } from './clusterConfig.js';
import { RaftNode } from './raftNode.js';
import { readRemoval, RemovedNodeError } from './removalRecord.js';
import { buildNodeTls } from '../security/nodeTls.js';
import { plaintextWarnings } from '../security/plaintextWarning.js';
import { NodeMetrics } from '../observability/nodeMetrics.js';
import { createHttpServer, type HttpServer } from '../observability/httpServer.js';
import { buildStatusView, LOCKS_SHOWN } from '../observability/statusView.js';

export interface RunningNode {
  readonly node: RaftNode;
  readonly logger: Logger;
  /**
   * reloadTls re-reads the node's TLS files (what SIGHUP does): new
   * connections use accepted files; a bad file is refused and logged, and the
   * old files keep serving. Returns false when any part was refused.
   */
  reloadTls(): boolean;
  /** stop shuts the node down gracefully (leadership transfer, drain, close the data dir). */
  stop(): Promise<void>;
}

/**
 * startNode is the one composition root: config -> storage -> transport ->
 * node -> server. Everything concrete is wired here and nowhere else.
 */
export async function startNode(config: ClusterConfig, id: string, onFatal: (err: Error) => void): Promise<RunningNode> {
  const self = nodeSpec(config, id);
  ensureWritableDir(self.dataDir);
  // A member removed from the cluster never comes back with its old data (see removalRecord.ts).
  const removal = readRemoval(self.dataDir);
  if (removal !== null) throw new RemovedNodeError(removal, self.dataDir);
  let node: RaftNode | null = null;
  // Every line says which node, in which term and role, wrote it.
  const logger = pino({ level: config.logLevel, base: { node: id }, mixin: () => node?.logContext() ?? {} });
  // TLS files are checked before anything is opened: a bad file stops the node with a message naming it.
  const tls = buildNodeTls(config, self);
  for (const warning of plaintextWarnings(self)) logger.warn({ security: 'plaintext' }, `SECURITY WARNING: ${warning}`);
  const storage = new LevelStorage(self.dataDir);
  const peers = new Map(config.nodes.filter((n) => n.id !== id).map((n) => [n.id, n.peerAddress] as const));
  const transport = new PeerTransport({
    nodeId: id,
    clusterId: config.clusterId,
    peers,
    onMessage: (m) => node?.receive(m),
    logger: logger.child({ component: 'transport' }),
    serverCredentials: tls.peerServer,
    channelCredentials: tls.peerChannel,
    authenticate: tls.authenticatePeer,
    advertisedPeerAddress: self.peerAddress,
    // The node decides whether a node of this cluster that it has no link to may be linked back to.
    learnPeer: (peer, address) => node?.learnPeer(peer, address) ?? false,
  });
  const metrics = self.httpAddress === undefined ? null : new NodeMetrics({
    status: () => (node as RaftNode).status(),
    lockCounts: () => (node as RaftNode).lockCounts(),
    peerStats: () => transport.stats().peers,
  }, { clusterId: config.clusterId, nodeId: id });
  node = new RaftNode({ config, self, storage, peers: transport, logger: logger.child({ component: 'raft' }), onFatal, ...(metrics !== null ? { observer: metrics } : {}) });
  await node.start();
  await transport.listen(self.peerAddress);
  // A parked call waits out the longest election timeout plus a few ticks for the vote and the new leader's first commit.
  const leaderWaitMs = (2 * config.timing.electionTicks + 4) * config.timing.tickMs;
  // A cancelled wait is held for the client's retry: its backoff (at most 250 ms by default) and a reconnect,
  // possibly through a member that parks it for up to leaderWaitMs; a second of slack on top.
  const waitReattachGraceMs = leaderWaitMs + 1_000;
  const server = createApiServer({
    node,
    limits: config.limits,
    clientLimits: config.clientLimits,
    members: config.nodes,
    logger: logger.child({ component: 'api' }),
    credentials: tls.clientServer,
    clientCredentials: tls.forwardChannel,
    leaderWaitMs,
    waitReattachGraceMs,
    auth: {
      enabled: config.auth.enabled,
      clusterId: config.clusterId,
      rootTokenHash: config.auth.rootTokenSha256 === null ? null : Buffer.from(config.auth.rootTokenSha256, 'hex'),
    },
    ...(metrics !== null ? { countRequest: metrics.countRequest } : {}),
  });
  await server.listen(self.clientAddress);
  const http = metrics === null ? null : await serveHttp(config, self.httpAddress as string, node, transport, metrics, logger);
  const security = { clientTls: self.tls?.client != null, peerTls: self.tls?.peer != null, auth: config.auth.enabled };
  if (config.auth.enabled && self.tls?.client == null) {
    logger.warn({ security: 'plaintext' }, 'SECURITY WARNING: auth is enabled but client traffic is plaintext: bearer tokens cross the network readable; configure nodes[].tls.client');
  }
  logger.info({ client: self.clientAddress, peer: self.peerAddress, http: self.httpAddress, dataDir: self.dataDir, ...security }, 'raftlock node serving');
  const running = node;
  return {
    node: running,
    logger,
    reloadTls() {
      const parts = tls.reload();
      if (parts.length === 0) logger.info('TLS reload requested, but this node runs without TLS');
      for (const { part, result } of parts) {
        if (!result.ok) logger.error({ part, err: result.error.message }, `TLS reload refused, still serving the previous ${part} certificates: ${result.error.message}`);
        else if (result.changed) logger.info({ part, fingerprint: result.fingerprint }, `TLS reload: new ${part} certificates in use for new connections`);
        else logger.info({ part, fingerprint: result.fingerprint }, `TLS reload: ${part} files unchanged`);
      }
      return parts.every((p) => p.result.ok);
    },
    async stop() {
      await http?.close();
      await running.stop();
      await server.stop();
      await transport.stop();
      await storage.close();
    },
  };
}

/** serveHttp starts the node's HTTP port: metrics, the status page and its JSON. */
async function serveHttp(config: ClusterConfig, address: string, node: RaftNode, transport: PeerTransport, metrics: NodeMetrics, logger: Logger): Promise<HttpServer> {
  const httpAddresses = new Map(config.nodes.flatMap((n) => (n.httpAddress === undefined ? [] : [[n.id, n.httpAddress] as const])));
  const http = createHttpServer({
    logger: logger.child({ component: 'http' }),
    metrics: () => metrics.render(),
    metricsContentType: metrics.contentType,
    localView: () => {
      const connected = new Map<string, boolean>();
      for (const [peer, s] of transport.stats().peers) connected.set(peer, s.connected);
      return buildStatusView(config.clusterId, node.inspect(LOCKS_SHOWN), httpAddresses, connected, new Date().toISOString());
    },
    leaderHttpAddress: () => {
      const leader = node.leader();
      if (leader === null || leader.id === node.id) return null;
      return httpAddresses.get(leader.id) ?? null;
    },
  });
  await http.listen(address);
  return http;
}

function ensureWritableDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
  } catch (err) {
    throw new ConfigError('', [`data dir ${dir} is not writable: ${(err as Error).message}; give the node a directory it can create and write`]);
  }
}

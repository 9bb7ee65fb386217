import { accessSync, constants, mkdirSync } from 'node:fs';
import { pino, type Logger } from 'pino';
import { PeerTransport } from '../transport/peerTransport.js';
import { createApiServer } from '../server/server.js';
import { LevelStorage } from '../storage/levelStorage.js';
import { ConfigError, nodeSpec, type ClusterConfig } from './clusterConfig.js';
import { RaftNode } from './raftNode.js';

export interface RunningNode {
  readonly node: RaftNode;
  readonly logger: Logger;
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
  let node: RaftNode | null = null;
  // Every line says which node, in which term and role, wrote it.
  const logger = pino({ level: config.logLevel, base: { node: id }, mixin: () => node?.logContext() ?? {} });
  const storage = new LevelStorage(self.dataDir);
  const peers = new Map(config.nodes.filter((n) => n.id !== id).map((n) => [n.id, n.peerAddress] as const));
  const transport = new PeerTransport({
    nodeId: id,
    clusterId: config.clusterId,
    peers,
    onMessage: (m) => node?.receive(m),
    logger: logger.child({ component: 'transport' }),
  });
  node = new RaftNode({ config, self, storage, peers: transport, logger: logger.child({ component: 'raft' }), onFatal });
  await node.start();
  await transport.listen(self.peerAddress);
  // A parked call waits out the longest election timeout plus a few ticks for the vote and the new leader's first commit.
  const leaderWaitMs = (2 * config.timing.electionTicks + 4) * config.timing.tickMs;
  // A cancelled wait is held for the client's retry: its backoff (at most 250 ms by default) and a reconnect,
  // possibly through a member that parks it for up to leaderWaitMs; a second of slack on top.
  const waitReattachGraceMs = leaderWaitMs + 1_000;
  const server = createApiServer({ node, limits: config.limits, members: config.nodes, logger: logger.child({ component: 'api' }), leaderWaitMs, waitReattachGraceMs });
  await server.listen(self.clientAddress);
  logger.info({ client: self.clientAddress, peer: self.peerAddress, dataDir: self.dataDir }, 'raftlock node serving');
  const running = node;
  return {
    node: running,
    logger,
    async stop() {
      await running.stop();
      await server.stop();
      await transport.stop();
      await storage.close();
    },
  };
}

function ensureWritableDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
  } catch (err) {
    throw new ConfigError('', [`data dir ${dir} is not writable: ${(err as Error).message}; give the node a directory it can create and write`]);
  }
}

import { createServer, connect, type Server, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import type { Message, NodeId } from '../../../src/raft/types.js';
import { PeerTransport, type PeerTransportOptions } from '../../../src/transport/peerTransport.js';
import { Cleanup } from '../../support/cleanup.js';
import { freePorts } from '../../support/freePorts.js';

/**
 * Test harness for the peer transport: nodes on 127.0.0.1 with captured logs,
 * free ports, a peer that accepts TCP and never answers, a proxy that can
 * freeze a link, and a cleanup list every test empties in afterEach.
 */

export interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly [key: string]: unknown;
}

export const WARN = 40;
export const INFO = 30;

export function captureLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') lines.push(JSON.parse(line) as LogLine);
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, sink), lines };
}

export { Cleanup };

/** freePort reserves one port (the tests then bind it again at once). */
export async function freePort(): Promise<number> {
  const [port] = await freePorts(1);
  return port as number;
}

export const addr = (port: number): string => `127.0.0.1:${port}`;

/** CLUSTER is unique per test process, so a port reused by a parallel test process can never join our cluster. */
export const CLUSTER = `test-cluster-${process.pid}`;

export interface TestNode {
  readonly id: NodeId;
  readonly transport: PeerTransport;
  readonly received: Message[];
  readonly logs: LogLine[];
  port: number;
}

/** Fast settings for tests: short backoff and handshake, small grace. */
export const FAST: Partial<PeerTransportOptions> = {
  reconnectBackoffMinMs: 20,
  reconnectBackoffMaxMs: 200,
  handshakeTimeoutMs: 1000,
  stopGraceMs: 300,
};

/**
 * makeNode creates a transport for `id` with `peers`; if `port` is given it
 * listens there (127.0.0.1), and its stop() is registered with cleanup.
 */
export async function makeNode(
  cleanup: Cleanup,
  id: NodeId,
  peers: ReadonlyMap<NodeId, string>,
  port: number | null,
  overrides: Partial<PeerTransportOptions> = {},
): Promise<TestNode> {
  const { logger, lines } = captureLogger();
  const received: Message[] = [];
  const transport = new PeerTransport({
    nodeId: id,
    clusterId: CLUSTER,
    peers,
    onMessage: (m) => received.push(m),
    logger,
    ...FAST,
    ...overrides,
  });
  cleanup.add(() => transport.stop());
  const node: TestNode = { id, transport, received, logs: lines, port: 0 };
  if (port !== null) node.port = await transport.listen(addr(port));
  return node;
}

/** makeCluster starts nodes n1..nN on free ports, each knowing all the others. */
export async function makeCluster(cleanup: Cleanup, n: number, overrides: Partial<PeerTransportOptions> = {}): Promise<TestNode[]> {
  const ids = Array.from({ length: n }, (_, i) => `n${i + 1}`);
  const ports = await Promise.all(ids.map(() => freePort()));
  const peers = new Map(ids.map((id, i) => [id, addr(ports[i] as number)]));
  return Promise.all(ids.map((id, i) => makeNode(cleanup, id, peers, ports[i] as number, overrides)));
}

/** waitFor polls `cond` every few ms until it holds, failing with `what` after timeoutMs. */
export async function waitFor(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(5);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** listenTcp starts a raw TCP server on a free port; its sockets are destroyed at cleanup. */
export async function listenTcp(cleanup: Cleanup, onSocket: (s: Socket) => void): Promise<{ server: Server; port: number; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
    onSocket(s);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.add(() => new Promise<void>((resolve) => {
    for (const s of sockets) s.destroy();
    server.close(() => resolve());
  }));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('listenTcp: no port');
  return { server, port: address.port, sockets };
}

/**
 * resetter holds a port whose every connection is reset at once: a peer that
 * is down (gRPC sees UNAVAILABLE), while no other process can take the port.
 * close() frees the port for the real peer.
 */
export async function resetter(cleanup: Cleanup): Promise<{ port: number; close: () => Promise<void> }> {
  const { server, port, sockets } = await listenTcp(cleanup, (s) => s.resetAndDestroy());
  const close = (): Promise<void> => new Promise<void>((resolve) => {
    for (const s of sockets) s.destroy();
    if (!server.listening) resolve();
    else server.close(() => resolve());
  });
  return { port, close };
}

/** blackhole accepts TCP connections and never sends a byte: a peer that never answers. */
export async function blackhole(cleanup: Cleanup): Promise<number> {
  const { port } = await listenTcp(cleanup, () => undefined);
  return port;
}

/**
 * FreezableProxy forwards TCP to `targetPort`; freeze() stops reading both
 * ways (TCP flow control then backs the sender up, like a paused process),
 * thaw() resumes.
 */
export class FreezableProxy {
  port = 0;
  private frozen = false;
  private readonly sockets = new Set<Socket>();

  static async start(cleanup: Cleanup, targetPort: number): Promise<FreezableProxy> {
    const proxy = new FreezableProxy();
    const { port } = await listenTcp(cleanup, (client) => {
      const upstream = connect(targetPort, '127.0.0.1');
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
      client.on('data', (d) => upstream.write(d));
      upstream.on('data', (d) => client.write(d));
      for (const s of [client, upstream]) {
        proxy.sockets.add(s);
        s.on('close', () => proxy.sockets.delete(s));
        if (proxy.frozen) s.pause();
      }
    });
    cleanup.add(() => {
      for (const s of proxy.sockets) s.destroy();
    });
    proxy.port = port;
    return proxy;
  }

  freeze(): void {
    this.frozen = true;
    for (const s of this.sockets) s.pause();
  }

  thaw(): void {
    this.frozen = false;
    for (const s of this.sockets) s.resume();
  }
}

import { createServer, type Server, type Socket } from 'node:net';
import type { FaultProxy } from './faultProxy.js';
import { ownerOf } from './socketOwner.js';
import { listenLoopback } from './listenLoopback.js';

/**
 * LinkDemux is the one address at which every node reaches a member added at
 * run time (the address in its `member add` entry): for each connection it
 * finds which node process opened it (socketOwner.ts) and hands it to that
 * directed link's FaultProxy, so "i -> spare" is a fault point of its own for
 * every i, exactly like the links between the config-file members.
 *
 * A connection from no known node process (the harness itself, a stranger,
 * or one whose owner could not be told) is closed: nothing reaches the spare
 * around the fault points.
 */
export class LinkDemux {
  private server: Server | null = null;
  private port = 0;
  private readonly open = new Set<Socket>();
  /** Counts for the report: connections handed to a link, and closed unidentified. */
  readonly stats = { routed: 0, unidentified: 0 };

  /**
   * @param name for messages, e.g. "raft *->n4".
   * @param nodePids the node processes that may connect now, by node id.
   * @param linkFrom the FaultProxy of the link from a node to this demux's target.
   */
  constructor(
    readonly name: string,
    private readonly nodePids: () => ReadonlyMap<string, number>,
    private readonly linkFrom: (nodeId: string) => FaultProxy | undefined,
  ) {}

  async listen(): Promise<string> {
    const server = createServer({ noDelay: true, pauseOnConnect: true }, (socket) => void this.route(socket));
    this.server = server;
    this.port = await listenLoopback(server, this.name);
    return this.address;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  async close(): Promise<void> {
    for (const s of this.open) s.destroy();
    this.open.clear();
    const server = this.server;
    this.server = null;
    if (server !== null) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async route(socket: Socket): Promise<void> {
    socket.on('error', () => undefined);
    this.open.add(socket);
    let from: string | null = null;
    try {
      from = await ownerOf(socket, this.nodePids());
    } catch {
      from = null;
    }
    this.open.delete(socket);
    const link = from === null ? undefined : this.linkFrom(from);
    if (link === undefined || this.server === null || socket.destroyed) {
      this.stats.unidentified++;
      socket.destroy();
      return;
    }
    this.stats.routed++;
    link.adopt(socket);
  }
}

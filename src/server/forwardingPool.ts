import * as grpc from '@grpc/grpc-js';

/**
 * ForwardingPool holds the connections a follower forwards calls over to one
 * leader. The leader lets one connection have at most
 * clientLimits.maxConcurrentStreams streams open (beyond it the sender holds
 * the call), yet a follower forwards the calls and KeepAlive streams of all
 * its clients: on one connection its clients would wait for each other, and
 * a forwarded KeepAlive stream held back that way loses its lease. So the
 * pool opens another connection whenever every one it has is full, up to
 * maxConnections; past that, a call goes to the least loaded connection and
 * waits there for a stream (that takes more than maxConnections x
 * maxConcurrentStreams calls and streams at once through one member).
 *
 * Connections are never closed while the pool lives (at most maxConnections
 * per leader address); close() closes them all.
 */

/** ForwardingSlot is one call's place on a connection: release it exactly once, when the call ends. */
export interface ForwardingSlot {
  readonly client: grpc.Client;
  release(): void;
}

interface Connection {
  readonly client: grpc.Client;
  /** open: calls and streams taken and not yet released on this connection. */
  open: number;
}

export class ForwardingPool {
  private readonly connections: Connection[] = [];

  constructor(
    private readonly connect: () => grpc.Client,
    readonly streamsPerConnection: number,
    readonly maxConnections: number,
  ) {
    if (!(streamsPerConnection >= 1) || !(maxConnections >= 1)) {
      throw new Error(`a forwarding pool needs streamsPerConnection >= 1 and maxConnections >= 1, got ${streamsPerConnection} and ${maxConnections}`);
    }
  }

  /** size: connections opened so far. */
  get size(): number {
    return this.connections.length;
  }

  /** take reserves a stream for one call: on the least loaded connection with room, else on a new one, else on the least loaded. */
  take(): ForwardingSlot {
    const connection = this.pick();
    connection.open++;
    let released = false;
    return {
      client: connection.client,
      release: () => {
        if (released) return;
        released = true;
        connection.open--;
      },
    };
  }

  close(): void {
    for (const c of this.connections) c.client.close();
    this.connections.length = 0;
  }

  private pick(): Connection {
    let least: Connection | null = null;
    for (const c of this.connections) if (least === null || c.open < least.open) least = c;
    if (least !== null && (least.open < this.streamsPerConnection || this.connections.length >= this.maxConnections)) return least;
    const fresh: Connection = { client: this.connect(), open: 0 };
    this.connections.push(fresh);
    return fresh;
  }
}

/**
 * SEPARATE_CONNECTION: grpc-js shares one connection among channels to the
 * same address with equal options (a process-wide subchannel pool); a
 * channel with its own pool opens its own connection.
 */
export const SEPARATE_CONNECTION: grpc.ChannelOptions = Object.freeze({ 'grpc.use_local_subchannel_pool': 1 });

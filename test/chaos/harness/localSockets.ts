import { subscribe } from 'node:diagnostics_channel';
import type { Socket } from 'node:net';

/**
 * localSockets tells the fault proxies which of their incoming connections
 * were opened by this very process (a workload client) rather than by a node.
 *
 * Why: a node's redirect hint names the leader by the address in that node's
 * config, which the harness points at a forwarding proxy (node -> node). A
 * workload client that followed such a hint would reach the cluster around
 * its own proxies, so "cut this client off" would leak. The forwarding
 * proxies refuse connections from this process; clients then fall back to
 * their own endpoints (every node forwards to the leader).
 *
 * Every client socket this process opens is seen through Node's
 * `net.client.socket` diagnostics channel; its local port is remembered once
 * it connects and forgotten when it closes. Bounded by the open sockets.
 */
const ownLocalPorts = new Set<number>();
let installed = false;

export function trackLocalSockets(): void {
  if (installed) return;
  installed = true;
  subscribe('net.client.socket', (message) => {
    const socket = (message as { socket: Socket }).socket;
    socket.once('connect', () => {
      const port = socket.localPort;
      if (port === undefined) return;
      ownLocalPorts.add(port);
      socket.once('close', () => ownLocalPorts.delete(port));
    });
  });
}

/**
 * isOwnConnection: the peer of an accepted loopback socket is one of this
 * process's client sockets. Exact once the peer has sent a byte (its
 * 'connect' event ran before it could write), which is when proxies ask.
 */
export function isOwnConnection(accepted: Socket): boolean {
  const port = accepted.remotePort;
  return port !== undefined && ownLocalPorts.has(port);
}

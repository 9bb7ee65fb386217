import { isIP } from 'node:net';
import type { NodeSpec } from '../node/clusterConfig.js';

/**
 * plaintextWarning: plaintext is for local development, where it is the
 * default on loopback. A listener on any other address without TLS lets
 * anyone on the network read and forge lock traffic, so the node says so,
 * loudly, once at start-up.
 */

/** isLoopbackHost: 127.0.0.0/8, ::1 and "localhost" stay on this machine; everything else (0.0.0.0 included) does not. */
export function isLoopbackHost(host: string): boolean {
  const h = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (h.toLowerCase() === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || h === '0:0:0:0:0:0:0:1' || /^::ffff:127\./i.test(h);
  return false;
}

/** hostOf splits "host:port" (IPv6 in brackets) and returns the host. */
export function hostOf(address: string): string {
  const colon = address.lastIndexOf(':');
  return colon < 0 ? address : address.slice(0, colon);
}

/** plaintextWarnings lists, for one node, each listener bound off loopback without TLS (empty: nothing to warn about). */
export function plaintextWarnings(self: NodeSpec): string[] {
  const out: string[] = [];
  if (self.tls?.client == null && !isLoopbackHost(hostOf(self.clientAddress))) {
    out.push(`client API on ${self.clientAddress} is PLAINTEXT on a non-loopback address: anyone who can reach it can read and forge lock requests; configure nodes[].tls.client (see README "Security")`);
  }
  if (self.tls?.peer == null && !isLoopbackHost(hostOf(self.peerAddress))) {
    out.push(`peer transport on ${self.peerAddress} is PLAINTEXT on a non-loopback address: anyone who can reach it can impersonate a member and corrupt the log; configure nodes[].tls.peer (see README "Security")`);
  }
  if (self.httpAddress !== undefined && !isLoopbackHost(hostOf(self.httpAddress))) {
    out.push(`status page and metrics on ${self.httpAddress} are plain HTTP without authentication on a non-loopback address: anyone who can reach it sees lock names, holders and lease ids; bind httpAddress to loopback or put an authenticating proxy in front`);
  }
  return out;
}

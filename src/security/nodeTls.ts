import type * as grpc from '@grpc/grpc-js';
import type { PeerCertificate } from 'node:tls';
import type { PeerAuthContext } from '../transport/peerTransport.js';
import type { ClusterConfig, NodeSpec, TlsPaths } from '../node/clusterConfig.js';
import { memberNamedBy, nodeIdentity, requireUriSan, type PeerIdentity } from './identity.js';
import { ReloadableServerCredentials, TlsIdentity, channelCredentials, type ReloadResult } from './reloadableTls.js';

/**
 * nodeTls builds every credential one node needs from its config, in one
 * place, so the transport, the API server and the forwarder only take what
 * they are given:
 *
 * - peer port: mutual TLS. The server asks for a certificate and the
 *   transport refuses (and logs) a stream whose certificate was not issued by
 *   the cluster CA or does not name the member the stream claims to be.
 *   Dialling a peer checks that its certificate names that peer.
 * - client port: TLS with the node's client certificate; with
 *   requireClientCert, the handshake refuses clients without a certificate
 *   issued by the CA. Forwarding to the leader verifies the leader the way
 *   clients do (host name) and presents this node's client certificate.
 */
export interface NodeTlsSetup {
  readonly peerServer?: grpc.ServerCredentials;
  readonly peerChannel?: (peer: string) => grpc.ChannelCredentials;
  readonly authenticatePeer?: (auth: PeerAuthContext) => PeerIdentity;
  readonly clientServer?: grpc.ServerCredentials;
  readonly forwardChannel?: grpc.ChannelCredentials;
  /** reload re-reads every TLS file of the node; each part reports separately. */
  reload(): { readonly part: 'peer' | 'client'; readonly result: ReloadResult }[];
}

/** buildNodeTls loads and checks the node's TLS files (TlsFileError when one is wrong). */
export function buildNodeTls(config: ClusterConfig, self: NodeSpec): NodeTlsSetup {
  const identity = nodeIdentity(config.clusterId, self.id);
  const peerPaths = self.tls?.peer ?? null;
  const clientPaths = self.tls?.client ?? null;
  const peer = peerPaths === null ? null : new TlsIdentity(filesOf(peerPaths), { identity: requireUriSan(identity), what: `node ${self.id} peer TLS` });
  const client = clientPaths === null ? null : new TlsIdentity(filesOf(clientPaths), { what: `node ${self.id} client TLS` });
  const setup: { -readonly [K in keyof NodeTlsSetup]: NodeTlsSetup[K] } = {
    reload: () => [
      ...(peer === null ? [] : [{ part: 'peer' as const, result: peer.reload() }]),
      ...(client === null ? [] : [{ part: 'client' as const, result: client.reload() }]),
    ],
  };
  if (peer !== null) {
    setup.peerServer = new ReloadableServerCredentials(peer, { requestCert: true, rejectUnauthorized: false });
    const perPeer = new Map<string, grpc.ChannelCredentials>();
    setup.peerChannel = (id) => {
      let c = perPeer.get(id);
      if (c === undefined) {
        c = channelCredentials(peer, (_host, cert) => checkPeerCertificate(cert, config.clusterId, id));
        perPeer.set(id, c);
      }
      return c;
    };
    setup.authenticatePeer = (auth) => authenticatePeer(auth, config.clusterId);
  }
  if (client !== null && clientPaths !== null) {
    // With auth on, a certificate is asked for (not required): it is one of the ways a user authenticates.
    const requestCert = clientPaths.requireClientCert || config.auth.enabled;
    setup.clientServer = new ReloadableServerCredentials(client, { requestCert, rejectUnauthorized: clientPaths.requireClientCert });
    setup.forwardChannel = channelCredentials(client);
  }
  return setup;
}

/**
 * authenticatePeer names the member behind an inbound peer connection. grpc-js
 * gives a certificate only when the TLS handshake verified it against the CA,
 * so a missing one means: none presented, another CA's, or expired.
 */
export function authenticatePeer(auth: PeerAuthContext, clusterId: string): PeerIdentity {
  const cert = auth.sslPeerCertificate;
  if (auth.transportSecurityType !== 'ssl' || cert === undefined) {
    return { ok: false, reason: 'the connection presented no certificate issued by this cluster\'s CA (none, one from another CA, or an expired one)' };
  }
  return memberNamedBy(cert.subjectaltname, clusterId);
}

/** checkPeerCertificate: the certificate of the peer we dialled must name that peer (TLS already checked it against the CA). */
export function checkPeerCertificate(cert: PeerCertificate, clusterId: string, expected: string): Error | undefined {
  const named = memberNamedBy(cert.subjectaltname, clusterId);
  if (!named.ok) return new Error(`peer ${expected}: ${named.reason}`);
  if (named.nodeId !== expected) return new Error(`dialled peer ${expected} but its certificate names ${named.nodeId}; check the peer addresses in the config`);
  return undefined;
}

function filesOf(p: TlsPaths): { ca: string; cert: string; key: string } {
  return { ca: p.ca, cert: p.cert, key: p.key };
}

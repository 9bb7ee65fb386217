import type { ServerCall } from './rpc.js';
import { uriSans } from '../security/identity.js';

/**
 * callerKey names who is calling, for per-caller rate limits and fair
 * queueing: the identity in the client's TLS certificate when it presented
 * one (its first URI SAN, else its subject CN), otherwise the connection's
 * peer address ("host:port", so each plaintext connection is its own caller).
 *
 * The key is printable ASCII (certificate names are percent-encoded), so a
 * follower can pass it on in metadata when it forwards the call.
 *
 * This is the one place that decides identity for abuse control; once clients
 * authenticate, it should return the authenticated user instead.
 */
export function callerKey(call: ServerCall): string {
  const cert = call.getAuthContext().sslPeerCertificate;
  if (cert !== undefined && cert !== null && Object.keys(cert).length > 0) {
    const uri = uriSans(cert.subjectaltname)[0];
    if (uri !== undefined) return `cert:${encodeURIComponent(uri)}`;
    const cn = cert.subject?.CN;
    if (typeof cn === 'string' && cn !== '') return `cert:CN=${encodeURIComponent(cn)}`;
  }
  return `peer:${connectionKey(call)}`;
}

/**
 * certificateKind tells what the call's connection presented: no client
 * certificate ('anonymous'), one naming a member of `memberIds`
 * (raftlock://<cluster>/node/<id>: a follower forwarding calls), or another
 * one ('client').
 */
/** MemberIds answers whether a node id is a member now. */
export interface MemberIds {
  has(id: string): boolean;
}

export function certificateKind(call: ServerCall, memberIds: MemberIds): 'anonymous' | 'member' | 'client' {
  const cert = call.getAuthContext().sslPeerCertificate;
  if (cert === undefined || cert === null || Object.keys(cert).length === 0) return 'anonymous';
  const member = uriSans(cert.subjectaltname).some((uri) => {
    const m = /^raftlock:\/\/[^/]+\/node\/([^/]+)$/.exec(uri);
    return m !== null && memberIds.has(m[1] as string);
  });
  return member ? 'member' : 'client';
}

/** connectionKey names the connection a call arrived on: its peer's "host:port" (unique per open connection). */
export function connectionKey(call: ServerCall): string {
  return call.getPeer();
}

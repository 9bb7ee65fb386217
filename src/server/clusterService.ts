import type * as grpc from '@grpc/grpc-js';
import type { StatusRequest, StatusResponse } from './apiProto.js';
import { servedBy, type ServerContext } from './rpc.js';
import { authenticate } from './callerIdentity.js';

/**
 * The Cluster service: Status reports this node's own view (role, term,
 * indexes, members). It is always answered locally, never forwarded, so an
 * operator can ask each member in turn, including one without a leader.
 * With auth on it needs an identity, checked against this member's own
 * applied auth state (no quorum round: a member without a leader answers too).
 */
export function clusterHandlers(ctx: ServerContext): grpc.UntypedServiceImplementation {
  return {
    Status: servedBy<StatusRequest, StatusResponse>(ctx, 'Status', (call) => {
      authenticate(call, ctx.node.appliedAuth(), ctx.auth);
      return Promise.resolve(status(ctx));
    }),
  };
}

function status(ctx: ServerContext): StatusResponse {
  const s = ctx.node.status();
  const members = s.members.length > 0 ? s.members : ctx.members;
  return {
    id: s.id,
    role: s.role,
    term: String(s.term),
    leader: s.leader ?? '',
    commitIndex: String(s.commitIndex),
    appliedIndex: String(s.appliedIndex),
    snapshotIndex: String(s.snapshotIndex),
    members: members.map((m) => ({ id: m.id, clientAddress: m.clientAddress, peerAddress: m.peerAddress, role: 'role' in m ? (m.role ?? 'voter') : 'voter' })),
  };
}

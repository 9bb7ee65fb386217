import * as grpc from '@grpc/grpc-js';
import { ROOT_USER } from '../auth/names.js';
import type { Permission } from '../auth/permissions.js';
import { ApiError } from './apiError.js';
import type { Caller } from './callerIdentity.js';
import type { ServerContext } from './rpc.js';

/**
 * Authorisation of an authenticated caller, against this node's applied auth
 * state (the caller was authenticated through a ReadIndex round first, so the
 * state is at least as new as the call). Refusals are PERMISSION_DENIED and
 * name what is needed.
 */

/** requirePermission: the caller holds `needed` on lock `name`. */
export function requirePermission(ctx: ServerContext, caller: Caller, needed: Permission, name: string): void {
  if (caller.kind === 'anonymous') return;
  if (ctx.node.appliedAuth().permits(caller.user, needed, name)) return;
  const prefix = suggestedPrefix(name);
  throw new ApiError(
    grpc.status.PERMISSION_DENIED,
    `${needed} permission on ${JSON.stringify(prefix)} needed for ${JSON.stringify(name)}: user ${caller.user} has no role granting ${needed}${needed === 'admin' ? '' : ' (or higher)'} on a prefix of that name; ` +
      `an admin grants it with: raftlock role grant <role> ${needed} ${JSON.stringify(prefix)}`,
  );
}

/** isClusterAdmin: anonymous callers (auth off) and users with admin on every name. */
export function isClusterAdmin(ctx: ServerContext, caller: Caller): boolean {
  return caller.kind === 'anonymous' || ctx.node.appliedAuth().isClusterAdmin(caller.user);
}

export function requireClusterAdmin(ctx: ServerContext, caller: Caller, what: string): void {
  if (isClusterAdmin(ctx, caller)) return;
  throw new ApiError(
    grpc.status.PERMISSION_DENIED,
    `admin permission on every name ("") needed to ${what}: user ${caller.kind === 'user' ? caller.user : ''} is not a cluster admin (the user ${ROOT_USER}, or a role with admin on "")`,
  );
}

/**
 * ownerFor is the owner a lease command carries: the caller's user name, so
 * the state machine refuses (lease-not-owned) a lease of anyone else; none for
 * anonymous callers (auth off) and cluster admins, who may act on any lease.
 */
export function ownerFor(ctx: ServerContext, caller: Caller): { owner?: string } {
  if (caller.kind === 'anonymous' || isClusterAdmin(ctx, caller)) return {};
  return { owner: caller.user };
}

/** grantOwner: a new lease always belongs to the user who granted it, admins included. */
export function grantOwner(caller: Caller): { owner?: string } {
  return caller.kind === 'anonymous' ? {} : { owner: caller.user };
}

/** mayUseLease: the caller owns a lease whose owner is `owner`, or may act on any lease. */
export function mayUseLease(ctx: ServerContext, caller: Caller, owner: string): boolean {
  return caller.kind === 'anonymous' || caller.user === owner || isClusterAdmin(ctx, caller);
}

export function leaseNotOwned(leaseId: number): ApiError {
  return new ApiError(grpc.status.PERMISSION_DENIED, `lease ${leaseId} belongs to another identity; only its owner (or an admin) may use, keep alive or revoke it`);
}

/** suggestedPrefix: the name up to and including its last '/', or the name itself. */
function suggestedPrefix(name: string): string {
  const slash = name.lastIndexOf('/');
  return slash < 0 ? name : name.slice(0, slash + 1);
}

import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { describeResult } from '../lock/describeResult.js';
import type { CommandResult } from '../lock/results.js';
import { ApiError } from './apiError.js';
import type {
  GrantRequest,
  GrantResponse,
  KeepAliveRequest,
  KeepAliveResponse,
  ListLeasesRequest,
  ListLeasesResponse,
  RevokeRequest,
  RevokeResponse,
  TimeToLiveRequest,
  TimeToLiveResponse,
} from './apiProto.js';
import { callerKey } from './callerKey.js';
import { serveKeepAlive } from './keepAliveStream.js';
import { callerAtLeader, route, toStatus, unary, type ServerContext } from './rpc.js';
import { grantOwner, isClusterAdmin, leaseNotOwned, mayUseLease, ownerFor } from './access.js';
import { ANONYMOUS, forwardingMetadata, type Caller } from './callerIdentity.js';
import { statusForResult } from './statusMapping.js';
import { validateGrant, validateLeaseId, type ValidGrant } from './validation.js';

/**
 * The Lease service: Grant, KeepAlive, Revoke, TimeToLive, List. Writes go
 * through the log (node.propose); reads are linearizable (node.read).
 */

/** GRANT_ID_ATTEMPTS bounds the retries when a server-picked lease id is taken (2^-53 per lease each time). */
export const GRANT_ID_ATTEMPTS = 8;

export function leaseHandlers(ctx: ServerContext): grpc.UntypedServiceImplementation {
  return {
    Grant: unary<GrantRequest, GrantResponse, ValidGrant>(ctx, 'Lease', 'Grant', (req) => validateGrant(req, ctx.limits), (v, _call, caller) => grant(ctx, v, caller)),
    KeepAlive: keepAlive(ctx),
    Revoke: unary<RevokeRequest, RevokeResponse, number>(ctx, 'Lease', 'Revoke', (req) => validateLeaseId(req.leaseId), (id, _call, caller) => revoke(ctx, id, caller)),
    TimeToLive: unary<TimeToLiveRequest, TimeToLiveResponse, number>(ctx, 'Lease', 'TimeToLive', (req) => validateLeaseId(req.leaseId), (id, _call, caller) => timeToLive(ctx, id, caller)),
    List: unary<ListLeasesRequest, ListLeasesResponse, null>(ctx, 'Lease', 'List', () => null, (_v, _call, caller) => list(ctx, caller)),
  };
}

async function grant(ctx: ServerContext, v: ValidGrant, caller: Caller): Promise<GrantResponse> {
  const owner = grantOwner(caller);
  if (v.leaseId !== null) {
    const applied = await ctx.node.propose({ type: 'grant-lease', leaseId: v.leaseId, ttlMs: v.ttlMs, idempotent: true, ...owner });
    return granted(applied.result);
  }
  let last: CommandResult | null = null;
  for (let attempt = 0; attempt < GRANT_ID_ATTEMPTS; attempt++) {
    const applied = await ctx.node.propose({ type: 'grant-lease', leaseId: randomLeaseId(), ttlMs: v.ttlMs, idempotent: false, ...owner });
    if (applied.result.kind !== 'lease-id-taken') return granted(applied.result);
    last = applied.result;
  }
  throw new ApiError(grpc.status.ALREADY_EXISTS, `no free lease id after ${GRANT_ID_ATTEMPTS} random picks (last: ${describeResult(last!)}); retry`);
}

function granted(result: CommandResult): GrantResponse {
  if (result.kind !== 'lease-granted') throw statusForResult(result);
  return { leaseId: String(result.leaseId), ttlMs: String(result.ttlMs) };
}

/** randomLeaseId picks a uniformly random id in 1..2^53-1. */
export function randomLeaseId(): number {
  for (;;) {
    const bytes = randomBytes(8);
    const id = (bytes.readUInt32BE(0) & 0x1f_ffff) * 2 ** 32 + bytes.readUInt32BE(4);
    if (id !== 0) return id;
  }
}

async function revoke(ctx: ServerContext, leaseId: number, caller: Caller): Promise<RevokeResponse> {
  const applied = await ctx.node.propose({ type: 'revoke-lease', leaseId, ...ownerFor(ctx, caller) });
  const result = applied.result;
  if (result.kind !== 'lease-revoked') throw statusForResult(result);
  return { locksReleased: result.locksReleased };
}

async function timeToLive(ctx: ServerContext, leaseId: number, caller: Caller): Promise<TimeToLiveResponse> {
  const info = await ctx.node.read((sm) => sm.getLease(leaseId));
  if (info === null) throw statusForResult({ kind: 'lease-not-found', leaseId });
  if (!mayUseLease(ctx, caller, info.owner)) throw leaseNotOwned(leaseId);
  // null: the leader's lease clock is not running yet (a new leader restarts every lease at its full TTL).
  const remaining = Math.min(ctx.node.remainingMs(leaseId) ?? info.ttlMs, info.ttlMs);
  return { leaseId: String(leaseId), ttlMs: String(info.ttlMs), remainingMs: String(Math.max(0, Math.round(remaining))), locks: info.locksHeld };
}

/** list: every lease for a cluster admin (or with auth off), otherwise the caller's own. */
async function list(ctx: ServerContext, caller: Caller): Promise<ListLeasesResponse> {
  const all = await ctx.node.read((sm) => sm.listLeases());
  const leases = isClusterAdmin(ctx, caller) ? all : all.filter((l) => caller.kind === 'user' && l.owner === caller.user);
  return { leases: leases.map((l) => ({ leaseId: String(l.leaseId), ttlMs: String(l.ttlMs) })) };
}

/** keepAlive serves the stream here on the leader, proxies it to the leader, or refuses it. */
function keepAlive(ctx: ServerContext): grpc.handleBidiStreamingCall<KeepAliveRequest, KeepAliveResponse> {
  return (call) => {
    try {
      const where = route(ctx, call);
      if (where.kind === 'local' && !ctx.auth.enabled) {
        serveKeepAlive(ctx, call, ANONYMOUS);
      } else if (where.kind === 'local') {
        callerAtLeader(ctx, call).then(
          (caller) => serveKeepAlive(ctx, call, caller),
          (err: unknown) => call.emit('error', toStatus(ctx, err, 'KeepAlive').toStatus()),
        );
      } else {
        // The rate is charged here, where the caller entered; the leader does not charge this member's forwarded stream again.
        const rateKey = callerKey(call);
        ctx.forwarder.stream('Lease', 'KeepAlive', call, where.leader, forwardingMetadata(call, ctx.auth), () => ctx.admission.admitKeepAlive(rateKey));
      }
    } catch (err) {
      call.emit('error', toStatus(ctx, err, 'KeepAlive').toStatus());
    }
  };
}

import type * as grpc from '@grpc/grpc-js';
import type { ApiError } from './apiError.js';
import type { KeepAliveRequest, KeepAliveResponse } from './apiProto.js';
import { callerKey } from './callerKey.js';
import { forwardedFor, toStatus, type ServerContext } from './rpc.js';
import { authenticate, type Caller } from './callerIdentity.js';
import { leaseNotOwned, mayUseLease } from './access.js';
import { validateLeaseId } from './validation.js';

/**
 * serveKeepAlive answers a KeepAlive stream on the leader. One stream may
 * carry thousands of leases, so requests are not served one after another:
 * each goes to node.keepAlive at once (the node batches concurrent renewals
 * into one quorum round) and is answered when it resolves, in whatever order.
 *
 * Bound: at most ctx.maxKeepAlivesInFlight requests per stream are between
 * being read and their reply being flushed to the transport. At the bound the
 * stream stops reading (grpc-js then stops granting HTTP/2 flow-control
 * credit, so the client's writes block): a client that sends faster than the
 * cluster confirms, or that stops reading replies, is slowed, never buffered
 * without limit.
 *
 * Rate: every message takes a token of the caller's keepAlivesPerSecond
 * bucket (ClientLimits), over all the caller's streams, at the member the
 * stream entered (a follower charges the streams it forwards); a caller over it gets
 * RESOURCE_EXHAUSTED (the limit and a retry hint in the message and the
 * raftlock-retry-after-ms trailer) and the stream ends, so a flood costs the
 * leader one cheap check per message, not a quorum round each.
 *
 * Ends: OK after the client half-closes and every reply is flushed;
 * INVALID_ARGUMENT on a malformed lease id; RESOURCE_EXHAUSTED over the rate; UNAVAILABLE with leader metadata
 * when this node stops leading (or stops) — the client reconnects.
 *
 * With auth on, `caller` was authenticated when the stream opened; every
 * request is checked again against the applied auth state (a token revoked
 * meanwhile ends the stream with UNAUTHENTICATED) and against the lease's
 * owner (someone else's lease ends it with PERMISSION_DENIED, unrenewed).
 */
export function serveKeepAlive(ctx: ServerContext, call: grpc.ServerDuplexStream<KeepAliveRequest, KeepAliveResponse>, caller: Caller): void {
  if (call.cancelled) return;
  const max = ctx.maxKeepAlivesInFlight;
  // A stream a member forwards was charged where it entered (leaseService.ts).
  const charged = forwardedFor(ctx, call) === null;
  const rateKey = callerKey(call);
  let inFlight = 0;
  let paused = false;
  let halfClosed = false;
  let finished = false;

  const finish = (error: ApiError | null): void => {
    if (finished) return;
    finished = true;
    if (call.cancelled) return;
    if (error === null) call.end();
    else call.emit('error', error.toStatus());
  };

  const settle = (): void => {
    inFlight--;
    if (paused && inFlight < max) {
      paused = false;
      call.resume();
    }
    if (halfClosed && inFlight === 0) finish(null);
  };

  const renew = (leaseId: number): void => {
    ctx.node.keepAlive(leaseId).then(
      (ttlMs) => {
        if (finished) return settle();
        const reply: KeepAliveResponse = { leaseId: String(leaseId), ttlMs: String(ttlMs) };
        call.write(reply, () => settle());
      },
      (err: unknown) => {
        finish(toStatus(ctx, err, 'KeepAlive'));
        settle();
      },
    );
  };

  call.on('data', (req: KeepAliveRequest) => {
    if (finished) return;
    let leaseId: number;
    try {
      leaseId = validateLeaseId(req.leaseId);
      checkAccess(ctx, call, caller, leaseId);
    } catch (err) {
      finish(toStatus(ctx, err, 'KeepAlive'));
      return;
    }
    const overRate = charged ? ctx.admission.admitKeepAlive(rateKey) : null;
    if (overRate !== null) {
      finish(overRate);
      return;
    }
    inFlight++;
    if (inFlight >= max && !paused) {
      paused = true;
      call.pause();
    }
    renew(leaseId);
  });
  call.on('end', () => {
    halfClosed = true;
    if (inFlight === 0) finish(null);
  });
  call.on('cancelled', () => {
    finished = true;
  });
  // The 'error' this code emits to send a status is handled by grpc-js; nothing else to do here.
  call.on('error', () => undefined);
}

/** checkAccess re-authenticates the stream's caller and checks it may renew `leaseId` (an unknown lease is left to keepAlive: ttl 0). */
function checkAccess(ctx: ServerContext, call: grpc.ServerDuplexStream<KeepAliveRequest, KeepAliveResponse>, caller: Caller, leaseId: number): void {
  if (caller.kind === 'anonymous') return;
  authenticate(call, ctx.node.appliedAuth(), ctx.auth);
  const owner = ctx.node.leaseOwner(leaseId);
  if (owner !== null && !mayUseLease(ctx, caller, owner)) throw leaseNotOwned(leaseId);
}

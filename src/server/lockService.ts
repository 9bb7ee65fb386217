import * as grpc from '@grpc/grpc-js';
import type { LockMode } from '../lock/commands.js';
import type { LockInfo } from '../lock/stateMachine.js';
import { ApiError } from './apiError.js';
import type {
  AcquireRequest,
  AcquireResponse,
  GetLockRequest,
  GetLockResponse,
  ReleaseRequest,
  ReleaseResponse,
  WireMode,
} from './apiProto.js';
import { unary, type ServerCall, type ServerContext } from './rpc.js';
import { leaseNotOwned, ownerFor, requirePermission } from './access.js';
import type { Caller } from './callerIdentity.js';
import type { Expiring } from './waitAttachments.js';
import { statusForResult } from './statusMapping.js';
import { MAX_WAIT_MS, validateAcquire, validateGetLock, validateRelease, type ValidAcquire, type ValidRelease } from './validation.js';

/**
 * The Lock service: Acquire, Release, Get.
 *
 * Acquire with wait_ms > 0 queues in the log, then waits for the grant here,
 * racing the wait_ms timer and the call's cancellation.
 *
 * A wait that times out is withdrawn through the log (design.md §3), so a late
 * grant never goes to a caller that left; a grant that won the race against
 * the withdrawal goes to the caller.
 *
 * A cancelled wait keeps its place in the queue for a re-attach grace period
 * (waitReattachGraceMs, never past the wait's own wait_ms): a cancellation is
 * often not the client giving up but its connection, or the follower that
 * forwarded its call, going away, and the client library then retries the
 * Acquire elsewhere. The retry re-attaches: the state machine answers a
 * repeated Acquire by a queued lease with its existing place (or its grant).
 * If no Acquire of the same lease and lock arrives at this leader within the
 * grace, the wait is withdrawn as on a timeout, and a grant made meanwhile is
 * released (its owner left). A genuine give-up therefore keeps its place, or
 * the lock, for up to the grace period longer than before.
 *
 * A re-attach stops the grace before it proposes (WaitAttachments), so a
 * withdrawal is never proposed after a re-attach on this leader; one already
 * proposed is ordered before the re-attach in the log (the retry then queues
 * again, at the back) and does not release a grant the retry reports. A held
 * wait is dropped, not withdrawn, once this node is no longer leader in the
 * term it was held in — that leadership's waits were failed and their clients
 * retry on the new leader through the log, like any wait in flight at a leader
 * change. What is left: a client that really gave up while leadership changed
 * leaves its wait queued until its lease ends (as before this grace existed).
 */

export function lockHandlers(ctx: ServerContext): grpc.UntypedServiceImplementation {
  return {
    Acquire: unary<AcquireRequest, AcquireResponse, ValidAcquire>(
      ctx,
      'Lock',
      'Acquire',
      (req) => validateAcquire(req, ctx.limits),
      (v, call, caller) => {
        requirePermission(ctx, caller, 'lock', v.name);
        return acquire(ctx, v, call, ownerFor(ctx, caller));
      },
      (v) => v.waitMs,
    ),
    Release: unary<ReleaseRequest, ReleaseResponse, ValidRelease>(ctx, 'Lock', 'Release', (req) => validateRelease(req, ctx.limits), (v, _call, caller) => release(ctx, v, caller)),
    Get: unary<GetLockRequest, GetLockResponse, string>(ctx, 'Lock', 'Get', (req) => validateGetLock(req, ctx.limits), (name, _call, caller) => {
      requirePermission(ctx, caller, 'read', name);
      return get(ctx, name);
    }),
  };
}

export function wireMode(mode: LockMode): WireMode {
  return mode === 'shared' ? 'SHARED' : 'EXCLUSIVE';
}

function grantReply(v: ValidAcquire, token: number, existing: boolean): AcquireResponse {
  return { token: String(token), name: v.name, leaseId: String(v.leaseId), mode: wireMode(v.mode), existing };
}

type WaitOutcome =
  | { readonly kind: 'granted'; readonly token: number }
  | { readonly kind: 'failed'; readonly error: unknown }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'cancelled' };

/** Owner: the owner an Acquire carries (access.ownerFor): the state machine refuses someone else's lease. */
type Owner = { owner?: string };

async function acquire(ctx: ServerContext, v: ValidAcquire, call: grpc.ServerUnaryCall<AcquireRequest, AcquireResponse>, owner: Owner): Promise<AcquireResponse> {
  // Before attaching: a call on someone else's lease must not take over (and so keep) that lease's held wait.
  const leaseOwner = ctx.node.leaseOwner(v.leaseId);
  if (owner.owner !== undefined && leaseOwner !== null && leaseOwner !== owner.owner) throw leaseNotOwned(v.leaseId);
  if (v.waitMs === 0) return tryOnce(ctx, v, owner);
  const deadline = performance.now() + v.waitMs;
  // Attach before proposing: a wait held after an earlier cancelled call is taken over, never withdrawn under this one.
  ctx.waits.attach(v.name, v.leaseId);
  let outcome: WaitOutcome;
  let othersAttached = false;
  try {
    const applied = await ctx.node.propose({ type: 'acquire', name: v.name, leaseId: v.leaseId, mode: v.mode, wait: true, ...owner });
    const result = applied.result;
    if (result.kind === 'granted') return grantReply(v, result.token, result.existing);
    // A refusal, a failed proposal or a failed wait (leadership lost, lease gone) withdraws nothing, as before.
    if (result.kind !== 'queued') throw statusForResult(result);
    outcome = await waitQueued(ctx, v, call, deadline - performance.now());
  } finally {
    othersAttached = ctx.waits.detach(v.name, v.leaseId);
  }
  if (outcome.kind === 'granted' && !call.cancelled) return grantReply(v, outcome.token, false);
  if (outcome.kind === 'failed') throw outcome.error;
  if (outcome.kind === 'cancelled' || call.cancelled) {
    if (!othersAttached) holdForReattach(ctx, v, deadline);
    throw new ApiError(grpc.status.CANCELLED, `the Acquire of lock ${JSON.stringify(v.name)} was cancelled by the client; its wait is kept for ${ctx.waitReattachGraceMs} ms for a retry`);
  }
  // Timed out. Another call of this lease still waiting here carries the wait: leave it to that call.
  const token = outcome.kind === 'granted' ? outcome.token : othersAttached ? null : await withdrawWait(ctx, v);
  if (token !== null) return grantReply(v, token, false);
  const left = othersAttached ? 'the wait stays with another Acquire of this lease still waiting' : 'the wait was withdrawn';
  throw new ApiError(
    grpc.status.DEADLINE_EXCEEDED,
    `lock ${JSON.stringify(v.name)} was not granted to lease ${v.leaseId} within wait_ms ${v.waitMs}; ${left} — retry or wait longer (accepted: wait_ms up to ${MAX_WAIT_MS})`,
  );
}

/** tryOnce: an Acquire with wait_ms 0 grants or refuses; it never queues. */
async function tryOnce(ctx: ServerContext, v: ValidAcquire, owner: Owner): Promise<AcquireResponse> {
  const applied = await ctx.node.propose({ type: 'acquire', name: v.name, leaseId: v.leaseId, mode: v.mode, wait: false, ...owner });
  const result = applied.result;
  if (result.kind === 'granted') return grantReply(v, result.token, result.existing);
  throw statusForResult(result);
}

/** waitQueued races the node's grant against the remaining wait and the call's cancellation. */
async function waitQueued(ctx: ServerContext, v: ValidAcquire, call: ServerCall, remainingMs: number): Promise<WaitOutcome> {
  if (call.cancelled) return { kind: 'cancelled' };
  const abort = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let onCancel: (() => void) | undefined;
  const grant = ctx.node.waitForGrant(v.name, v.leaseId, abort.signal).then(
    (token): WaitOutcome => ({ kind: 'granted', token }),
    (error: unknown): WaitOutcome => ({ kind: 'failed', error }),
  );
  const timeout = new Promise<WaitOutcome>((resolve) => {
    timer = setTimeout(() => resolve({ kind: 'timeout' }), Math.max(0, remainingMs));
  });
  const cancelled = new Promise<WaitOutcome>((resolve) => {
    onCancel = () => resolve({ kind: 'cancelled' });
    call.once('cancelled', onCancel);
  });
  try {
    return await Promise.race([grant, timeout, cancelled]);
  } finally {
    clearTimeout(timer);
    if (onCancel !== undefined) call.removeListener('cancelled', onCancel);
    abort.abort();
  }
}

/**
 * holdForReattach keeps a cancelled wait queued for the re-attach grace (never
 * past the wait's deadline); if no call re-attaches, it is withdrawn and a
 * grant made meanwhile released. Only the leadership (term) that held it may
 * withdraw it: after a leader change the wait belongs to the new leader's retries.
 */
function holdForReattach(ctx: ServerContext, v: ValidAcquire, deadline: number): void {
  if (!ctx.node.isLeader()) return;
  const term = ctx.node.status().term;
  const graceMs = Math.min(ctx.waitReattachGraceMs, deadline - performance.now());
  const expire = (expiring: Expiring | null): void => {
    if (!ctx.node.isLeader() || ctx.node.status().term !== term) {
      ctx.logger.info({ name: v.name, leaseId: v.leaseId, term }, 'leadership changed while a cancelled wait was held; it is left to the new leader');
      expiring?.done();
      return;
    }
    withdrawGone(ctx, v, expiring).then(
      () => expiring?.done(),
      (err: unknown) => {
        expiring?.done();
        ctx.logger.warn({ err, name: v.name, leaseId: v.leaseId },
          'withdrawing a cancelled wait after its re-attach grace failed: the wait stays queued until its lease ends or the client retries; if this repeats, check the leader and its log (npx raftlock status)');
      },
    );
  };
  if (graceMs > 0 && ctx.waits.hold(v.name, v.leaseId, graceMs, expire)) return;
  if (graceMs > 0 && ctx.warnLimiter.take('held-waits') !== null) {
    ctx.logger.warn({ name: v.name, leaseId: v.leaseId, held: ctx.waits.held },
      'too many cancelled waits held for a retry; withdrawing this one at once (a retry of it loses its place in the queue): many clients are dropping Acquire calls, check their deadlines and the network between them and the cluster');
  }
  expire(null);
}

/** withdrawGone withdraws a wait whose caller left and releases a grant made to it, unless a call re-attached meanwhile. */
async function withdrawGone(ctx: ServerContext, v: ValidAcquire, expiring: Expiring | null): Promise<void> {
  const token = await withdrawWait(ctx, v);
  if (token === null || expiring?.reattached() === true) return;
  const applied = await ctx.admission.internal(() => ctx.node.propose({ type: 'release', name: v.name, leaseId: v.leaseId, token }));
  if (applied.result.kind !== 'released') {
    ctx.logger.warn({ name: v.name, leaseId: v.leaseId, token, result: applied.result.kind },
      'releasing a grant made to a cancelled Acquire was refused: the lock stays with that lease until it is released or the lease ends; check the holder with npx raftlock get');
  }
}

/** withdrawWait takes the wait back through the log; it returns the token when the lease was granted the lock first. */
async function withdrawWait(ctx: ServerContext, v: ValidAcquire): Promise<number | null> {
  // Clean-up after a caller that left or timed out: never refused for that caller's excess (fairQueue.ts INTERNAL_CALLER).
  const applied = await ctx.admission.internal(() => ctx.node.propose({ type: 'withdraw-wait', name: v.name, leaseId: v.leaseId }));
  const result = applied.result;
  if (result.kind === 'not-waiting') return result.heldToken;
  if (result.kind !== 'withdrawn') throw statusForResult(result);
  return null;
}

async function release(ctx: ServerContext, v: ValidRelease, caller: Caller): Promise<ReleaseResponse> {
  requirePermission(ctx, caller, 'lock', v.name);
  const applied = await ctx.node.propose({ type: 'release', name: v.name, leaseId: v.leaseId, token: v.token, ...ownerFor(ctx, caller) });
  if (applied.result.kind !== 'released') throw statusForResult(applied.result);
  return {};
}

async function get(ctx: ServerContext, name: string): Promise<GetLockResponse> {
  const info: LockInfo | null = await ctx.node.read((sm) => sm.getLock(name));
  if (info === null) return { name, holders: [], waiters: [] };
  return {
    name,
    holders: info.holders.map((h) => ({ leaseId: String(h.leaseId), token: String(h.token), mode: wireMode(h.mode) })),
    waiters: info.waiters.map((w) => ({ leaseId: String(w.leaseId), mode: wireMode(w.mode) })),
  };
}

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
import { statusForResult } from './statusMapping.js';
import { MAX_WAIT_MS, validateAcquire, validateGetLock, validateRelease, type ValidAcquire, type ValidRelease } from './validation.js';

/**
 * The Lock service: Acquire, Release, Get.
 *
 * Acquire with wait_ms > 0 queues in the log, then waits for the grant here,
 * racing the wait_ms timer and the call's cancellation. A wait that ends
 * without a grant is withdrawn through the log (design.md §3), so a late
 * grant never goes to a caller that left; if the grant won the race against
 * the withdrawal, the caller gets it when still there (timeout) and it is
 * released when the caller is gone (cancel).
 */

export function lockHandlers(ctx: ServerContext): grpc.UntypedServiceImplementation {
  return {
    Acquire: unary<AcquireRequest, AcquireResponse, ValidAcquire>(
      ctx,
      'Lock',
      'Acquire',
      (req) => validateAcquire(req, ctx.limits),
      (v, call) => acquire(ctx, v, call),
      (v) => v.waitMs,
    ),
    Release: unary<ReleaseRequest, ReleaseResponse, ValidRelease>(ctx, 'Lock', 'Release', (req) => validateRelease(req, ctx.limits), (v) => release(ctx, v)),
    Get: unary<GetLockRequest, GetLockResponse, string>(ctx, 'Lock', 'Get', (req) => validateGetLock(req, ctx.limits), (name) => get(ctx, name)),
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

async function acquire(ctx: ServerContext, v: ValidAcquire, call: grpc.ServerUnaryCall<AcquireRequest, AcquireResponse>): Promise<AcquireResponse> {
  const deadline = performance.now() + v.waitMs;
  const applied = await ctx.node.propose({ type: 'acquire', name: v.name, leaseId: v.leaseId, mode: v.mode, wait: v.waitMs > 0 });
  const result = applied.result;
  if (result.kind === 'granted') return grantReply(v, result.token, result.existing);
  if (result.kind !== 'queued') throw statusForResult(result);

  const outcome = await waitQueued(ctx, v, call, deadline - performance.now());
  if (outcome.kind === 'granted' && !call.cancelled) return grantReply(v, outcome.token, false);
  if (outcome.kind === 'failed') throw outcome.error;
  const gone = outcome.kind === 'cancelled' || call.cancelled;
  return withdraw(ctx, v, gone, outcome.kind === 'granted' ? outcome.token : null);
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
 * withdraw takes the wait back through the log. `gone`: the caller cancelled
 * (or its deadline passed), so a grant that beat the withdrawal is released
 * rather than kept by a lease whose owner does not know it holds the lock.
 */
async function withdraw(ctx: ServerContext, v: ValidAcquire, gone: boolean, grantedToken: number | null): Promise<AcquireResponse> {
  let heldToken = grantedToken;
  if (heldToken === null) {
    const applied = await ctx.node.propose({ type: 'withdraw-wait', name: v.name, leaseId: v.leaseId });
    const result = applied.result;
    if (result.kind === 'not-waiting') heldToken = result.heldToken;
    else if (result.kind !== 'withdrawn') throw statusForResult(result);
  }
  if (heldToken !== null && !gone) return grantReply(v, heldToken, false);
  if (heldToken !== null) {
    const applied = await ctx.node.propose({ type: 'release', name: v.name, leaseId: v.leaseId, token: heldToken });
    if (applied.result.kind !== 'released') {
      ctx.logger.warn({ name: v.name, leaseId: v.leaseId, token: heldToken, result: applied.result.kind }, 'releasing a grant made to a cancelled Acquire was refused');
    }
  }
  if (gone) throw new ApiError(grpc.status.CANCELLED, `the Acquire of lock ${JSON.stringify(v.name)} was cancelled by the client; its wait was withdrawn`);
  throw new ApiError(
    grpc.status.DEADLINE_EXCEEDED,
    `lock ${JSON.stringify(v.name)} was not granted to lease ${v.leaseId} within wait_ms ${v.waitMs}; the wait was withdrawn — retry or wait longer (accepted: wait_ms up to ${MAX_WAIT_MS})`,
  );
}

async function release(ctx: ServerContext, v: ValidRelease): Promise<ReleaseResponse> {
  const applied = await ctx.node.propose({ type: 'release', name: v.name, leaseId: v.leaseId, token: v.token });
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

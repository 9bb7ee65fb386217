import { AsyncLocalStorage } from 'node:async_hooks';
import * as grpc from '@grpc/grpc-js';
import { ApiError } from './apiError.js';
import { CallerRateLimits } from './callerRateLimits.js';
import { callerKey, connectionKey } from './callerKey.js';
import { MAX_TRACKED_CALLERS, type ClientLimits } from './clientLimits.js';
import { FairQueue, INTERNAL_CALLER, RETRY_AFTER_METADATA } from './fairQueue.js';

/**
 * Admission applies ClientLimits to incoming calls: a per-caller request
 * rate, a per-caller KeepAlive message rate, a per-connection count of calls
 * in flight, and fair queueing of the node's work per caller. Refusals are
 * RESOURCE_EXHAUSTED naming the limit and its value, with a retry hint in the
 * message and in the `raftlock-retry-after-ms` trailer.
 *
 * The caller of a call is remembered for the call's whole async life
 * (AsyncLocalStorage), so the node wrapper (fairNode.ts) queues the call's
 * proposals and reads under its caller without threading it through every
 * handler — and with it whether the call is still wanted: work of a call
 * cancelled while it waited in the queue is dropped at its turn (nobody waits
 * for its answer, and a flooder whose calls time out in the queue must not
 * keep the node busy with them).
 */

/** CallScope: who a running handler serves, and whether its call has been cancelled (null: the server's own work). */
interface CallScope {
  readonly caller: string;
  readonly call: { readonly cancelled: boolean } | null;
}
export class Admission {
  readonly queue: FairQueue;
  private readonly requests: CallerRateLimits;
  private readonly keepAlives: CallerRateLimits;
  private readonly inFlight = new Map<string, number>();
  private readonly scope = new AsyncLocalStorage<CallScope>();

  constructor(readonly limits: ClientLimits) {
    this.queue = new FairQueue(limits.maxActiveNodeRequests, limits.maxQueuedPerCaller, fastLaneSlots(limits.maxActiveNodeRequests), fastLaneSlots(limits.maxActiveNodeRequests));
    this.requests = new CallerRateLimits(limits.requestsPerSecond, limits.requestBurst, MAX_TRACKED_CALLERS);
    this.keepAlives = new CallerRateLimits(limits.keepAlivesPerSecond, limits.keepAliveBurst, MAX_TRACKED_CALLERS);
  }

  /** currentCaller: the caller of the call whose handler is running, or null outside one (internal work). */
  currentCaller(): string | null {
    return this.scope.getStore()?.caller ?? null;
  }

  /** currentCallGone tells, for the call whose handler is running, whether it has been cancelled since; always false outside a call. */
  currentCallGone(): () => boolean {
    const call = this.scope.getStore()?.call ?? null;
    return call === null ? () => false : () => call.cancelled;
  }

  /**
   * admitUnary checks the rate and in-flight limits for a unary call and runs
   * `serve` under the call's caller. A call forwarded by a trusted member
   * (`caller` given by the forwarder) was admitted where it entered the
   * cluster: it is queued fairly under its original caller but not counted again.
   */
  admitUnary<T>(call: grpc.ServerUnaryCall<unknown, unknown>, forwardedFor: string | null, serve: () => Promise<T>): Promise<T> {
    if (forwardedFor !== null) return this.scope.run({ caller: forwardedFor, call }, serve);
    const caller = callerKey(call);
    const waitMs = this.requests.take(caller, performance.now());
    if (waitMs > 0) {
      return Promise.reject(overLimit('requestsPerSecond', `${this.limits.requestsPerSecond} calls/s (burst ${this.limits.requestBurst}) per caller`, waitMs));
    }
    const connection = connectionKey(call);
    const open = this.inFlight.get(connection) ?? 0;
    if (open >= this.limits.maxInFlightPerConnection) {
      return Promise.reject(overLimit('maxInFlightPerConnection', `${this.limits.maxInFlightPerConnection} calls in flight per connection`, 100));
    }
    this.inFlight.set(connection, open + 1);
    return this.scope.run({ caller, call }, serve).finally(() => {
      const left = (this.inFlight.get(connection) ?? 1) - 1;
      if (left === 0) this.inFlight.delete(connection);
      else this.inFlight.set(connection, left);
    });
  }

  /** internal runs `work` as the server's own (INTERNAL_CALLER): clean-up that must not be refused for the caller's excess. */
  internal<T>(work: () => Promise<T>): Promise<T> {
    return this.scope.run({ caller: INTERNAL_CALLER, call: null }, work);
  }

  /** admitKeepAlive takes a KeepAlive token for the stream's caller; null when allowed, else the refusal. */
  admitKeepAlive(caller: string): ApiError | null {
    const waitMs = this.keepAlives.take(caller, performance.now());
    if (waitMs === 0) return null;
    return overLimit('keepAlivesPerSecond', `${this.limits.keepAlivesPerSecond} KeepAlive messages/s (burst ${this.limits.keepAliveBurst}) per caller`, waitMs);
  }
}

/** fastLaneSlots: places beyond maxActiveNodeRequests for callers with nothing in the node (FairQueue): a quarter more, at least one. */
export function fastLaneSlots(maxActiveNodeRequests: number): number {
  return Math.max(1, Math.floor(maxActiveNodeRequests / 4));
}

function overLimit(limit: string, accepted: string, retryAfterMs: number): ApiError {
  const metadata = new grpc.Metadata();
  metadata.set(RETRY_AFTER_METADATA, String(retryAfterMs));
  return new ApiError(grpc.status.RESOURCE_EXHAUSTED, `limit ${limit} reached: accepted ${accepted}; retry after ${retryAfterMs} ms`, metadata);
}

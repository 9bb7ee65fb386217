import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { LockLimits } from '../lock/limits.js';
import type { NodeSpec } from '../node/clusterConfig.js';
import { NodeStoppedError, type NodeApi } from '../node/nodeApi.js';
import type { ApiError } from './apiError.js';
import type { ApiServiceName } from './apiProto.js';
import { LeaderUnreachableError, type Forwarder } from './forwarder.js';
import type { WaitAttachments } from './waitAttachments.js';
import type { Admission } from './admission.js';
import { callerKey, certificateKind, type MemberIds } from './callerKey.js';
import type { WarnLimiter } from '../transport/warnLimiter.js';
import { METADATA, statusForError, unavailable, type LeaderHint } from './statusMapping.js';
import { ANONYMOUS, authenticate, forwardingMetadata, type AuthSettings, type Caller } from './callerIdentity.js';

/**
 * rpc holds what every service handler shares: the server context, leader
 * routing (serve here, forward, or refuse with a redirect), and the wrapper
 * that turns an async handler into a grpc-js handler whose every failure,
 * thrown or rejected, becomes a status — never an unhandled rejection.
 */

export interface ServerContext {
  readonly node: NodeApi;
  readonly limits: LockLimits;
  readonly members: readonly NodeSpec[];
  readonly logger: Logger;
  readonly forwarder: Forwarder;
  readonly maxKeepAlivesInFlight: number;
  /** leaderWaitMs: how long a follower parks a call for a (new) leader before refusing it. */
  readonly leaderWaitMs: number;
  /** waitReattachGraceMs: how long a cancelled Acquire's wait keeps its place for the client's retry (lockService.ts). */
  readonly waitReattachGraceMs: number;
  /** waits: the Acquire calls attached to queued waits, and the cancelled waits held for a retry. */
  readonly waits: WaitAttachments;
  /** admission: the per-caller and per-connection limits (ClientLimits) and the fair queue in front of the node. */
  readonly admission: Admission;
  /** memberIds: the cluster's node ids as of now (members change at run time), to tell a forwarding member from a client. */
  readonly memberIds: MemberIds;
  /** auth: whether callers must authenticate, and how (callerIdentity.ts). */
  readonly auth: AuthSettings;
  /** warnLimiter rate-limits warnings that a busy server could repeat per request. */
  readonly warnLimiter: WarnLimiter;
}

/**
 * callerAtLeader authenticates a call served here on the leader, after a
 * ReadIndex round: the auth state it checks against holds every change
 * committed before the call arrived, so a token revoked through any member is
 * refused on the next call, even by a leader elected a moment ago.
 */
export async function callerAtLeader(ctx: ServerContext, call: ServerCall): Promise<Caller> {
  if (!ctx.auth.enabled) return ANONYMOUS;
  return ctx.node.read((_sm, auth) => authenticate(call, auth, ctx.auth));
}

/** ServerCall is any incoming call that can be routed or used as a forwarded call's parent. */
export type ServerCall = grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>;

/** Route is where a call is served: here (this node leads), at the leader, or nowhere (UNAVAILABLE). */
export type Route = { readonly kind: 'local' } | { readonly kind: 'forward'; readonly leader: LeaderHint };

/** leaderHint is the leader this node knows of, with its client address, or null. */
export function leaderHint(ctx: ServerContext): LeaderHint | null {
  return ctx.node.leader();
}

/**
 * forwardedFor: for a call a member forwarded here, the caller to queue it
 * under; null for a call straight from a client, which Admission limits.
 * Only a connection with a member's certificate is believed about the
 * original caller (raftlock-caller). Without client certificates nothing
 * tells a follower from a client, so a call marked forwarded is still spared
 * the per-caller limits (the follower applied them), but is queued under its
 * own connection: a client faking the mark gains no extra queue turns. A
 * client with a certificate of its own faking the mark gains nothing at all.
 */
export function forwardedFor(ctx: ServerContext, call: ServerCall): string | null {
  if (!isForwarded(call)) return null;
  const kind = certificateKind(call, ctx.memberIds);
  if (kind === 'client') return null;
  if (kind === 'anonymous') return callerKey(call);
  const named = call.metadata.get(METADATA.caller)[0];
  return typeof named === 'string' && named !== '' && named.length <= MAX_CALLER_KEY_CHARS ? named : callerKey(call);
}

/** MAX_CALLER_KEY_CHARS bounds a caller key taken from metadata. */
const MAX_CALLER_KEY_CHARS = 512;

/** isForwarded tells whether another node already forwarded this call. */
export function isForwarded(call: ServerCall): boolean {
  return call.metadata.get(METADATA.forwarded).length > 0;
}

/**
 * route decides where a call that needs the leader is served. A forwarded call
 * is never forwarded again: a node that is not the leader refuses it with
 * UNAVAILABLE and its own leader hint.
 */
export function route(ctx: ServerContext, call: ServerCall): Route {
  if (ctx.node.isLeader()) return { kind: 'local' };
  const leader = leaderHint(ctx);
  if (isForwarded(call)) {
    throw unavailable(`node ${ctx.node.id} received a forwarded call but is not the leader (leadership moved); retry`, leader);
  }
  if (leader === null || leader.id === ctx.node.id) {
    throw unavailable(`node ${ctx.node.id} is not the leader and no leader is known yet (an election is under way); retry shortly`, null);
  }
  return { kind: 'forward', leader };
}

/** PARK_MARGIN_MS: a parked call is answered at least this long before the caller's deadline. */
const PARK_MARGIN_MS = 50;

/**
 * routeOrPark routes a call like route(), but a follower that knows no leader
 * (an election is under way), or only `unreachableId`, first waits up to
 * leaderWaitMs — never past the call's deadline — for a leader to be known,
 * so the call goes to the new leader the moment it is elected instead of
 * bouncing back to the client, which would retry after a backoff.
 */
export async function routeOrPark(ctx: ServerContext, call: ServerCall, unreachableId: string | null): Promise<Route> {
  if (ctx.node.isLeader()) return { kind: 'local' };
  const known = leaderHint(ctx);
  if (!isForwarded(call) && (known === null || known.id === ctx.node.id || known.id === unreachableId)) {
    const deadline = call.getDeadline();
    const untilDeadlineMs = (deadline instanceof Date ? deadline.getTime() : deadline) - Date.now();
    // Leave the caller time to hear the answer before its own deadline.
    const waitMs = Math.min(ctx.leaderWaitMs, untilDeadlineMs - PARK_MARGIN_MS);
    if (waitMs > 0) await ctx.node.awaitLeader(unreachableId, waitMs);
  }
  return route(ctx, call);
}

/** toStatus maps a failure and logs the ones that are server bugs. */
export function toStatus(ctx: ServerContext, err: unknown, method: string): ApiError {
  const hint = leaderHint(ctx);
  // A stopping leader must not redirect clients back to itself.
  const status = statusForError(err, err instanceof NodeStoppedError && hint?.id === ctx.node.id ? null : hint);
  if (status.code === grpc.status.INTERNAL) ctx.logger.error({ err, method }, 'request failed with an internal error');
  return status;
}

/**
 * unary adapts an async handler. `validate` runs first (bad input never leaves
 * this node); `local` serves on the leader; anything else is forwarded.
 */
export function unary<Req, Res, V>(
  ctx: ServerContext,
  service: ApiServiceName,
  method: string,
  validate: (req: Req) => V,
  local: (valid: V, call: grpc.ServerUnaryCall<Req, Res>, caller: Caller) => Promise<Res>,
  forwardExtraMs: (valid: V) => number = () => 0,
): grpc.handleUnaryCall<Req, Res> {
  const here = async (valid: V, call: grpc.ServerUnaryCall<Req, Res>): Promise<Res> => local(valid, call, await callerAtLeader(ctx, call));
  const run = async (call: grpc.ServerUnaryCall<Req, Res>): Promise<Res> => {
    const valid = validate(call.request);
    let where = await routeOrPark(ctx, call, null);
    if (where.kind === 'local') return here(valid, call);
    const credentials = forwardingMetadata(call, ctx.auth);
    try {
      return await ctx.forwarder.unary<Req, Res>(service, method, call.request, call, where.leader, forwardExtraMs(valid), credentials);
    } catch (err) {
      if (!(err instanceof LeaderUnreachableError)) throw err;
      // The leader we knew is gone and the call never reached it: wait (bounded) for its successor, once.
      where = await routeOrPark(ctx, call, err.leader.id);
      if (where.kind === 'local') return here(valid, call);
      if (where.leader.id === err.leader.id) throw err.status;
      return ctx.forwarder.unary<Req, Res>(service, method, call.request, call, where.leader, forwardExtraMs(valid), credentials);
    }
  };
  return servedBy(ctx, method, run);
}

/**
 * servedBy adapts an async handler; it is always served by this node
 * (Cluster.Status, and unary's own routing). Every call passes Admission
 * first: over a rate or in-flight limit it is refused with RESOURCE_EXHAUSTED
 * before anything else happens.
 */
export function servedBy<Req, Res>(
  ctx: ServerContext,
  method: string,
  run: (call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res>,
): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    const reply = (err: grpc.StatusObject | null, res?: Res): void => {
      try {
        if (err === null) callback(null, res);
        else callback(err);
      } catch (e) {
        ctx.logger.error({ err: e, method }, 'sending a reply failed');
      }
    };
    let pending: Promise<Res>;
    try {
      pending = ctx.admission.admitUnary(call, forwardedFor(ctx, call), () => run(call));
    } catch (err) {
      pending = Promise.reject(err);
    }
    pending.then(
      (res) => reply(null, res),
      (err: unknown) => reply(toStatus(ctx, err, method).toStatus()),
    );
  };
}

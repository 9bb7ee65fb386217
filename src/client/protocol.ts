import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { loadSync, type Options } from '@grpc/proto-loader';
import {
  DeadlineExceededError,
  InternalError,
  InvalidArgumentError,
  LeaseIdConflictError,
  LeaseNotFoundError,
  LockConflictError,
  LockHeldError,
  PermissionDeniedError,
  ResourceExhaustedError,
  UnauthenticatedError,
  type LockHolder,
  type LockMode,
  type RaftlockError,
  MembershipError,
} from './errors.js';

/**
 * protocol is the client's one wrapper around gRPC: it loads
 * proto/raftlock.proto (on its own — the client never imports src/server),
 * makes unary calls with a per-attempt timeout and AbortSignal cancellation,
 * opens the KeepAlive stream, and reads statuses (leader hints, lock holders)
 * into dispositions: retry elsewhere, or fail with a typed error. Nothing
 * gRPC-shaped leaves src/client: connection.ts and keepAliveStream.ts are the
 * only other files that see grpc types, and they never hand them to users.
 */

/** PROTO_PATH: the public API definition, found relative to this module so any working directory works. */
export const PROTO_PATH = join(import.meta.dirname, '..', '..', 'proto', 'raftlock.proto');

/** LOADER_OPTIONS: camelCase fields, 64-bit integers as decimal strings (never lossy), enums by name, defaults present. */
const LOADER_OPTIONS: Options = Object.freeze({ keepCase: false, longs: String, enums: String, defaults: true, oneofs: true });

const PACKAGE = 'raftlock.v1';

/** Wire is a 64-bit integer as decoded (`longs: String`): a decimal string. */
export type Wire64 = string;
/** WireMode is a LockMode as decoded: its name (or the number of a value this proto does not define). */
export type WireMode = 'EXCLUSIVE' | 'SHARED' | number;

export interface GrantRequest { readonly ttlMs: Wire64; readonly leaseId: Wire64 }
export interface GrantResponse { readonly leaseId: Wire64; readonly ttlMs: Wire64 }
export interface KeepAliveRequest { readonly leaseId: Wire64 }
export interface KeepAliveResponse { readonly leaseId: Wire64; readonly ttlMs: Wire64 }
export interface RevokeRequest { readonly leaseId: Wire64 }
export interface RevokeResponse { readonly locksReleased: readonly string[] }
export interface TimeToLiveRequest { readonly leaseId: Wire64 }
export interface TimeToLiveResponse { readonly leaseId: Wire64; readonly ttlMs: Wire64; readonly remainingMs: Wire64; readonly locks: readonly string[] }
export type ListLeasesRequest = Record<string, never>;
export interface ListLeasesResponse { readonly leases: readonly { readonly leaseId: Wire64; readonly ttlMs: Wire64 }[] }
export interface AcquireRequest { readonly name: string; readonly leaseId: Wire64; readonly mode: WireMode; readonly waitMs: Wire64 }
export interface AcquireResponse { readonly token: Wire64; readonly name: string; readonly leaseId: Wire64; readonly mode: WireMode; readonly existing: boolean }
export interface ReleaseRequest { readonly name: string; readonly leaseId: Wire64; readonly token: Wire64 }
export type ReleaseResponse = Record<string, never>;
export interface GetLockRequest { readonly name: string }
export interface GetLockResponse {
  readonly name: string;
  readonly holders: readonly { readonly leaseId: Wire64; readonly token: Wire64; readonly mode: WireMode }[];
  readonly waiters: readonly { readonly leaseId: Wire64; readonly mode: WireMode }[];
}
export type StatusRequest = Record<string, never>;
export interface StatusResponse {
  readonly id: string;
  readonly role: string;
  readonly term: Wire64;
  readonly leader: string;
  readonly commitIndex: Wire64;
  readonly appliedIndex: Wire64;
  readonly snapshotIndex: Wire64;
  readonly members: readonly MemberWire[];
}

export interface MemberWire {
  readonly id: string;
  readonly clientAddress: string;
  readonly peerAddress: string;
  readonly role: string;
  readonly matchIndex: Wire64;
}
export type ListMembersRequest = Record<string, never>;
export interface ListMembersResponse { readonly leader: string; readonly leaderLastIndex: Wire64; readonly members: readonly MemberWire[] }
export interface AddMemberRequest { readonly id: string; readonly clientAddress: string; readonly peerAddress: string }
export interface MemberIdRequest { readonly id: string }
export interface MemberChangeResponse { readonly index: Wire64; readonly members: readonly MemberWire[] }
export interface TransferLeaderResponse { readonly leader: string }
export type WirePermission = 'PERMISSION_READ' | 'PERMISSION_LOCK' | 'PERMISSION_ADMIN' | 'PERMISSION_UNSPECIFIED' | number;
export interface WhoAmIResponse { readonly user: string; readonly via: string; readonly clusterAdmin: boolean; readonly authEnabled: boolean }
export interface AuthChangeResponse { readonly message: string }
export interface TokenIssueResponse { readonly tokenId: string; readonly token: string; readonly user: string }
export interface AuthListResponse {
  readonly users: readonly { readonly user: string; readonly roles: readonly string[] }[];
  readonly roles: readonly { readonly role: string; readonly grants: readonly { readonly permission: WirePermission; readonly prefix: string }[] }[];
  readonly tokens: readonly { readonly tokenId: string; readonly user: string }[];
}
type UserReq = { readonly user: string };
type RoleReq = { readonly role: string };
type UserRoleReq = { readonly user: string; readonly role: string };
type RolePermissionReq = { readonly role: string; readonly permission: WirePermission; readonly prefix: string };

/** UnaryMethods: every unary method of the public API with its request and response shapes. */
export interface UnaryMethods {
  'Lease/Grant': [GrantRequest, GrantResponse];
  'Lease/Revoke': [RevokeRequest, RevokeResponse];
  'Lease/TimeToLive': [TimeToLiveRequest, TimeToLiveResponse];
  'Lease/List': [ListLeasesRequest, ListLeasesResponse];
  'Lock/Acquire': [AcquireRequest, AcquireResponse];
  'Lock/Release': [ReleaseRequest, ReleaseResponse];
  'Lock/Get': [GetLockRequest, GetLockResponse];
  'Cluster/Status': [StatusRequest, StatusResponse];
  'Members/List': [ListMembersRequest, ListMembersResponse];
  'Members/Add': [AddMemberRequest, MemberChangeResponse];
  'Members/Promote': [MemberIdRequest, MemberChangeResponse];
  'Members/Remove': [MemberIdRequest, MemberChangeResponse];
  'Members/TransferLeader': [MemberIdRequest, TransferLeaderResponse];
  'Auth/WhoAmI': [Record<string, never>, WhoAmIResponse];
  'Auth/UserAdd': [UserReq, AuthChangeResponse];
  'Auth/UserRemove': [UserReq, AuthChangeResponse];
  'Auth/UserGrantRole': [UserRoleReq, AuthChangeResponse];
  'Auth/UserRevokeRole': [UserRoleReq, AuthChangeResponse];
  'Auth/RoleAdd': [RoleReq, AuthChangeResponse];
  'Auth/RoleRemove': [RoleReq, AuthChangeResponse];
  'Auth/RoleGrant': [RolePermissionReq, AuthChangeResponse];
  'Auth/RoleRevoke': [RolePermissionReq, AuthChangeResponse];
  'Auth/TokenIssue': [UserReq, TokenIssueResponse];
  'Auth/TokenRevoke': [{ readonly tokenId: string }, AuthChangeResponse];
  'Auth/List': [Record<string, never>, AuthListResponse];
}
export type UnaryMethod = keyof UnaryMethods;
export type RequestOf<M extends UnaryMethod> = UnaryMethods[M][0];
export type ResponseOf<M extends UnaryMethod> = UnaryMethods[M][1];

let definitions: grpc.GrpcObject | null = null;

/** methodDefinition returns a method's path and serializers, loading the proto file once. */
function methodDefinition<Req, Res>(method: UnaryMethod | 'Lease/KeepAlive' | 'Maintenance/Snapshot'): grpc.MethodDefinition<Req, Res> {
  if (definitions === null) definitions = loadSync(PROTO_PATH, LOADER_OPTIONS) as unknown as grpc.GrpcObject;
  const [service, name] = method.split('/') as [string, string];
  const definition = (definitions[`${PACKAGE}.${service}`] as Record<string, unknown> | undefined)?.[name];
  if (definition === undefined) throw new Error(`${PROTO_PATH} does not define ${PACKAGE}.${service}/${name}`);
  return definition as grpc.MethodDefinition<Req, Res>;
}

/**
 * newChannel opens one gRPC client (one channel) to an address; reconnects
 * quickly so a node that returns is used soon. With a bearer token every call
 * on it (the KeepAlive stream too) carries `authorization: Bearer <token>` —
 * added by an interceptor rather than call credentials, which grpc-js sends
 * only over TLS (plaintext is still allowed for local development).
 */
export function newChannel(address: string, credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(), token?: string): grpc.Client {
  return new grpc.Client(address, credentials, {
    ...(token === undefined ? {} : { interceptors: [bearerInterceptor(token)] }),
    'grpc.enable_retries': 0,
    'grpc.enable_channelz': 0,
    'grpc.initial_reconnect_backoff_ms': 100,
    'grpc.max_reconnect_backoff_ms': 1_000,
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
  });
}

function bearerInterceptor(token: string): grpc.Interceptor {
  const value = `Bearer ${token}`;
  return (options, nextCall) =>
    new grpc.InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        metadata.set('authorization', value);
        next(metadata, listener);
      },
    });
}

/**
 * CallFailure is a failed attempt as gRPC reported it. `local` says whether
 * this side ended the call: 'timeout' (the attempt's time ran out) or
 * 'aborted' (the caller's signal). Internal: mapped before reaching users.
 */
export class CallFailure extends Error {
  override readonly name = 'CallFailure';

  constructor(
    readonly code: grpc.status,
    readonly details: string,
    readonly metadata: grpc.Metadata,
    readonly local: 'timeout' | 'aborted' | null,
    readonly address: string,
  ) {
    super(`${address}: ${details}`);
  }
}

/** GRPC_DEADLINE_GRACE_MS: the deadline sent to the server trails our own timer, so a local timeout is always ours to see first. */
const GRPC_DEADLINE_GRACE_MS = 1_000;

/**
 * unaryCall makes one attempt of a unary call. It settles exactly once: with
 * the response, or a CallFailure — also when `timeoutMs` passes (the call is
 * cancelled) or `signal` aborts (the in-flight call is cancelled).
 */
export function unaryCall<M extends UnaryMethod>(
  channel: grpc.Client,
  address: string,
  method: M,
  request: RequestOf<M>,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<ResponseOf<M>> {
  const definition = methodDefinition<RequestOf<M>, ResponseOf<M>>(method);
  return new Promise<ResponseOf<M>>((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(new CallFailure(grpc.status.CANCELLED, 'cancelled before it was sent', new grpc.Metadata(), 'aborted', address));
      return;
    }
    let local: 'timeout' | 'aborted' | null = null;
    const onAbort = (): void => {
      local ??= 'aborted';
      call.cancel();
    };
    const timer = setTimeout(() => {
      local ??= 'timeout';
      call.cancel();
    }, Math.max(1, timeoutMs));
    const call = channel.makeUnaryRequest<RequestOf<M>, ResponseOf<M>>(
      definition.path,
      definition.requestSerialize,
      definition.responseDeserialize,
      request,
      new grpc.Metadata(),
      { deadline: Date.now() + timeoutMs + GRPC_DEADLINE_GRACE_MS },
      (err, response) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (err !== null) reject(new CallFailure(err.code, err.details, err.metadata ?? new grpc.Metadata(), local, address));
        else if (response === undefined) reject(new CallFailure(grpc.status.INTERNAL, `no ${method} response`, new grpc.Metadata(), local, address));
        else resolve(response);
      },
    );
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** KeepAliveCall is the client side of one KeepAlive stream. */
export type KeepAliveCall = grpc.ClientDuplexStream<KeepAliveRequest, KeepAliveResponse>;

/** openKeepAlive opens a KeepAlive stream on a channel (no deadline: it lives as long as leases need it). */
export function openKeepAlive(channel: grpc.Client): KeepAliveCall {
  const definition = methodDefinition<KeepAliveRequest, KeepAliveResponse>('Lease/KeepAlive');
  return channel.makeBidiStreamRequest(definition.path, definition.requestSerialize, definition.responseDeserialize, new grpc.Metadata(), {});
}

/** SnapshotChunk is one message of Maintenance.Snapshot: header fields in the first only, then data in order. */
export interface SnapshotChunk {
  readonly clusterId: string;
  readonly index: Wire64;
  readonly term: Wire64;
  readonly totalBytes: Wire64;
  readonly crc32: number;
  readonly data: Uint8Array;
}

/** SnapshotCall is the client side of one Maintenance.Snapshot stream. */
export type SnapshotCall = grpc.ClientReadableStream<SnapshotChunk>;

/** openSnapshot starts a Maintenance.Snapshot stream that the server must finish within `timeoutMs`. */
export function openSnapshot(channel: grpc.Client, timeoutMs: number): SnapshotCall {
  const definition = methodDefinition<Record<string, never>, SnapshotChunk>('Maintenance/Snapshot');
  return channel.makeServerStreamRequest(definition.path, definition.requestSerialize, definition.responseDeserialize, {}, new grpc.Metadata(), {
    deadline: Date.now() + timeoutMs,
  });
}

/** streamFailure reads a stream's 'error' event into a CallFailure. */
export function streamFailure(err: unknown, address: string): CallFailure {
  const e = err as Partial<grpc.ServiceError>;
  return new CallFailure(e.code ?? grpc.status.UNAVAILABLE, e.details ?? String(err), e.metadata ?? new grpc.Metadata(), null, address);
}

// ---------------------------------------------------------------- statuses

/** LeaderHint is the leader a node named in an UNAVAILABLE answer. */
export interface LeaderHint {
  readonly address: string;
  readonly id: string | null;
}

/** leaderHintOf reads `raftlock-leader` / `raftlock-leader-id` from a failure, or null when it names none. */
export function leaderHintOf(failure: CallFailure): LeaderHint | null {
  const address = firstString(failure.metadata, 'raftlock-leader');
  if (address === null || address === '') return null;
  return { address, id: firstString(failure.metadata, 'raftlock-leader-id') };
}

/** ErrorContext names what a call was about, for the typed error. */
export interface ErrorContext {
  readonly leaseId?: string;
  readonly lockName?: string;
  /** waitMs: set for an Acquire that waited; a server DEADLINE_EXCEEDED then means the wait ran out. */
  readonly waitMs?: number;
  /** member: set for a membership call; refusals then become MembershipError. */
  readonly member?: string;
}

/**
 * Disposition is what to do after a failed attempt:
 * - 'retry': the request may not have been served (no leader, node down or
 *   unreachable, attempt timed out, outcome unknown); safe to repeat only if
 *   the request is idempotent. `leader` is a redirect hint, if any.
 * - 'fail': a definitive answer, as the typed error the user sees.
 */
export type Disposition =
  | { readonly kind: 'retry'; readonly leader: LeaderHint | null; readonly reason: string }
  | { readonly kind: 'fail'; readonly error: RaftlockError };

/** dispose classifies a failed attempt (the caller handles local aborts before asking). */
export function dispose(failure: CallFailure, context: ErrorContext): Disposition {
  const retry = (reason: string): Disposition => ({ kind: 'retry', leader: failure.code === grpc.status.UNAVAILABLE ? leaderHintOf(failure) : null, reason });
  if (failure.local === 'timeout') return retry(`${failure.address} did not answer in time`);
  const details = failure.details;
  if (context.member !== undefined) {
    const reason = failure.code === grpc.status.NOT_FOUND ? 'unknown-member'
      : failure.code === grpc.status.ALREADY_EXISTS ? 'already-member'
      : failure.code === grpc.status.FAILED_PRECONDITION ? 'refused' : null;
    if (reason !== null) return { kind: 'fail', error: new MembershipError(details, context.member, reason) };
  }
  switch (failure.code) {
    case grpc.status.UNAVAILABLE:
      return retry(`${failure.address}: ${details}`);
    case grpc.status.CANCELLED:
      // Not cancelled by us (local === null): the server or a proxy ended the call.
      return retry(`${failure.address} cancelled the call: ${details}`);
    case grpc.status.DEADLINE_EXCEEDED:
      if (context.waitMs !== undefined && context.waitMs > 0) {
        return { kind: 'fail', error: new DeadlineExceededError(details, context.lockName ?? '', context.waitMs) };
      }
      return retry(`${failure.address} timed out serving the call: ${details}`);
    case grpc.status.NOT_FOUND:
      return { kind: 'fail', error: new LeaseNotFoundError(details, context.leaseId ?? '') };
    case grpc.status.FAILED_PRECONDITION: {
      const holders = holdersOf(failure);
      if (holders !== null && context.lockName !== undefined && context.waitMs === 0) {
        return { kind: 'fail', error: new LockHeldError(details, context.lockName, holders.holders, holders.count) };
      }
      return { kind: 'fail', error: new LockConflictError(details) };
    }
    case grpc.status.ALREADY_EXISTS:
      return { kind: 'fail', error: new LeaseIdConflictError(details) };
    case grpc.status.RESOURCE_EXHAUSTED:
      return { kind: 'fail', error: new ResourceExhaustedError(details, retryAfterMsOf(failure)) };
    case grpc.status.UNAUTHENTICATED:
      return { kind: 'fail', error: new UnauthenticatedError(details) };
    case grpc.status.PERMISSION_DENIED:
      return { kind: 'fail', error: new PermissionDeniedError(details) };
    case grpc.status.INVALID_ARGUMENT:
    case grpc.status.OUT_OF_RANGE:
      return { kind: 'fail', error: new InvalidArgumentError(details) };
    case grpc.status.INTERNAL:
    case grpc.status.UNKNOWN:
      // A connection torn down mid-call surfaces as a stream reset: the outcome is unknown, not a server bug.
      if (/RST_STREAM|connection (dropped|closed|reset)|ECONNRESET|socket/i.test(details)) return retry(`${failure.address}: ${details}`);
      return { kind: 'fail', error: new InternalError(`server ${failure.address} failed: ${details}`) };
    default:
      return { kind: 'fail', error: new InternalError(`server ${failure.address} refused the call: ${details}`) };
  }
}

/** RETRY_AFTER_METADATA: the trailer in which a node's per-client limits say how long to wait before asking again. */
export const RETRY_AFTER_METADATA = 'raftlock-retry-after-ms';

/** MAX_RETRY_AFTER_MS caps a hint, so that no answer can park a client for longer than this. */
export const MAX_RETRY_AFTER_MS = 10_000;

/** retryAfterMsOf reads `raftlock-retry-after-ms` (a positive integer, capped at MAX_RETRY_AFTER_MS), or null when absent or malformed. */
export function retryAfterMsOf(failure: CallFailure): number | null {
  const raw = firstString(failure.metadata, RETRY_AFTER_METADATA);
  if (raw === null || !/^[0-9]{1,9}$/.test(raw)) return null;
  const ms = Number(raw);
  return ms > 0 ? Math.min(ms, MAX_RETRY_AFTER_MS) : null;
}

/** holdersOf reads `raftlock-holders` (JSON [{leaseId, token, mode}]) and `raftlock-holders-count`. */
function holdersOf(failure: CallFailure): { holders: LockHolder[]; count: number } | null {
  const raw = firstString(failure.metadata, 'raftlock-holders');
  if (raw === null) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return null;
  }
  if (!Array.isArray(parsed)) return null;
  const holders: LockHolder[] = [];
  for (const h of parsed as { leaseId?: unknown; token?: unknown; mode?: unknown }[]) {
    const token = exactInteger(h.token);
    const leaseId = exactInteger(h.leaseId);
    if (token === null || leaseId === null) continue;
    holders.push({ leaseId: leaseId.toString(), token, mode: h.mode === 'shared' || h.mode === 'SHARED' ? 'shared' : 'exclusive' });
  }
  const count = Number(firstString(failure.metadata, 'raftlock-holders-count') ?? holders.length);
  return { holders, count: Number.isSafeInteger(count) ? count : holders.length };
}

function exactInteger(value: unknown): bigint | null {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  if (typeof value === 'string' && /^[0-9]{1,20}$/.test(value)) return BigInt(value);
  return null;
}

function firstString(md: grpc.Metadata, key: string): string | null {
  const values = md.get(key);
  if (values.length === 0) return null;
  const v = values[0]!;
  return typeof v === 'string' ? v : v.toString('utf8');
}

// ---------------------------------------------------------------- wire conversions

/** modeToWire / modeFromWire convert between the API's lower-case modes and the proto enum. */
export function modeToWire(mode: LockMode): WireMode {
  return mode === 'shared' ? 'SHARED' : 'EXCLUSIVE';
}

export function modeFromWire(mode: WireMode): LockMode {
  return mode === 'SHARED' || mode === 1 ? 'shared' : 'exclusive';
}

/** bigintFromWire reads a uint64 decimal string exactly. */
export function bigintFromWire(value: Wire64): bigint {
  return BigInt(value);
}

/** numberFromWire reads a duration or count (always far below 2^53). */
export function numberFromWire(value: Wire64): number {
  return Number(value);
}

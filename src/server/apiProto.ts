import { join } from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import { loadSync, type Options } from '@grpc/proto-loader';

/**
 * apiProto loads proto/raftlock.proto (found relative to this module, so any
 * working directory works) and exposes the public services and their wire
 * shapes as proto-loader decodes them.
 */

/** API_PROTO_PATH is the absolute path of the public API definition. */
export const API_PROTO_PATH = join(import.meta.dirname, '..', '..', 'proto', 'raftlock.proto');

/**
 * API_PROTO_LOADER_OPTIONS: camelCase field names; 64-bit integers as decimal
 * strings, so nothing is lossy before validation (validation.ts) decides
 * whether a value fits; enums by name (an unknown enum value arrives as its
 * number); every scalar field present with its default.
 */
export const API_PROTO_LOADER_OPTIONS: Options = Object.freeze({
  keepCase: false,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
});

/** API_PACKAGE is the proto package of the public API. */
export const API_PACKAGE = 'raftlock.v1';

export type ApiServiceName = 'Lease' | 'Lock' | 'Cluster' | 'Maintenance' | 'Members' | 'Auth';

/** Long is a 64-bit integer as proto-loader decodes it (`longs: String`); a number is accepted when encoding. */
export type Long = string;
/** WireMode is a LockMode as decoded: its name, or the number of a value this proto does not define. */
export type WireMode = 'EXCLUSIVE' | 'SHARED' | number;

export interface GrantRequest { readonly ttlMs: Long; readonly leaseId: Long }
export interface GrantResponse { readonly leaseId: Long; readonly ttlMs: Long }
export interface KeepAliveRequest { readonly leaseId: Long }
export interface KeepAliveResponse { readonly leaseId: Long; readonly ttlMs: Long }
export interface RevokeRequest { readonly leaseId: Long }
export interface RevokeResponse { readonly locksReleased: readonly string[] }
export interface TimeToLiveRequest { readonly leaseId: Long }
export interface TimeToLiveResponse { readonly leaseId: Long; readonly ttlMs: Long; readonly remainingMs: Long; readonly locks: readonly string[] }
export type ListLeasesRequest = Record<string, never>;
export interface LeaseStatus { readonly leaseId: Long; readonly ttlMs: Long }
export interface ListLeasesResponse { readonly leases: readonly LeaseStatus[] }

export interface AcquireRequest { readonly name: string; readonly leaseId: Long; readonly mode: WireMode; readonly waitMs: Long }
export interface AcquireResponse { readonly token: Long; readonly name: string; readonly leaseId: Long; readonly mode: WireMode; readonly existing: boolean }
export interface ReleaseRequest { readonly name: string; readonly leaseId: Long; readonly token: Long }
export type ReleaseResponse = Record<string, never>;
export interface GetLockRequest { readonly name: string }
export interface HolderWire { readonly leaseId: Long; readonly token: Long; readonly mode: WireMode }
export interface WaiterWire { readonly leaseId: Long; readonly mode: WireMode }
export interface GetLockResponse { readonly name: string; readonly holders: readonly HolderWire[]; readonly waiters: readonly WaiterWire[] }

export type StatusRequest = Record<string, never>;
export interface MemberWire {
  readonly id: string;
  readonly clientAddress: string;
  readonly peerAddress: string;
  readonly role?: string;
  readonly matchIndex?: Long;
}

export type ListMembersRequest = Record<string, never>;
export interface ListMembersResponse { readonly leader: string; readonly leaderLastIndex: Long; readonly members: readonly MemberWire[] }
export interface AddMemberRequest { readonly id: string; readonly clientAddress: string; readonly peerAddress: string }
export interface MemberIdRequest { readonly id: string }
export interface MemberChangeResponse { readonly index: Long; readonly members: readonly MemberWire[] }
export interface TransferLeaderResponse { readonly leader: string }
export interface StatusResponse {
  readonly id: string;
  readonly role: string;
  readonly term: Long;
  readonly leader: string;
  readonly commitIndex: Long;
  readonly appliedIndex: Long;
  readonly snapshotIndex: Long;
  readonly members: readonly MemberWire[];
}

export type SnapshotRequest = Record<string, never>;
/** SnapshotChunk: header fields in the first message only; data in order, at most MAINTENANCE_CHUNK_BYTES each. */
export interface SnapshotChunk {
  readonly clusterId: string;
  readonly index: Long;
  readonly term: Long;
  readonly totalBytes: Long;
  readonly crc32: number;
  readonly data: Uint8Array;
}
export type WirePermission = 'PERMISSION_UNSPECIFIED' | 'PERMISSION_READ' | 'PERMISSION_LOCK' | 'PERMISSION_ADMIN' | number;
export interface WhoAmIResponse { readonly user: string; readonly via: string; readonly clusterAdmin: boolean; readonly authEnabled: boolean }
export interface UserRequest { readonly user: string }
export interface RoleRequest { readonly role: string }
export interface UserRoleRequest { readonly user: string; readonly role: string }
export interface RolePermissionRequest { readonly role: string; readonly permission: WirePermission; readonly prefix: string }
export interface TokenIssueRequest { readonly user: string }
export interface TokenIssueResponse { readonly tokenId: string; readonly token: string; readonly user: string }
export interface TokenRevokeRequest { readonly tokenId: string }
export interface AuthChangeResponse { readonly message: string }
export interface AuthListResponse {
  readonly users: ReadonlyArray<{ readonly user: string; readonly roles: readonly string[] }>;
  readonly roles: ReadonlyArray<{ readonly role: string; readonly grants: ReadonlyArray<{ readonly permission: WirePermission; readonly prefix: string }> }>;
  readonly tokens: ReadonlyArray<{ readonly tokenId: string; readonly user: string }>;
}

export interface ApiServices {
  readonly Lease: grpc.ServiceDefinition;
  readonly Lock: grpc.ServiceDefinition;
  readonly Cluster: grpc.ServiceDefinition;
  readonly Maintenance: grpc.ServiceDefinition;
  readonly Members: grpc.ServiceDefinition;
  readonly Auth: grpc.ServiceDefinition;
}

const METHODS: Record<ApiServiceName, readonly string[]> = {
  Lease: ['Grant', 'KeepAlive', 'Revoke', 'TimeToLive', 'List'],
  Lock: ['Acquire', 'Release', 'Get'],
  Cluster: ['Status'],
  Maintenance: ['Snapshot'],
  Members: ['List', 'Add', 'Promote', 'Remove', 'TransferLeader'],
  Auth: ['WhoAmI', 'UserAdd', 'UserRemove', 'UserGrantRole', 'UserRevokeRole', 'RoleAdd', 'RoleRemove', 'RoleGrant', 'RoleRevoke', 'TokenIssue', 'TokenRevoke', 'List'],
};

let cached: ApiServices | null = null;

/** apiServices returns the public service definitions, loading the proto file once. */
export function apiServices(): ApiServices {
  if (cached === null) {
    const pkg = loadSync(API_PROTO_PATH, API_PROTO_LOADER_OPTIONS);
    const load = (name: ApiServiceName): grpc.ServiceDefinition => {
      const service = pkg[`${API_PACKAGE}.${name}`];
      const missing = METHODS[name].filter((m) => service === undefined || !(m in service));
      if (missing.length > 0) {
        throw new Error(`${API_PROTO_PATH} does not define service ${API_PACKAGE}.${name} with methods ${missing.join(', ')}`);
      }
      return service as grpc.ServiceDefinition;
    };
    cached = Object.freeze({ Lease: load('Lease'), Lock: load('Lock'), Cluster: load('Cluster'), Maintenance: load('Maintenance'), Members: load('Members'), Auth: load('Auth') });
  }
  return cached;
}

/** methodOf returns the definition (path and serializers) of one method. */
export function methodOf<Req, Res>(service: ApiServiceName, method: string): grpc.MethodDefinition<Req, Res> {
  const definition = apiServices()[service][method];
  if (definition === undefined) throw new Error(`unknown method ${API_PACKAGE}.${service}/${method}`);
  return definition as grpc.MethodDefinition<Req, Res>;
}

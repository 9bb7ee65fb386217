import * as grpc from '@grpc/grpc-js';
import type { AuthCommand, AuthResult } from '../auth/authCommands.js';
import { MAX_PREFIX_BYTES, NAME_RULE, TOKEN_ID_RULE, isValidName, isValidTokenId } from '../auth/names.js';
import type { Permission } from '../auth/permissions.js';
import { isWellFormed, utf8ByteLength } from '../lock/lockName.js';
import { issueToken } from '../security/tokens.js';
import { isClusterAdmin, requireClusterAdmin } from './access.js';
import { ApiError } from './apiError.js';
import type {
  AuthChangeResponse,
  AuthListResponse,
  RolePermissionRequest,
  RoleRequest,
  TokenIssueRequest,
  TokenIssueResponse,
  TokenRevokeRequest,
  UserRequest,
  UserRoleRequest,
  WhoAmIResponse,
  WirePermission,
} from './apiProto.js';
import type { Caller } from './callerIdentity.js';
import { unary, type ServerContext } from './rpc.js';

/**
 * The Auth service: users, roles, grants and tokens. Every change is
 * validated here, then proposed through the log (the leader answers once it
 * applied it). Tokens are made here, on the leader, from crypto.randomBytes;
 * only their SHA-256 is proposed.
 */

/** TOKEN_ID_ATTEMPTS bounds retries when a random token id is taken (2^-64 per token each time). */
const TOKEN_ID_ATTEMPTS = 4;

export function authHandlers(ctx: ServerContext): grpc.UntypedServiceImplementation {
  const change = <Req>(method: string, toCommand: (req: Req) => AuthCommand, what: string): grpc.handleUnaryCall<Req, AuthChangeResponse> =>
    unary<Req, AuthChangeResponse, AuthCommand>(ctx, 'Auth', method, toCommand, async (command, _call, caller) => {
      requireClusterAdmin(ctx, caller, what);
      return { message: applied(await ctx.node.proposeAuth(command)) };
    });
  return {
    WhoAmI: unary<unknown, WhoAmIResponse, null>(ctx, 'Auth', 'WhoAmI', () => null, (_v, _call, caller) => Promise.resolve(whoAmI(ctx, caller))),
    UserAdd: change<UserRequest>('UserAdd', (r) => ({ type: 'user-add', user: name(r.user, 'user') }), 'add users'),
    UserRemove: change<UserRequest>('UserRemove', (r) => ({ type: 'user-remove', user: name(r.user, 'user') }), 'remove users'),
    UserGrantRole: change<UserRoleRequest>('UserGrantRole', (r) => ({ type: 'user-grant-role', user: name(r.user, 'user'), role: name(r.role, 'role') }), 'give users roles'),
    UserRevokeRole: change<UserRoleRequest>('UserRevokeRole', (r) => ({ type: 'user-revoke-role', user: name(r.user, 'user'), role: name(r.role, 'role') }), 'take roles from users'),
    RoleAdd: change<RoleRequest>('RoleAdd', (r) => ({ type: 'role-add', role: name(r.role, 'role') }), 'add roles'),
    RoleRemove: change<RoleRequest>('RoleRemove', (r) => ({ type: 'role-remove', role: name(r.role, 'role') }), 'remove roles'),
    RoleGrant: change<RolePermissionRequest>('RoleGrant', (r) => ({ type: 'role-grant', role: name(r.role, 'role'), permission: permission(r.permission), prefix: prefix(r.prefix) }), 'grant permissions'),
    RoleRevoke: change<RolePermissionRequest>('RoleRevoke', (r) => ({ type: 'role-revoke', role: name(r.role, 'role'), permission: permission(r.permission), prefix: prefix(r.prefix) }), 'revoke permissions'),
    TokenRevoke: change<TokenRevokeRequest>('TokenRevoke', (r) => ({ type: 'token-revoke', tokenId: tokenId(r.tokenId) }), 'revoke tokens'),
    TokenIssue: unary<TokenIssueRequest, TokenIssueResponse, string>(ctx, 'Auth', 'TokenIssue', (r) => name(r.user, 'user'), async (user, _call, caller) => {
      requireClusterAdmin(ctx, caller, 'issue tokens');
      return issue(ctx, user);
    }),
    List: unary<unknown, AuthListResponse, null>(ctx, 'Auth', 'List', () => null, async (_v, _call, caller) => {
      requireClusterAdmin(ctx, caller, 'list users, roles and tokens');
      return ctx.node.read((_sm, auth) => ({
        users: auth.listUsers(),
        roles: auth.listRoles().map((r) => ({ role: r.role, grants: r.grants.map((g) => ({ permission: WIRE[g.permission], prefix: g.prefix })) })),
        tokens: auth.listTokens(),
      }));
    }),
  };
}

function whoAmI(ctx: ServerContext, caller: Caller): WhoAmIResponse {
  if (caller.kind === 'anonymous') return { user: '', via: '', clusterAdmin: true, authEnabled: false };
  return { user: caller.user, via: caller.via, clusterAdmin: isClusterAdmin(ctx, caller), authEnabled: true };
}

async function issue(ctx: ServerContext, user: string): Promise<TokenIssueResponse> {
  let last: AuthResult | null = null;
  for (let attempt = 0; attempt < TOKEN_ID_ATTEMPTS; attempt++) {
    const t = issueToken();
    last = await ctx.node.proposeAuth({ type: 'token-add', tokenId: t.tokenId, user, hash: t.hash });
    if (last.ok) return { tokenId: t.tokenId, token: t.token, user };
    if (last.code !== 'already-exists' || !/token id/.test(last.message)) break;
  }
  applied(last!);
  throw new ApiError(grpc.status.INTERNAL, 'internal error: no token issued');
}

/** applied returns the message of an applied change or throws the refusal as its status. */
function applied(result: AuthResult): string {
  if (result.ok) return result.message;
  throw new ApiError(REFUSAL_STATUS[result.code], result.message);
}

const REFUSAL_STATUS = {
  'not-found': grpc.status.NOT_FOUND,
  'already-exists': grpc.status.ALREADY_EXISTS,
  'limit-exceeded': grpc.status.RESOURCE_EXHAUSTED,
  'invalid-argument': grpc.status.INVALID_ARGUMENT,
} as const;

const WIRE: Record<Permission, WirePermission> = { read: 'PERMISSION_READ', lock: 'PERMISSION_LOCK', admin: 'PERMISSION_ADMIN' };
const FROM_WIRE: Record<string, Permission> = { PERMISSION_READ: 'read', PERMISSION_LOCK: 'lock', PERMISSION_ADMIN: 'admin' };

function name(value: unknown, what: 'user' | 'role'): string {
  if (typeof value !== 'string' || !isValidName(value)) throw invalid(`${what} name ${JSON.stringify(value)} is invalid; accepted: ${NAME_RULE}`);
  return value;
}

function permission(value: WirePermission): Permission {
  const p = typeof value === 'string' ? FROM_WIRE[value] : undefined;
  if (p === undefined) throw invalid(`permission ${JSON.stringify(value)} is invalid; accepted: PERMISSION_READ, PERMISSION_LOCK, PERMISSION_ADMIN`);
  return p;
}

function prefix(value: unknown): string {
  if (typeof value !== 'string' || !isWellFormed(value) || utf8ByteLength(value) > MAX_PREFIX_BYTES || /\p{Cc}/u.test(value)) {
    throw invalid(`prefix must be 0 to ${MAX_PREFIX_BYTES} bytes of UTF-8 without control characters ("" = every name)`);
  }
  return value;
}

function tokenId(value: unknown): string {
  if (typeof value !== 'string' || !isValidTokenId(value)) throw invalid(`token id ${JSON.stringify(value)} is invalid; accepted: ${TOKEN_ID_RULE}`);
  return value;
}

function invalid(message: string): ApiError {
  return new ApiError(grpc.status.INVALID_ARGUMENT, message);
}

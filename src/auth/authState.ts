import { decodeAuthCommand } from './authCodec.js';
import type { AuthCommand, AuthRefusal, AuthResult } from './authCommands.js';
import { resolveAuthLimits, type AuthLimits } from './authLimits.js';
import { MAX_PREFIX_BYTES, NAME_RULE, ROOT_USER, TOKEN_ID_RULE, isValidName, isValidTokenId } from './names.js';
import { compareGrants, covers, type Permission, type RoleGrant } from './permissions.js';

/** TokenRecord: what the cluster keeps of an issued token — its owner and the SHA-256 of the token string. */
export interface TokenRecord {
  readonly user: string;
  readonly hash: Uint8Array;
}

/**
 * AuthState is the replicated table of users, roles, role grants and token
 * hashes. Like the lock state machine it is pure and deterministic: applied
 * from the log in the same order on every member, it gives every member the
 * same answers, so any node enforces the same rules. Refusals change nothing.
 *
 * The built-in user `root` always exists and may do everything; it cannot be
 * added, removed or given roles (it needs none). Removing a user drops its
 * roles and revokes its tokens; removing a role takes it from every user.
 */
export class AuthState {
  readonly limits: AuthLimits;
  /** users: name -> role names. */
  readonly users = new Map<string, Set<string>>();
  /** roles: name -> grants, kept sorted (compareGrants). */
  readonly roles = new Map<string, RoleGrant[]>();
  readonly tokens = new Map<string, TokenRecord>();

  constructor(limits: Partial<AuthLimits> = {}) {
    this.limits = resolveAuthLimits(limits);
  }

  /** isEmpty: nothing was ever configured (snapshots then keep their pre-auth format). */
  isEmpty(): boolean {
    return this.users.size === 0 && this.roles.size === 0 && this.tokens.size === 0;
  }

  /** apply decodes and applies one auth entry; CorruptAuthCommandError before any change if the bytes are bad. */
  apply(data: Uint8Array): AuthResult {
    return this.applyCommand(decodeAuthCommand(data));
  }

  applyCommand(c: AuthCommand): AuthResult {
    switch (c.type) {
      case 'user-add':
        return this.userAdd(c.user);
      case 'user-remove':
        return this.userRemove(c.user);
      case 'role-add':
        return this.roleAdd(c.role);
      case 'role-remove':
        return this.roleRemove(c.role);
      case 'role-grant':
        return this.roleGrant(c.role, { permission: c.permission, prefix: c.prefix });
      case 'role-revoke':
        return this.roleRevoke(c.role, { permission: c.permission, prefix: c.prefix });
      case 'user-grant-role':
        return this.userGrantRole(c.user, c.role);
      case 'user-revoke-role':
        return this.userRevokeRole(c.user, c.role);
      case 'token-add':
        return this.tokenAdd(c.tokenId, c.user, c.hash);
      case 'token-revoke':
        return this.tokens.delete(c.tokenId) ? ok(`token ${c.tokenId} revoked`) : refuse('not-found', `token ${c.tokenId} not found`);
    }
  }

  /** hasUser: the user exists (root always does). */
  hasUser(user: string): boolean {
    return user === ROOT_USER || this.users.has(user);
  }

  token(tokenId: string): TokenRecord | null {
    return this.tokens.get(tokenId) ?? null;
  }

  /** permits: `user` holds `needed` on lock name `name` through one of its roles (root: always). */
  permits(user: string, needed: Permission, name: string): boolean {
    if (user === ROOT_USER) return true;
    const roles = this.users.get(user);
    if (roles === undefined) return false;
    for (const role of roles) {
      for (const grant of this.roles.get(role) ?? []) if (covers(grant, needed, name)) return true;
    }
    return false;
  }

  /** isClusterAdmin: admin on every name (the empty prefix) — manages users, roles, tokens and any lease. */
  isClusterAdmin(user: string): boolean {
    return this.permits(user, 'admin', '');
  }

  listUsers(): Array<{ user: string; roles: string[] }> {
    return [...this.users.keys()].sort().map((user) => ({ user, roles: [...this.users.get(user)!].sort() }));
  }

  listRoles(): Array<{ role: string; grants: RoleGrant[] }> {
    return [...this.roles.keys()].sort().map((role) => ({ role, grants: [...this.roles.get(role)!] }));
  }

  listTokens(): Array<{ tokenId: string; user: string }> {
    return [...this.tokens.keys()].sort().map((tokenId) => ({ tokenId, user: this.tokens.get(tokenId)!.user }));
  }

  private userAdd(user: string): AuthResult {
    if (!isValidName(user)) return refuse('invalid-argument', `user name ${JSON.stringify(user)} is invalid; accepted: ${NAME_RULE}`);
    if (this.hasUser(user)) return refuse('already-exists', user === ROOT_USER ? 'user root is built in' : `user ${user} already exists`);
    if (this.users.size >= this.limits.maxUsers) return refuse('limit-exceeded', `limit maxUsers reached (${this.limits.maxUsers}); remove unused users`);
    this.users.set(user, new Set());
    return ok(`user ${user} added`);
  }

  private userRemove(user: string): AuthResult {
    if (user === ROOT_USER) return refuse('invalid-argument', 'user root is built in and cannot be removed');
    if (!this.users.delete(user)) return refuse('not-found', `user ${user} not found`);
    let revoked = 0;
    for (const [id, t] of [...this.tokens]) {
      if (t.user === user) {
        this.tokens.delete(id);
        revoked++;
      }
    }
    return ok(`user ${user} removed with ${revoked} token(s)`);
  }

  private roleAdd(role: string): AuthResult {
    if (!isValidName(role)) return refuse('invalid-argument', `role name ${JSON.stringify(role)} is invalid; accepted: ${NAME_RULE}`);
    if (this.roles.has(role)) return refuse('already-exists', `role ${role} already exists`);
    if (this.roles.size >= this.limits.maxRoles) return refuse('limit-exceeded', `limit maxRoles reached (${this.limits.maxRoles}); remove unused roles`);
    this.roles.set(role, []);
    return ok(`role ${role} added`);
  }

  private roleRemove(role: string): AuthResult {
    if (!this.roles.delete(role)) return refuse('not-found', `role ${role} not found`);
    for (const roles of this.users.values()) roles.delete(role);
    return ok(`role ${role} removed`);
  }

  private roleGrant(role: string, grant: RoleGrant): AuthResult {
    const grants = this.roles.get(role);
    if (grants === undefined) return refuse('not-found', `role ${role} not found`);
    if (new TextEncoder().encode(grant.prefix).length > MAX_PREFIX_BYTES) {
      return refuse('invalid-argument', `prefix is longer than ${MAX_PREFIX_BYTES} bytes`);
    }
    if (grants.some((g) => compareGrants(g, grant) === 0)) return refuse('already-exists', `role ${role} already has ${describeGrant(grant)}`);
    if (grants.length >= this.limits.maxGrantsPerRole) return refuse('limit-exceeded', `limit maxGrantsPerRole reached (${this.limits.maxGrantsPerRole})`);
    grants.push(grant);
    grants.sort(compareGrants);
    return ok(`role ${role} granted ${describeGrant(grant)}`);
  }

  private roleRevoke(role: string, grant: RoleGrant): AuthResult {
    const grants = this.roles.get(role);
    if (grants === undefined) return refuse('not-found', `role ${role} not found`);
    const at = grants.findIndex((g) => compareGrants(g, grant) === 0);
    if (at < 0) return refuse('not-found', `role ${role} has no ${describeGrant(grant)}`);
    grants.splice(at, 1);
    return ok(`role ${role} no longer has ${describeGrant(grant)}`);
  }

  private userGrantRole(user: string, role: string): AuthResult {
    if (user === ROOT_USER) return refuse('invalid-argument', 'user root may do everything and takes no roles');
    const roles = this.users.get(user);
    if (roles === undefined) return refuse('not-found', `user ${user} not found`);
    if (!this.roles.has(role)) return refuse('not-found', `role ${role} not found`);
    if (roles.has(role)) return refuse('already-exists', `user ${user} already has role ${role}`);
    if (roles.size >= this.limits.maxRolesPerUser) return refuse('limit-exceeded', `limit maxRolesPerUser reached (${this.limits.maxRolesPerUser})`);
    roles.add(role);
    return ok(`user ${user} has role ${role}`);
  }

  private userRevokeRole(user: string, role: string): AuthResult {
    const roles = this.users.get(user);
    if (roles === undefined) return refuse('not-found', `user ${user} not found`);
    if (!roles.delete(role)) return refuse('not-found', `user ${user} does not have role ${role}`);
    return ok(`user ${user} no longer has role ${role}`);
  }

  private tokenAdd(tokenId: string, user: string, hash: Uint8Array): AuthResult {
    if (!isValidTokenId(tokenId)) return refuse('invalid-argument', `token id ${JSON.stringify(tokenId)} is invalid; accepted: ${TOKEN_ID_RULE}`);
    if (!this.hasUser(user)) return refuse('not-found', `user ${user} not found; add it first`);
    if (this.tokens.has(tokenId)) return refuse('already-exists', `token id ${tokenId} is taken`);
    if (this.tokens.size >= this.limits.maxTokens) return refuse('limit-exceeded', `limit maxTokens reached (${this.limits.maxTokens}); revoke unused tokens`);
    let mine = 0;
    for (const t of this.tokens.values()) if (t.user === user) mine++;
    if (mine >= this.limits.maxTokensPerUser) return refuse('limit-exceeded', `limit maxTokensPerUser reached (${this.limits.maxTokensPerUser}); revoke unused tokens of ${user}`);
    this.tokens.set(tokenId, { user, hash: new Uint8Array(hash) });
    return ok(`token ${tokenId} issued to ${user}`);
  }
}

export function describeGrant(grant: RoleGrant): string {
  return `${grant.permission} on ${grant.prefix === '' ? 'every name' : JSON.stringify(grant.prefix)}`;
}

function ok(message: string): AuthResult {
  return { ok: true, message };
}

function refuse(code: AuthRefusal, message: string): AuthResult {
  return { ok: false, code, message };
}

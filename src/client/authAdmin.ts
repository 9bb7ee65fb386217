import type { Connection } from './connection.js';
import { InvalidArgumentError } from './errors.js';
import type { AuthListResponse, UnaryMethod, RequestOf, ResponseOf, WirePermission } from './protocol.js';

/**
 * AuthAdmin: users, roles, role grants and tokens of a cluster with auth
 * enabled (client.auth). Every method but whoAmI needs a cluster admin. None
 * is retried when its outcome is unknown (they are not idempotent: a retried
 * add would answer "already exists").
 */
export type Permission = 'read' | 'lock' | 'admin';

export interface WhoAmI {
  /** user: '' when the cluster runs without auth. */
  readonly user: string;
  readonly via: string;
  readonly clusterAdmin: boolean;
  readonly authEnabled: boolean;
}

export interface IssuedToken {
  readonly tokenId: string;
  /** token: the secret; shown once, the cluster keeps only its SHA-256. */
  readonly token: string;
  readonly user: string;
}

export interface AuthListing {
  readonly users: ReadonlyArray<{ readonly user: string; readonly roles: readonly string[] }>;
  readonly roles: ReadonlyArray<{ readonly role: string; readonly grants: ReadonlyArray<{ readonly permission: Permission; readonly prefix: string }> }>;
  readonly tokens: ReadonlyArray<{ readonly tokenId: string; readonly user: string }>;
}

const TO_WIRE: Record<Permission, WirePermission> = { read: 'PERMISSION_READ', lock: 'PERMISSION_LOCK', admin: 'PERMISSION_ADMIN' };

export class AuthAdmin {
  constructor(
    private readonly connection: Connection,
    private readonly signal: (s?: AbortSignal) => AbortSignal | undefined,
  ) {}

  async whoAmI(): Promise<WhoAmI> {
    return this.call('Auth/WhoAmI', {}, true);
  }

  async addUser(user: string): Promise<string> {
    return (await this.call('Auth/UserAdd', { user })).message;
  }

  async removeUser(user: string): Promise<string> {
    return (await this.call('Auth/UserRemove', { user })).message;
  }

  async grantRole(user: string, role: string): Promise<string> {
    return (await this.call('Auth/UserGrantRole', { user, role })).message;
  }

  async revokeRole(user: string, role: string): Promise<string> {
    return (await this.call('Auth/UserRevokeRole', { user, role })).message;
  }

  async addRole(role: string): Promise<string> {
    return (await this.call('Auth/RoleAdd', { role })).message;
  }

  async removeRole(role: string): Promise<string> {
    return (await this.call('Auth/RoleRemove', { role })).message;
  }

  /** grantPermission gives `role` a permission on a lock-name prefix ('' = every name). */
  async grantPermission(role: string, permission: Permission, prefix: string): Promise<string> {
    return (await this.call('Auth/RoleGrant', { role, permission: wire(permission), prefix })).message;
  }

  async revokePermission(role: string, permission: Permission, prefix: string): Promise<string> {
    return (await this.call('Auth/RoleRevoke', { role, permission: wire(permission), prefix })).message;
  }

  async issueToken(user: string): Promise<IssuedToken> {
    return this.call('Auth/TokenIssue', { user });
  }

  async revokeToken(tokenId: string): Promise<string> {
    return (await this.call('Auth/TokenRevoke', { tokenId })).message;
  }

  async list(): Promise<AuthListing> {
    const r: AuthListResponse = await this.call('Auth/List', {}, true);
    return {
      users: r.users,
      roles: r.roles.map((x) => ({ role: x.role, grants: x.grants.map((g) => ({ permission: fromWire(g.permission), prefix: g.prefix })) })),
      tokens: r.tokens,
    };
  }

  private call<M extends UnaryMethod>(method: M, request: RequestOf<M>, idempotent = false): Promise<ResponseOf<M>> {
    const signal = this.signal();
    return this.connection.call(method, request, { ...(signal === undefined ? {} : { signal }), idempotent, context: {} });
  }
}

function wire(p: Permission): WirePermission {
  const w = TO_WIRE[p];
  if (w === undefined) throw new InvalidArgumentError(`permission ${JSON.stringify(p)} is unknown; accepted: read, lock, admin`);
  return w;
}

function fromWire(p: WirePermission): Permission {
  return p === 'PERMISSION_ADMIN' ? 'admin' : p === 'PERMISSION_LOCK' ? 'lock' : 'read';
}

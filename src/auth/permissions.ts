/**
 * Permissions on lock-name prefixes, in the manner of etcd's role-based
 * access (read / write / readwrite on key ranges), adapted to locks:
 *
 *   read   Lock.Get on names under the prefix
 *   lock   read, plus Acquire and Release under the prefix
 *   admin  lock, plus acting on other identities' leases under the prefix;
 *          admin on the empty prefix (every name) makes a cluster admin, who
 *          also manages users, roles and tokens.
 *
 * A grant covers a name when the name starts with its prefix (byte-wise on
 * the UTF-8 string, so 'orders/' covers 'orders/42' but not 'orders2').
 */
export type Permission = 'read' | 'lock' | 'admin';

export const PERMISSIONS: readonly Permission[] = ['read', 'lock', 'admin'];

const RANK: Record<Permission, number> = { read: 1, lock: 2, admin: 3 };

export interface RoleGrant {
  readonly permission: Permission;
  readonly prefix: string;
}

/** implies: holding `held` includes `needed` (admin ⊇ lock ⊇ read). */
export function implies(held: Permission, needed: Permission): boolean {
  return RANK[held] >= RANK[needed];
}

/** covers: the grant gives `needed` on `name`. */
export function covers(grant: RoleGrant, needed: Permission, name: string): boolean {
  return implies(grant.permission, needed) && name.startsWith(grant.prefix);
}

export function isPermission(value: string): value is Permission {
  return (PERMISSIONS as readonly string[]).includes(value);
}

/** compareGrants orders grants by prefix then permission, so listings and snapshots are canonical. */
export function compareGrants(a: RoleGrant, b: RoleGrant): number {
  if (a.prefix !== b.prefix) return a.prefix < b.prefix ? -1 : 1;
  return RANK[a.permission] - RANK[b.permission];
}

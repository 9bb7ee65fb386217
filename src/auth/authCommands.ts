import type { Permission } from './permissions.js';

/**
 * The commands of the auth state, replicated through the Raft log beside the
 * lock commands. The server validates and — for tokens — hashes before it
 * proposes, so applying needs no crypto, clock or I/O.
 */
export type AuthCommand =
  | { readonly type: 'user-add'; readonly user: string }
  | { readonly type: 'user-remove'; readonly user: string }
  | { readonly type: 'role-add'; readonly role: string }
  | { readonly type: 'role-remove'; readonly role: string }
  | { readonly type: 'role-grant'; readonly role: string; readonly permission: Permission; readonly prefix: string }
  | { readonly type: 'role-revoke'; readonly role: string; readonly permission: Permission; readonly prefix: string }
  | { readonly type: 'user-grant-role'; readonly user: string; readonly role: string }
  | { readonly type: 'user-revoke-role'; readonly user: string; readonly role: string }
  /** token-add: `hash` is the SHA-256 of the whole token string; the token itself never reaches the log. */
  | { readonly type: 'token-add'; readonly tokenId: string; readonly user: string; readonly hash: Uint8Array }
  | { readonly type: 'token-revoke'; readonly tokenId: string };

/**
 * AuthResult: applied, or refused with a reason (nothing changed). `code`
 * maps to a gRPC status in the server; `message` says what was wrong.
 */
export type AuthResult =
  | { readonly ok: true; readonly message: string }
  | { readonly ok: false; readonly code: AuthRefusal; readonly message: string };

export type AuthRefusal = 'not-found' | 'already-exists' | 'limit-exceeded' | 'invalid-argument';

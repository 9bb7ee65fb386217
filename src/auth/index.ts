/**
 * The auth package: the replicated users, roles, role grants and token hashes
 * (AuthState), their command and snapshot codecs, and the permission model.
 * Pure and deterministic like src/lock: no crypto, clock or I/O — the server
 * hashes tokens before it proposes them.
 */
export type { AuthCommand, AuthRefusal, AuthResult } from './authCommands.js';
export { AUTH_COMMAND_TAG, decodeAuthCommand, encodeAuthCommand, isAuthCommand } from './authCodec.js';
export { CorruptAuthCommandError, CorruptAuthSnapshotError } from './authErrors.js';
export type { AuthLimits } from './authLimits.js';
export { DEFAULT_AUTH_LIMITS, resolveAuthLimits } from './authLimits.js';
export { decodeAuthSnapshot, encodeAuthSnapshot } from './authSnapshot.js';
export type { TokenRecord } from './authState.js';
export { AuthState, describeGrant } from './authState.js';
export { MAX_PREFIX_BYTES, NAME_RULE, ROOT_USER, TOKEN_ID_RULE, isValidName, isValidTokenId } from './names.js';
export type { Permission, RoleGrant } from './permissions.js';
export { PERMISSIONS, covers, implies, isPermission } from './permissions.js';

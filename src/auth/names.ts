/**
 * Names of users, roles and tokens. They appear in URIs
 * (raftlock://<cluster>/user/<name>), in metadata and in CLI arguments, so
 * they are kept to a conservative ASCII alphabet.
 */

/** ROOT_USER is built in: it always exists and may do everything (bootstrap, see README "Security"). */
export const ROOT_USER = 'root';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
const TOKEN_ID = /^[0-9a-f]{16}$/;

export const NAME_RULE = '1 to 64 characters of A-Z a-z 0-9 . _ @ -, starting with a letter or digit';
export const TOKEN_ID_RULE = '16 lower-case hex digits';

export function isValidName(name: string): boolean {
  return NAME.test(name);
}

export function isValidTokenId(id: string): boolean {
  return TOKEN_ID.test(id);
}

/** MAX_PREFIX_BYTES: a prefix is at most as long as a lock name may be by default. */
export const MAX_PREFIX_BYTES = 256;

/** TOKEN_HASH_BYTES: a SHA-256 digest. */
export const TOKEN_HASH_BYTES = 32;

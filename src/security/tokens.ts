import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Bearer tokens: `rl1_<tokenId>_<secret>`, where tokenId is 16 hex digits
 * (public: it names the token in listings and in `raftlock token revoke`) and
 * secret is 32 random bytes in base64url.
 *
 * The cluster stores only SHA-256(token). A fast unsalted hash is right here,
 * unlike for passwords: the token carries 256 bits from crypto.randomBytes, so
 * there is nothing to guess or precompute — a slow or salted hash only
 * protects low-entropy secrets. Comparison is constant-time
 * (crypto.timingSafeEqual), and lookup is by the public id, so timing reveals
 * nothing about the secret.
 */
export interface IssuedToken {
  readonly tokenId: string;
  readonly token: string;
  readonly hash: Buffer;
}

const TOKEN = /^rl1_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

export function issueToken(): IssuedToken {
  const tokenId = randomBytes(8).toString('hex');
  const token = `rl1_${tokenId}_${randomBytes(32).toString('base64url')}`;
  return { tokenId, token, hash: hashToken(token) };
}

export function hashToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** tokenIdOf returns the id part of a well-formed token, or null. */
export function tokenIdOf(token: string): string | null {
  return TOKEN.exec(token)?.[1] ?? null;
}

/** sameHash compares two SHA-256 digests in constant time. */
export function sameHash(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** bearerToken extracts the token of an `authorization: Bearer <token>` value, or null. */
export function bearerToken(header: string): string | null {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m === null ? null : (m[1] as string);
}

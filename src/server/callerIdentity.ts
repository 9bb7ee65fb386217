import * as grpc from '@grpc/grpc-js';
import type { AuthState } from '../auth/authState.js';
import { ROOT_USER, isValidName } from '../auth/names.js';
import { memberNamedBy } from '../security/identity.js';
import { bearerToken, hashToken, sameHash, tokenIdOf } from '../security/tokens.js';
import { userNamedBy } from '../security/userIdentity.js';
import { ApiError } from './apiError.js';
import { METADATA } from './statusMapping.js';

/**
 * Who is calling. With auth off every call is `anonymous` and nothing is
 * checked (the local-development default). With auth on, a caller is a user,
 * named by (first match wins):
 *
 *  1. `raftlock-forwarded-user` metadata — only on a connection whose client
 *     certificate names a member of this cluster: a follower relaying a call
 *     it received from a user with a certificate. From anyone else the header
 *     is refused, so a client cannot claim an identity by setting it.
 *  2. `authorization: Bearer <token>` — a token issued by an admin (looked up
 *     by its id, compared by SHA-256 in constant time), or the bootstrap root
 *     token whose hash is in the cluster config.
 *  3. a client certificate issued by the cluster CA carrying the URI SAN
 *     raftlock://<clusterId>/user/<name>.
 *
 * A user named by a certificate or a forward must exist (root always does).
 */
export type Caller = { readonly kind: 'anonymous' } | { readonly kind: 'user'; readonly user: string; readonly via: 'token' | 'root-token' | 'certificate' | 'forwarded' };

export const ANONYMOUS: Caller = Object.freeze({ kind: 'anonymous' });

export interface AuthSettings {
  readonly enabled: boolean;
  readonly clusterId: string;
  /** rootTokenHash: SHA-256 of the bootstrap root token, or null. */
  readonly rootTokenHash: Buffer | null;
}

export const AUTH_DISABLED: AuthSettings = Object.freeze({ enabled: false, clusterId: '', rootTokenHash: null });

type AnyCall = { readonly metadata: grpc.Metadata; getAuthContext(): { sslPeerCertificate?: { subjectaltname?: string } } | null };

/** authenticate names the caller against `auth` (this node's applied auth state) or throws UNAUTHENTICATED. */
export function authenticate(call: AnyCall, auth: AuthState, settings: AuthSettings): Caller {
  if (!settings.enabled) return ANONYMOUS;
  const san = peerSan(call);
  const forwarded = metadataValue(call.metadata, METADATA.forwardedUser);
  if (forwarded !== null) {
    if (!memberNamedBy(san, settings.clusterId).ok) throw forwardedRefused(settings);
    return existing(auth, forwarded, 'forwarded');
  }
  const header = metadataValue(call.metadata, 'authorization');
  if (header !== null) return byToken(header, auth, settings);
  const certUser = userNamedBy(san, settings.clusterId);
  if (certUser !== null) return existing(auth, certUser, 'certificate');
  throw missingCredentials(settings);
}

/**
 * forwardingMetadata is what a follower adds when it relays a call to the
 * leader, which authenticates it again against its own (newest) state: the
 * caller's bearer token as is, or — for a certificate user, whose certificate
 * cannot travel — the user's name, which the leader accepts only because the
 * follower's own certificate names a member. A call with no credential at all
 * is refused here, without a hop.
 */
export function forwardingMetadata(call: AnyCall, settings: AuthSettings): grpc.Metadata {
  const md = new grpc.Metadata();
  if (!settings.enabled) return md;
  const header = metadataValue(call.metadata, 'authorization');
  if (header !== null) {
    md.set('authorization', header);
    return md;
  }
  const san = peerSan(call);
  const certUser = userNamedBy(san, settings.clusterId);
  if (certUser !== null) {
    md.set(METADATA.forwardedUser, certUser);
    return md;
  }
  // A relayed call never comes in here (it is not forwarded again), so this header is a client's claim.
  if (metadataValue(call.metadata, METADATA.forwardedUser) !== null) throw forwardedRefused(settings);
  throw missingCredentials(settings);
}

function missingCredentials(settings: AuthSettings): ApiError {
  return unauthenticated(
    `this cluster requires authentication: send a bearer token (authorization: Bearer <token>; the CLI's --token or RAFTLOCK_TOKEN) ` +
      `or present a client certificate issued by the cluster CA naming raftlock://${settings.clusterId}/user/<name>`,
  );
}

function forwardedRefused(settings: AuthSettings): ApiError {
  return unauthenticated(`${METADATA.forwardedUser} is accepted only from members of cluster ${settings.clusterId} (with their certificate); present your own credentials instead`);
}

function byToken(header: string, auth: AuthState, settings: AuthSettings): Caller {
  const token = bearerToken(header);
  if (token === null) throw unauthenticated('the authorization metadata must be "Bearer <token>"');
  const hash = hashToken(token);
  if (settings.rootTokenHash !== null && sameHash(hash, settings.rootTokenHash)) return { kind: 'user', user: ROOT_USER, via: 'root-token' };
  const id = tokenIdOf(token);
  const record = id === null ? null : auth.token(id);
  if (record === null || !sameHash(hash, record.hash) || !auth.hasUser(record.user)) {
    throw unauthenticated('the bearer token is not valid: unknown, revoked or malformed; ask an admin for a new one (raftlock token issue --user <name>)');
  }
  return { kind: 'user', user: record.user, via: 'token' };
}

function existing(auth: AuthState, user: string, via: 'certificate' | 'forwarded'): Caller {
  if (!isValidName(user) || !auth.hasUser(user)) {
    throw unauthenticated(`user ${JSON.stringify(user)} named by the ${via === 'certificate' ? 'client certificate' : 'forwarding member'} does not exist; an admin adds it with raftlock user add`);
  }
  return { kind: 'user', user, via };
}

function peerSan(call: AnyCall): string | undefined {
  return call.getAuthContext()?.sslPeerCertificate?.subjectaltname;
}

function metadataValue(md: grpc.Metadata, key: string): string | null {
  const values = md.get(key);
  if (values.length === 0) return null;
  const v = values[0];
  return typeof v === 'string' ? v : (v as Buffer).toString('utf8');
}

function unauthenticated(message: string): ApiError {
  return new ApiError(grpc.status.UNAUTHENTICATED, message);
}

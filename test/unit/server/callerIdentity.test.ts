import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { encodeAuthCommand } from '../../../src/auth/authCodec.js';
import { AuthState } from '../../../src/auth/authState.js';
import { ApiError } from '../../../src/server/apiError.js';
import { authenticate, forwardingMetadata, type AuthSettings } from '../../../src/server/callerIdentity.js';
import { hashToken, issueToken } from '../../../src/security/tokens.js';

/** Who a call is, decided from its metadata and its verified client certificate only. */
const ROOT = issueToken();
const SETTINGS: AuthSettings = { enabled: true, clusterId: 'c1', rootTokenHash: hashToken(ROOT.token) };

function call(headers: Record<string, string>, san?: string): Parameters<typeof authenticate>[0] {
  const metadata = new grpc.Metadata();
  for (const [k, v] of Object.entries(headers)) metadata.set(k, v);
  return { metadata, getAuthContext: () => (san === undefined ? {} : { sslPeerCertificate: { subjectaltname: san } }) };
}

function state(): { auth: AuthState; alice: string; aliceId: string } {
  const auth = new AuthState();
  const t = issueToken();
  for (const c of [{ type: 'user-add', user: 'alice' }, { type: 'token-add', tokenId: t.tokenId, user: 'alice', hash: t.hash }] as const) {
    expect(auth.apply(encodeAuthCommand(c)).ok).toBe(true);
  }
  return { auth, alice: t.token, aliceId: t.tokenId };
}

function refusal(f: () => unknown): ApiError {
  try {
    f();
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('authenticate', () => {
  it('lets everyone in, unchecked, when auth is off', () => {
    expect(authenticate(call({}), new AuthState(), { ...SETTINGS, enabled: false })).toEqual({ kind: 'anonymous' });
  });

  it('names token users, the root token and certificate users', () => {
    const { auth, alice } = state();
    expect(authenticate(call({ authorization: `Bearer ${alice}` }), auth, SETTINGS)).toEqual({ kind: 'user', user: 'alice', via: 'token' });
    expect(authenticate(call({ authorization: `Bearer ${ROOT.token}` }), auth, SETTINGS)).toEqual({ kind: 'user', user: 'root', via: 'root-token' });
    expect(authenticate(call({}, 'URI:raftlock://c1/user/alice'), auth, SETTINGS)).toEqual({ kind: 'user', user: 'alice', via: 'certificate' });
  });

  it('refuses no credentials, a revoked or altered token, a certificate of another cluster or an unknown user', () => {
    const { auth, alice, aliceId } = state();
    const cases = [
      call({}),
      call({ authorization: `Bearer ${alice.slice(0, -1)}${alice.endsWith('A') ? 'B' : 'A'}` }),
      call({ authorization: 'Basic abc' }),
      call({}, 'URI:raftlock://other/user/alice'),
      call({}, 'URI:raftlock://c1/user/bob'),
      call({}, 'URI:raftlock://c1/client/alice'),
    ];
    for (const c of cases) expect(refusal(() => authenticate(c, auth, SETTINGS)).code).toBe(grpc.status.UNAUTHENTICATED);
    expect(auth.apply(encodeAuthCommand({ type: 'token-revoke', tokenId: aliceId })).ok).toBe(true);
    expect(refusal(() => authenticate(call({ authorization: `Bearer ${alice}` }), auth, SETTINGS)).message).toMatch(/revoked/);
  });

  it('trusts a forwarded user name only from a member certificate of this cluster', () => {
    const { auth } = state();
    const forwarded = { 'raftlock-forwarded-user': 'alice' };
    expect(authenticate(call(forwarded, 'URI:raftlock://c1/node/n2'), auth, SETTINGS)).toEqual({ kind: 'user', user: 'alice', via: 'forwarded' });
    for (const san of [undefined, 'URI:raftlock://c1/user/root', 'URI:raftlock://c2/node/n2']) {
      expect(refusal(() => authenticate(call({ ...forwarded, authorization: `Bearer ${ROOT.token}` }, san), auth, SETTINGS)).message).toMatch(/accepted only from members/);
    }
  });

  it('relays a token as is, a certificate user by name, and refuses a call with neither before the hop', () => {
    expect(forwardingMetadata(call({ authorization: 'Bearer x' }), SETTINGS).get('authorization')).toEqual(['Bearer x']);
    expect(forwardingMetadata(call({}, 'URI:raftlock://c1/user/alice'), SETTINGS).get('raftlock-forwarded-user')).toEqual(['alice']);
    expect(refusal(() => forwardingMetadata(call({}), SETTINGS)).code).toBe(grpc.status.UNAUTHENTICATED);
    expect(refusal(() => forwardingMetadata(call({ 'raftlock-forwarded-user': 'root' }), SETTINGS)).code).toBe(grpc.status.UNAUTHENTICATED);
  });
});

import { describe, expect, it } from 'vitest';
import { decodeAuthCommand, encodeAuthCommand, isAuthCommand } from '../../../src/auth/authCodec.js';
import type { AuthCommand } from '../../../src/auth/authCommands.js';
import { CorruptAuthCommandError, CorruptAuthSnapshotError } from '../../../src/auth/authErrors.js';
import { decodeAuthSnapshot, encodeAuthSnapshot } from '../../../src/auth/authSnapshot.js';
import { AuthState } from '../../../src/auth/authState.js';
import { encodeCommand } from '../../../src/lock/commandCodec.js';
import { ReplicatedState } from '../../../src/node/replicatedState.js';

const HASH = new Uint8Array(32).fill(7);

function apply(state: AuthState, ...commands: AuthCommand[]): void {
  for (const c of commands) {
    const r = state.apply(encodeAuthCommand(c));
    if (!r.ok) throw new Error(`setup: ${c.type} refused: ${r.message}`);
  }
}

function orders(): AuthState {
  const s = new AuthState();
  apply(
    s,
    { type: 'user-add', user: 'alice' },
    { type: 'role-add', role: 'orders-rw' },
    { type: 'role-grant', role: 'orders-rw', permission: 'lock', prefix: 'orders/' },
    { type: 'role-add', role: 'audit' },
    { type: 'role-grant', role: 'audit', permission: 'read', prefix: '' },
    { type: 'user-grant-role', user: 'alice', role: 'orders-rw' },
    { type: 'token-add', tokenId: '0123456789abcdef', user: 'alice', hash: HASH },
  );
  return s;
}

describe('AuthState', () => {
  it('grants a permission, and the weaker ones, only under the prefix', () => {
    const s = orders();
    expect(s.permits('alice', 'lock', 'orders/42')).toBe(true);
    expect(s.permits('alice', 'read', 'orders/42')).toBe(true);
    expect(s.permits('alice', 'admin', 'orders/42')).toBe(false);
    expect(s.permits('alice', 'lock', 'orders2')).toBe(false);
    expect(s.permits('alice', 'read', 'billing/1')).toBe(false);
    expect(s.isClusterAdmin('alice')).toBe(false);
    expect(s.permits('bob', 'read', 'orders/1')).toBe(false);
  });

  it('treats root as built in with every permission', () => {
    const s = new AuthState();
    expect(s.hasUser('root')).toBe(true);
    expect(s.isClusterAdmin('root')).toBe(true);
    expect(s.apply(encodeAuthCommand({ type: 'user-add', user: 'root' }))).toMatchObject({ ok: false, code: 'already-exists' });
    expect(s.apply(encodeAuthCommand({ type: 'user-remove', user: 'root' }))).toMatchObject({ ok: false, code: 'invalid-argument' });
  });

  it('makes a cluster admin of admin on the empty prefix only', () => {
    const s = orders();
    apply(s, { type: 'role-add', role: 'ops' }, { type: 'role-grant', role: 'ops', permission: 'admin', prefix: 'orders/' }, { type: 'user-grant-role', user: 'alice', role: 'ops' });
    expect(s.isClusterAdmin('alice')).toBe(false);
    apply(s, { type: 'role-grant', role: 'ops', permission: 'admin', prefix: '' });
    expect(s.isClusterAdmin('alice')).toBe(true);
  });

  it('revokes a token, and every token of a removed user', () => {
    const s = orders();
    apply(s, { type: 'token-add', tokenId: 'fedcba9876543210', user: 'alice', hash: HASH });
    apply(s, { type: 'token-revoke', tokenId: '0123456789abcdef' });
    expect(s.token('0123456789abcdef')).toBeNull();
    expect(s.token('fedcba9876543210')?.user).toBe('alice');
    apply(s, { type: 'user-remove', user: 'alice' });
    expect(s.token('fedcba9876543210')).toBeNull();
    expect(s.permits('alice', 'read', 'orders/1')).toBe(false);
  });

  it('takes a removed role from its users', () => {
    const s = orders();
    apply(s, { type: 'role-remove', role: 'orders-rw' });
    expect(s.permits('alice', 'lock', 'orders/1')).toBe(false);
    expect(s.listUsers()).toEqual([{ user: 'alice', roles: [] }]);
  });

  it('refuses bad names, unknown references, duplicates and limits without changing anything', () => {
    const s = new AuthState({ maxUsers: 1, maxTokensPerUser: 1 });
    const before = (): Uint8Array => encodeAuthSnapshot(s);
    apply(s, { type: 'user-add', user: 'alice' }, { type: 'token-add', tokenId: '0123456789abcdef', user: 'alice', hash: HASH });
    const snap = before();
    const refusals: Array<[AuthCommand, string]> = [
      [{ type: 'user-add', user: 'bad name' }, 'invalid-argument'],
      [{ type: 'user-add', user: 'alice' }, 'already-exists'],
      [{ type: 'user-add', user: 'bob' }, 'limit-exceeded'],
      [{ type: 'user-grant-role', user: 'alice', role: 'nope' }, 'not-found'],
      [{ type: 'role-grant', role: 'nope', permission: 'read', prefix: '' }, 'not-found'],
      [{ type: 'token-add', tokenId: 'fedcba9876543210', user: 'alice', hash: HASH }, 'limit-exceeded'],
      [{ type: 'token-add', tokenId: 'fedcba9876543210', user: 'ghost', hash: HASH }, 'not-found'],
      [{ type: 'token-add', tokenId: 'XYZ', user: 'alice', hash: HASH }, 'invalid-argument'],
      [{ type: 'token-revoke', tokenId: 'fedcba9876543210' }, 'not-found'],
    ];
    for (const [command, code] of refusals) expect(s.apply(encodeAuthCommand(command)), command.type).toMatchObject({ ok: false, code });
    expect(Array.from(encodeAuthSnapshot(s))).toEqual(Array.from(snap));
  });
});

describe('auth codecs', () => {
  it('round-trips every command and is told apart from lock commands by its first byte', () => {
    const commands: AuthCommand[] = [
      { type: 'user-add', user: 'a' },
      { type: 'user-remove', user: 'a' },
      { type: 'role-add', role: 'r' },
      { type: 'role-remove', role: 'r' },
      { type: 'role-grant', role: 'r', permission: 'admin', prefix: 'x/' },
      { type: 'role-revoke', role: 'r', permission: 'read', prefix: '' },
      { type: 'user-grant-role', user: 'a', role: 'r' },
      { type: 'user-revoke-role', user: 'a', role: 'r' },
      { type: 'token-add', tokenId: '0123456789abcdef', user: 'a', hash: HASH },
      { type: 'token-revoke', tokenId: '0123456789abcdef' },
    ];
    for (const c of commands) {
      const bytes = encodeAuthCommand(c);
      expect(isAuthCommand(bytes)).toBe(true);
      expect(decodeAuthCommand(bytes)).toEqual(c);
      expect(Array.from(encodeAuthCommand(decodeAuthCommand(bytes)))).toEqual(Array.from(bytes));
    }
    expect(isAuthCommand(encodeCommand({ type: 'revoke-lease', leaseId: 1 }))).toBe(false);
  });

  it('refuses corrupt commands', () => {
    const good = encodeAuthCommand({ type: 'role-grant', role: 'r', permission: 'lock', prefix: 'p' });
    for (let n = 0; n < good.length; n++) expect(() => decodeAuthCommand(good.subarray(0, n))).toThrow(CorruptAuthCommandError);
    expect(() => decodeAuthCommand(new Uint8Array([...good, 0]))).toThrow(/trailing/);
    expect(() => decodeAuthCommand(new Uint8Array([0x41, 1, 99]))).toThrow(/unknown opcode/);
    expect(() => decodeAuthCommand(new Uint8Array([0x41, 1, 5, 1, 0x72, 9, 0]))).toThrow(/unknown permission/);
  });

  it('restores a snapshot to the same state and bytes, and refuses a corrupt one', () => {
    const s = orders();
    const bytes = encodeAuthSnapshot(s);
    const back = decodeAuthSnapshot(bytes);
    expect(Array.from(encodeAuthSnapshot(back))).toEqual(Array.from(bytes));
    expect(back.permits('alice', 'lock', 'orders/1')).toBe(true);
    expect(back.token('0123456789abcdef')?.hash).toEqual(HASH);
    const flipped = new Uint8Array(bytes);
    flipped[10] = (flipped[10] as number) ^ 1;
    expect(() => decodeAuthSnapshot(flipped)).toThrow(CorruptAuthSnapshotError);
  });
});

describe('ReplicatedState', () => {
  it('keeps the pre-auth snapshot format until auth state exists, then carries both through a snapshot', () => {
    const r = ReplicatedState.empty({});
    r.apply({ index: 1, term: 1, data: encodeCommand({ type: 'grant-lease', leaseId: 9, ttlMs: 1000, idempotent: false, owner: 'alice' }) });
    expect(Array.from(r.snapshot())).toEqual(Array.from(r.lock.snapshot()));
    const applied = r.apply({ index: 2, term: 1, data: encodeAuthCommand({ type: 'user-add', user: 'alice' }) });
    expect(applied).toMatchObject({ kind: 'auth', index: 2, result: { ok: true } });
    expect(r.lastAppliedIndex).toBe(2);
    const back = ReplicatedState.restore(r.snapshot(), {});
    expect(back.lastAppliedIndex).toBe(2);
    expect(back.auth.hasUser('alice')).toBe(true);
    expect(back.lock.getLease(9)?.owner).toBe('alice');
    expect(Array.from(back.snapshot())).toEqual(Array.from(r.snapshot()));
  });
});

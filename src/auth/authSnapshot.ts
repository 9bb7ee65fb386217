import { ByteReader, ByteWriter } from '../lock/binary.js';
import { crc32 } from '../lock/crc32.js';
import { CorruptAuthSnapshotError } from './authErrors.js';
import type { AuthLimits } from './authLimits.js';
import { AuthState } from './authState.js';
import { TOKEN_HASH_BYTES } from './names.js';
import { PERMISSIONS } from './permissions.js';

/**
 * Snapshot image of the AuthState.
 *
 *   magic "RLAU" (4 bytes), version u8 (AUTH_SNAPSHOT_VERSION)
 *   userCount:uvarint,  per user in name order:  name:str roleCount:uvarint role:str*
 *   roleCount:uvarint,  per role in name order:  name:str grantCount:uvarint (perm:u8 prefix:str)*
 *   tokenCount:uvarint, per token in id order:   tokenId:str user:str hash:32 bytes
 *   crc32 of every preceding byte: u32 big-endian
 *
 * Sorted throughout, so the same state gives the same bytes on every member.
 * Restoring replays the entries through the state's own commands, so a
 * snapshot can only produce a state the commands could have produced.
 */
export const AUTH_SNAPSHOT_VERSION = 1;
const MAGIC = [0x52, 0x4c, 0x41, 0x55]; // "RLAU"

export function encodeAuthSnapshot(state: AuthState): Uint8Array {
  const w = new ByteWriter(64);
  for (const b of MAGIC) w.u8(b);
  w.u8(AUTH_SNAPSHOT_VERSION);
  const users = state.listUsers();
  w.uvarint(users.length);
  for (const u of users) {
    w.string(u.user);
    w.uvarint(u.roles.length);
    for (const r of u.roles) w.string(r);
  }
  const roles = state.listRoles();
  w.uvarint(roles.length);
  for (const r of roles) {
    w.string(r.role);
    w.uvarint(r.grants.length);
    for (const g of r.grants) {
      w.u8(PERMISSIONS.indexOf(g.permission));
      w.string(g.prefix);
    }
  }
  const tokens = state.listTokens();
  w.uvarint(tokens.length);
  for (const t of tokens) {
    w.string(t.tokenId);
    w.string(t.user);
    for (const b of state.token(t.tokenId)!.hash) w.u8(b);
  }
  w.u32be(crc32(w.view()));
  return w.finish();
}

export function decodeAuthSnapshot(bytes: Uint8Array, limits: Partial<AuthLimits> = {}): AuthState {
  const fail = (m: string): CorruptAuthSnapshotError => new CorruptAuthSnapshotError(`corrupt auth snapshot: ${m}`);
  if (bytes.length < MAGIC.length + 1 + 4) throw fail(`${bytes.length} bytes is too short`);
  for (let i = 0; i < MAGIC.length; i++) if (bytes[i] !== MAGIC[i]) throw fail('bad magic (not an auth snapshot)');
  if (bytes[MAGIC.length] !== AUTH_SNAPSHOT_VERSION) throw fail(`unknown version ${bytes[MAGIC.length]} (this build reads ${AUTH_SNAPSHOT_VERSION})`);
  const bodyEnd = bytes.length - 4;
  const expected = new ByteReader(bytes.subarray(bodyEnd), fail).u32be('crc32');
  if (expected !== crc32(bytes.subarray(0, bodyEnd))) throw fail('checksum mismatch');
  const r = new ByteReader(bytes.subarray(MAGIC.length + 1, bodyEnd), fail);
  const state = new AuthState(limits);
  const must = (result: { ok: boolean; message: string }): void => {
    if (!result.ok) throw fail(result.message);
  };
  const userRoles: Array<[string, string[]]> = [];
  const users = count(r, 'userCount', fail);
  for (let i = 0; i < users; i++) {
    const user = r.string('user');
    must(state.applyCommand({ type: 'user-add', user }));
    const roles: string[] = [];
    const n = count(r, 'roleCount', fail);
    for (let j = 0; j < n; j++) roles.push(r.string('role'));
    userRoles.push([user, roles]);
  }
  const roles = count(r, 'roleCount', fail);
  for (let i = 0; i < roles; i++) {
    const role = r.string('role');
    must(state.applyCommand({ type: 'role-add', role }));
    const n = count(r, 'grantCount', fail);
    for (let j = 0; j < n; j++) {
      const permission = PERMISSIONS[r.u8('permission')];
      if (permission === undefined) throw fail('unknown permission');
      must(state.applyCommand({ type: 'role-grant', role, permission, prefix: r.string('prefix') }));
    }
  }
  for (const [user, list] of userRoles) for (const role of list) must(state.applyCommand({ type: 'user-grant-role', user, role }));
  const tokens = count(r, 'tokenCount', fail);
  for (let i = 0; i < tokens; i++) {
    const tokenId = r.string('tokenId');
    const user = r.string('user');
    const hash = new Uint8Array(TOKEN_HASH_BYTES);
    for (let k = 0; k < TOKEN_HASH_BYTES; k++) hash[k] = r.u8('token hash');
    must(state.applyCommand({ type: 'token-add', tokenId, user, hash }));
  }
  r.expectEnd('tokens');
  return state;
}

function count(r: ByteReader, what: string, fail: (m: string) => CorruptAuthSnapshotError): number {
  const n = r.uvarint(what);
  if (n > r.remaining) throw fail(`${what} ${n} exceeds the remaining bytes`);
  return n;
}

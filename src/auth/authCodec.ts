import { assert } from '../lock/assert.js';
import { ByteReader, ByteWriter } from '../lock/binary.js';
import type { AuthCommand } from './authCommands.js';
import { CorruptAuthCommandError } from './authErrors.js';
import { PERMISSIONS, type Permission } from './permissions.js';
import { TOKEN_HASH_BYTES } from './names.js';

/**
 * Binary encoding of auth commands in log entries.
 *
 *   byte 0   AUTH_COMMAND_TAG (0x41, 'A'): lock commands start with their
 *            version byte 1, so the first byte tells which machine applies an entry
 *   byte 1   version (AUTH_COMMAND_VERSION)
 *   byte 2   opcode, then by opcode (str = uvarint length + UTF-8; perm:u8 0 read, 1 lock, 2 admin):
 *     1 user-add          user:str
 *     2 user-remove       user:str
 *     3 role-add          role:str
 *     4 role-remove       role:str
 *     5 role-grant        role:str perm:u8 prefix:str
 *     6 role-revoke       role:str perm:u8 prefix:str
 *     7 user-grant-role   user:str role:str
 *     8 user-revoke-role  user:str role:str
 *     9 token-add         tokenId:str user:str hash:32 bytes
 *    10 token-revoke      tokenId:str
 *
 * Decoding is strict (unknown tag, version, opcode or permission, truncation
 * and trailing bytes throw CorruptAuthCommandError). Name rules are the state
 * machine's, which refuses bad names identically on every replica.
 */
export const AUTH_COMMAND_TAG = 0x41;
export const AUTH_COMMAND_VERSION = 1;

const OPCODE = {
  'user-add': 1,
  'user-remove': 2,
  'role-add': 3,
  'role-remove': 4,
  'role-grant': 5,
  'role-revoke': 6,
  'user-grant-role': 7,
  'user-revoke-role': 8,
  'token-add': 9,
  'token-revoke': 10,
} as const satisfies Record<AuthCommand['type'], number>;

/** isAuthCommand tells an auth entry from a lock entry by its first byte. */
export function isAuthCommand(bytes: Uint8Array): boolean {
  return bytes.length > 0 && bytes[0] === AUTH_COMMAND_TAG;
}

export function encodeAuthCommand(command: AuthCommand): Uint8Array {
  const w = new ByteWriter(48);
  w.u8(AUTH_COMMAND_TAG);
  w.u8(AUTH_COMMAND_VERSION);
  w.u8(OPCODE[command.type]);
  switch (command.type) {
    case 'user-add':
    case 'user-remove':
      w.string(command.user);
      break;
    case 'role-add':
    case 'role-remove':
      w.string(command.role);
      break;
    case 'role-grant':
    case 'role-revoke':
      w.string(command.role);
      w.u8(PERMISSIONS.indexOf(command.permission));
      w.string(command.prefix);
      break;
    case 'user-grant-role':
    case 'user-revoke-role':
      w.string(command.user);
      w.string(command.role);
      break;
    case 'token-add':
      assert(command.hash.length === TOKEN_HASH_BYTES, () => `token hash must be ${TOKEN_HASH_BYTES} bytes, got ${command.hash.length}`);
      w.string(command.tokenId);
      w.string(command.user);
      for (const b of command.hash) w.u8(b);
      break;
    case 'token-revoke':
      w.string(command.tokenId);
      break;
  }
  return w.finish();
}

export function decodeAuthCommand(bytes: Uint8Array): AuthCommand {
  const r = new ByteReader(bytes, (m) => new CorruptAuthCommandError(`corrupt auth command: ${m}`));
  const tag = r.u8('tag');
  if (tag !== AUTH_COMMAND_TAG) throw new CorruptAuthCommandError(`corrupt auth command: tag ${tag} is not ${AUTH_COMMAND_TAG}`);
  const version = r.u8('version');
  if (version !== AUTH_COMMAND_VERSION) {
    throw new CorruptAuthCommandError(`corrupt auth command: unknown version ${version} (this build reads ${AUTH_COMMAND_VERSION})`);
  }
  const command = decodeBody(r.u8('opcode'), r);
  r.expectEnd(command.type);
  return command;
}

function decodeBody(opcode: number, r: ByteReader): AuthCommand {
  switch (opcode) {
    case OPCODE['user-add']:
      return { type: 'user-add', user: r.string('user') };
    case OPCODE['user-remove']:
      return { type: 'user-remove', user: r.string('user') };
    case OPCODE['role-add']:
      return { type: 'role-add', role: r.string('role') };
    case OPCODE['role-remove']:
      return { type: 'role-remove', role: r.string('role') };
    case OPCODE['role-grant']:
    case OPCODE['role-revoke']: {
      const role = r.string('role');
      const permission = readPermission(r);
      const prefix = r.string('prefix');
      return { type: opcode === OPCODE['role-grant'] ? 'role-grant' : 'role-revoke', role, permission, prefix };
    }
    case OPCODE['user-grant-role']:
    case OPCODE['user-revoke-role']: {
      const user = r.string('user');
      const role = r.string('role');
      return { type: opcode === OPCODE['user-grant-role'] ? 'user-grant-role' : 'user-revoke-role', user, role };
    }
    case OPCODE['token-add']: {
      const tokenId = r.string('tokenId');
      const user = r.string('user');
      const hash = new Uint8Array(TOKEN_HASH_BYTES);
      for (let i = 0; i < TOKEN_HASH_BYTES; i++) hash[i] = r.u8('token hash');
      return { type: 'token-add', tokenId, user, hash };
    }
    case OPCODE['token-revoke']:
      return { type: 'token-revoke', tokenId: r.string('tokenId') };
    default:
      throw new CorruptAuthCommandError(`corrupt auth command: unknown opcode ${opcode}`);
  }
}

function readPermission(r: ByteReader): Permission {
  const at = r.offset;
  const p = PERMISSIONS[r.u8('permission')];
  if (p === undefined) throw new CorruptAuthCommandError(`corrupt auth command: unknown permission at byte ${at}`);
  return p;
}

import { assert, isSafeUint } from './assert.js';
import { ByteReader, ByteWriter } from './binary.js';
import type { Command, LockMode } from './commands.js';
import { MAX_OWNER_BYTES, isValidLeaseId } from './commands.js';
import { CorruptCommandError } from './errors.js';
import { isWellFormed, utf8ByteLength } from './lockName.js';

/**
 * Binary encoding of lock commands in log entries.
 *
 *   byte 0   version (COMMAND_VERSION)
 *   byte 1   opcode
 *   then, by opcode (uvarint = unsigned LEB128 of a safe integer, str = uvarint length + UTF-8):
 *     1 grant-lease    leaseId:uvarint ttlMs:uvarint flags:u8 (bit0 idempotent)
 *     2 revoke-lease   leaseId:uvarint
 *     3 expire-lease   leaseId:uvarint proposerTerm:uvarint
 *     4 acquire        leaseId:uvarint flags:u8 (bit0 shared, bit1 wait) name:str
 *     5 release        leaseId:uvarint token:uvarint name:str
 *     6 withdraw-wait  leaseId:uvarint name:str
 *     7 owned          owner:str (1..MAX_OWNER_BYTES) then opcode:u8 (1, 2, 4, 5 or 6) and that body:
 *                      the same command with `owner` set. A command without an owner keeps its
 *                      plain encoding, so logs written before owners existed read unchanged.
 *
 * No checksum: storage checksums log records. Decoding is strict (unknown
 * version, opcode or flag bits, lease id 0, overlong varints, bad UTF-8,
 * truncation and trailing bytes all throw CorruptCommandError), so the
 * encoding is canonical: encode(decode(b)) equals b for every accepted b.
 */
export const COMMAND_VERSION = 1;

const OPCODE = {
  'grant-lease': 1,
  'revoke-lease': 2,
  'expire-lease': 3,
  acquire: 4,
  release: 5,
  'withdraw-wait': 6,
} as const satisfies Record<Command['type'], number>;

const OPCODE_OWNED = 7;

const FLAG_IDEMPOTENT = 0b01;
const FLAG_SHARED = 0b01;
const FLAG_WAIT = 0b10;

/**
 * encodeCommand asserts that the command is well formed: the server validates
 * requests before proposing, so a malformed command here is a programmer error.
 * Range checks that depend on configuration (TTL bounds, name length) are the
 * state machine's, which refuses such commands identically on every replica.
 */
export function encodeCommand(command: Command): Uint8Array {
  assert(isValidLeaseId(command.leaseId), () => `lease id must be an integer in 1..2^53-1, got ${command.leaseId}`);
  const w = new ByteWriter(32);
  w.u8(COMMAND_VERSION);
  if (command.type !== 'expire-lease' && command.owner !== undefined) {
    assert(isValidOwner(command.owner), () => `owner must be 1..${MAX_OWNER_BYTES} bytes of well-formed UTF-8, got ${JSON.stringify(command.owner)}`);
    w.u8(OPCODE_OWNED);
    w.string(command.owner);
  }
  w.u8(OPCODE[command.type]);
  w.uvarint(command.leaseId);
  switch (command.type) {
    case 'grant-lease':
      assert(isSafeUint(command.ttlMs), () => `ttlMs must be a safe non-negative integer, got ${command.ttlMs}`);
      w.uvarint(command.ttlMs);
      w.u8(command.idempotent ? FLAG_IDEMPOTENT : 0);
      break;
    case 'revoke-lease':
      break;
    case 'expire-lease':
      assert(isSafeUint(command.proposerTerm), () => `proposerTerm must be a safe non-negative integer, got ${command.proposerTerm}`);
      w.uvarint(command.proposerTerm);
      break;
    case 'acquire':
      assertName(command.name);
      w.u8((command.mode === 'shared' ? FLAG_SHARED : 0) | (command.wait ? FLAG_WAIT : 0));
      w.string(command.name);
      break;
    case 'release':
      assert(isSafeUint(command.token), () => `token must be a safe non-negative integer, got ${command.token}`);
      assertName(command.name);
      w.uvarint(command.token);
      w.string(command.name);
      break;
    case 'withdraw-wait':
      assertName(command.name);
      w.string(command.name);
      break;
  }
  return w.finish();
}

/** decodeCommand returns the command in `bytes` or throws CorruptCommandError saying what is wrong and where. */
export function decodeCommand(bytes: Uint8Array): Command {
  const r = new ByteReader(bytes, (message) => new CorruptCommandError(`corrupt lock command: ${message}`));
  const version = r.u8('version');
  if (version !== COMMAND_VERSION) {
    throw new CorruptCommandError(`corrupt lock command: unknown version ${version} (this build reads ${COMMAND_VERSION})`);
  }
  const opcode = r.u8('opcode');
  if (opcode === OPCODE_OWNED) {
    const owner = r.string('owner');
    if (!isValidOwner(owner)) throw new CorruptCommandError(`corrupt lock command: owner of ${utf8ByteLength(owner)} bytes (accepted: 1..${MAX_OWNER_BYTES})`);
    const inner = r.u8('owned opcode');
    if (inner === OPCODE['expire-lease'] || inner === OPCODE_OWNED) throw new CorruptCommandError(`corrupt lock command: opcode ${inner} cannot carry an owner`);
    const command = decodeBody(inner, r);
    r.expectEnd(command.type);
    return { ...command, owner } as Command;
  }
  const command = decodeBody(opcode, r);
  r.expectEnd(command.type);
  return command;
}

function isValidOwner(owner: string): boolean {
  const bytes = utf8ByteLength(owner);
  return isWellFormed(owner) && bytes >= 1 && bytes <= MAX_OWNER_BYTES;
}

function decodeBody(opcode: number, r: ByteReader): Command {
  switch (opcode) {
    case OPCODE['grant-lease']: {
      const leaseId = readLeaseId(r);
      const ttlMs = r.uvarint('ttlMs');
      const flags = readFlags(r, FLAG_IDEMPOTENT);
      return { type: 'grant-lease', leaseId, ttlMs, idempotent: (flags & FLAG_IDEMPOTENT) !== 0 };
    }
    case OPCODE['revoke-lease']:
      return { type: 'revoke-lease', leaseId: readLeaseId(r) };
    case OPCODE['expire-lease']: {
      const leaseId = readLeaseId(r);
      return { type: 'expire-lease', leaseId, proposerTerm: r.uvarint('proposerTerm') };
    }
    case OPCODE.acquire: {
      const leaseId = readLeaseId(r);
      const flags = readFlags(r, FLAG_SHARED | FLAG_WAIT);
      const mode: LockMode = (flags & FLAG_SHARED) !== 0 ? 'shared' : 'exclusive';
      return { type: 'acquire', name: r.string('name'), leaseId, mode, wait: (flags & FLAG_WAIT) !== 0 };
    }
    case OPCODE.release: {
      const leaseId = readLeaseId(r);
      const token = r.uvarint('token');
      return { type: 'release', name: r.string('name'), leaseId, token };
    }
    case OPCODE['withdraw-wait']: {
      const leaseId = readLeaseId(r);
      return { type: 'withdraw-wait', name: r.string('name'), leaseId };
    }
    default:
      throw new CorruptCommandError(`corrupt lock command: unknown opcode ${opcode}`);
  }
}

function readLeaseId(r: ByteReader): number {
  const leaseId = r.uvarint('leaseId');
  if (leaseId === 0) throw new CorruptCommandError('corrupt lock command: lease id 0 (ids are 1..2^53-1)');
  return leaseId;
}

function readFlags(r: ByteReader, known: number): number {
  const at = r.offset;
  const flags = r.u8('flags');
  if ((flags & ~known) !== 0) {
    throw new CorruptCommandError(`corrupt lock command: unknown flag bits 0x${flags.toString(16)} at byte ${at}`);
  }
  return flags;
}

function assertName(name: string): void {
  assert(typeof name === 'string' && isWellFormed(name), 'lock name must be a well-formed string (no lone surrogates)');
}

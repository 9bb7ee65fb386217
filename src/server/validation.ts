import type { LockMode } from '../lock/commands.js';
import { MAX_LEASE_ID } from '../lock/commands.js';
import type { LockLimits } from '../lock/limits.js';
import { isWellFormed, utf8ByteLength } from '../lock/lockName.js';
import { invalidArgument } from './apiError.js';
import type { AcquireRequest, GetLockRequest, GrantRequest, ReleaseRequest } from './apiProto.js';

/**
 * Request validation: every field of every request is checked here, before
 * anything is proposed, so bad input never reaches the log (design.md §5).
 * Each refusal is INVALID_ARGUMENT with a message saying what was wrong and
 * what is accepted. The state machine checks names and TTLs again on apply
 * (the same limits on every replica); these checks only make the answer early
 * and precise.
 */

/** MAX_WAIT_MS caps Acquire's wait_ms: one hour. A longer wait is almost certainly a unit mistake. */
export const MAX_WAIT_MS = 3_600_000;

const MAX_ID = BigInt(MAX_LEASE_ID);
const ID_RANGE = `1 to ${MAX_LEASE_ID} (2^53-1)`;
const NAME_RULE = 'printable UTF-8 without control characters (U+0000-U+001F, U+007F-U+009F)';

export interface ValidGrant {
  /** leaseId: the client's chosen id, or null when the server picks one. */
  readonly leaseId: number | null;
  readonly ttlMs: number;
}

export interface ValidAcquire {
  readonly name: string;
  readonly leaseId: number;
  readonly mode: LockMode;
  /** waitMs: 0 tries once. */
  readonly waitMs: number;
}

export interface ValidRelease {
  readonly name: string;
  readonly leaseId: number;
  readonly token: number;
}

export function validateGrant(req: GrantRequest, limits: LockLimits): ValidGrant {
  const leaseId = parseInteger(req.leaseId, 'lease_id');
  const ttlMs = validateTtl(req.ttlMs, limits);
  if (leaseId === 0n) return { leaseId: null, ttlMs };
  return { leaseId: checkId(leaseId, 'lease_id', 'a lease id, or 0 to let the server pick one'), ttlMs };
}

export function validateAcquire(req: AcquireRequest, limits: LockLimits): ValidAcquire {
  return {
    name: validateName(req.name, limits),
    leaseId: validateLeaseId(req.leaseId),
    mode: validateMode(req.mode),
    waitMs: validateWaitMs(req.waitMs),
  };
}

export function validateRelease(req: ReleaseRequest, limits: LockLimits): ValidRelease {
  return {
    name: validateName(req.name, limits),
    leaseId: validateLeaseId(req.leaseId),
    token: validateToken(req.token),
  };
}

export function validateGetLock(req: GetLockRequest, limits: LockLimits): string {
  return validateName(req.name, limits);
}

/** validateLeaseId accepts a lease id in 1..2^53-1, as a decimal string or a number. */
export function validateLeaseId(value: unknown): number {
  return checkId(parseInteger(value, 'lease_id'), 'lease_id', 'a lease id');
}

/** validateToken accepts a fencing token (a Raft index) in 1..2^53-1. */
export function validateToken(value: unknown): number {
  return checkId(parseInteger(value, 'token'), 'token', 'the fencing token Acquire returned');
}

export function validateTtl(value: unknown, limits: LockLimits): number {
  const ttl = parseInteger(value, 'ttl_ms');
  if (ttl < BigInt(limits.minTtlMs) || ttl > BigInt(limits.maxTtlMs)) {
    throw invalidArgument(`ttl_ms ${ttl} is out of range; accepted: ${limits.minTtlMs} to ${limits.maxTtlMs} ms`);
  }
  return Number(ttl);
}

export function validateWaitMs(value: unknown): number {
  const wait = parseInteger(value, 'wait_ms');
  if (wait < 0n) throw invalidArgument(`wait_ms ${wait} is negative; accepted: 0 (try once) to ${MAX_WAIT_MS} ms`);
  if (wait > BigInt(MAX_WAIT_MS)) throw invalidArgument(`wait_ms ${wait} is too long; accepted: 0 (try once) to ${MAX_WAIT_MS} ms (one hour)`);
  return Number(wait);
}

/** validateMode accepts the LockMode names proto-loader decodes; an undefined enum value arrives as a number. */
export function validateMode(value: unknown): LockMode {
  if (value === 'EXCLUSIVE' || value === 0) return 'exclusive';
  if (value === 'SHARED' || value === 1) return 'shared';
  throw invalidArgument(`mode ${show(value)} is unknown; accepted: EXCLUSIVE (0) or SHARED (1)`);
}

/**
 * validateName accepts 1..maxNameBytes bytes of UTF-8 with no control
 * characters (C0, DEL, C1): names travel through logs, metadata and terminals,
 * where such characters hide or forge text.
 */
export function validateName(value: unknown, limits: LockLimits): string {
  const accepted = `accepted: 1 to ${limits.maxNameBytes} bytes of ${NAME_RULE}`;
  if (typeof value !== 'string') throw invalidArgument(`lock name must be a string, got ${show(value)}; ${accepted}`);
  if (value.length === 0) throw invalidArgument(`lock name is empty; ${accepted}`);
  const bytes = utf8ByteLength(value);
  if (bytes > limits.maxNameBytes) {
    throw invalidArgument(`lock name ${preview(value)} is ${bytes} bytes of UTF-8; ${accepted}`);
  }
  if (!isWellFormed(value)) throw invalidArgument(`lock name ${preview(value)} contains a lone UTF-16 surrogate (not valid UTF-8); ${accepted}`);
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c <= 0x1f || (c >= 0x7f && c <= 0x9f)) {
      const code = `U+${c.toString(16).toUpperCase().padStart(4, '0')}`;
      throw invalidArgument(`lock name ${preview(value)} contains control character ${code} at position ${i}; ${accepted}`);
    }
  }
  return value;
}

/** parseInteger reads a 64-bit integer field: a decimal string (proto-loader `longs: String`) or a JS integer. */
function parseInteger(value: unknown, field: string): bigint {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  if (typeof value === 'string' && /^-?[0-9]{1,20}$/.test(value)) return BigInt(value);
  throw invalidArgument(`${field} ${show(value)} is not an integer; accepted: a decimal integer`);
}

function checkId(value: bigint, field: string, what: string): number {
  if (value === 0n) throw invalidArgument(`${field} is missing (0); accepted: ${what}, ${ID_RANGE}`);
  if (value < 0n || value > MAX_ID) throw invalidArgument(`${field} ${value} is out of range; accepted: ${what}, ${ID_RANGE}`);
  return Number(value);
}

/** preview quotes a name for an error message, cut to 40 characters, with control characters escaped by JSON. */
function preview(name: string): string {
  return JSON.stringify(name.length > 40 ? `${name.slice(0, 40)}...` : name);
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  const s = typeof value === 'bigint' ? value.toString() : JSON.stringify(value) ?? String(value);
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}

import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { resolveLimits } from '../../../src/lock/limits.js';
import { ApiError } from '../../../src/server/apiError.js';
import {
  MAX_WAIT_MS,
  validateAcquire,
  validateGetLock,
  validateGrant,
  validateLeaseId,
  validateMode,
  validateName,
  validateRelease,
  validateToken,
  validateTtl,
  validateWaitMs,
} from '../../../src/server/validation.js';

const limits = resolveLimits({ maxNameBytes: 16, minTtlMs: 1000, maxTtlMs: 60_000 });

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).code).toBe(grpc.status.INVALID_ARGUMENT);
    return (err as ApiError).message;
  }
  throw new Error('expected INVALID_ARGUMENT');
}

describe('lease ids and tokens', () => {
  it('accept decimal strings and safe integers in 1..2^53-1', () => {
    expect(validateLeaseId('1')).toBe(1);
    expect(validateLeaseId('9007199254740991')).toBe(Number.MAX_SAFE_INTEGER);
    expect(validateLeaseId(42)).toBe(42);
    expect(validateToken('17')).toBe(17);
  });

  it.each([
    ['0', /lease_id is missing \(0\); accepted: a lease id, 1 to 9007199254740991/],
    ['9007199254740992', /lease_id 9007199254740992 is out of range; accepted: a lease id, 1 to 9007199254740991 \(2\^53-1\)/],
    ['18446744073709551615', /lease_id 18446744073709551615 is out of range/],
    ['-3', /lease_id -3 is out of range/],
    ['12a', /lease_id "12a" is not an integer; accepted: a decimal integer/],
    ['', /lease_id "" is not an integer/],
    [1.5, /lease_id 1.5 is not an integer/],
    [undefined, /lease_id nothing is not an integer/],
  ])('lease id %j is refused', (value, message) => {
    expect(refusal(() => validateLeaseId(value))).toMatch(message);
  });

  it('tokens say what a token is', () => {
    expect(refusal(() => validateToken('0'))).toMatch(/token is missing \(0\); accepted: the fencing token Acquire returned, 1 to/);
    expect(refusal(() => validateToken('99999999999999999999'))).toMatch(/token 99999999999999999999 is out of range/);
  });
});

describe('Grant', () => {
  it('lease_id 0 lets the server pick; a chosen id is kept', () => {
    expect(validateGrant({ ttlMs: '5000', leaseId: '0' }, limits)).toEqual({ leaseId: null, ttlMs: 5000 });
    expect(validateGrant({ ttlMs: '5000', leaseId: '77' }, limits)).toEqual({ leaseId: 77, ttlMs: 5000 });
  });

  it.each([
    ['999', /ttl_ms 999 is out of range; accepted: 1000 to 60000 ms/],
    ['60001', /ttl_ms 60001 is out of range; accepted: 1000 to 60000 ms/],
    ['0', /ttl_ms 0 is out of range/],
    ['-5', /ttl_ms -5 is out of range/],
    ['99999999999999999999', /ttl_ms 99999999999999999999 is out of range/],
  ])('ttl %s is refused', (ttl, message) => {
    expect(refusal(() => validateTtl(ttl, limits))).toMatch(message);
  });

  it('checks the lease id too', () => {
    expect(refusal(() => validateGrant({ ttlMs: '5000', leaseId: '9007199254740992' }, limits))).toMatch(
      /accepted: a lease id, or 0 to let the server pick one/,
    );
  });
});

describe('lock names', () => {
  it('accept 1..maxNameBytes bytes of printable UTF-8', () => {
    expect(validateName('a', limits)).toBe('a');
    expect(validateName('x'.repeat(16), limits)).toBe('x'.repeat(16));
    expect(validateName('ключ-🔒', limits)).toBe('ключ-🔒');
  });

  it('refuses an empty name', () => {
    expect(refusal(() => validateName('', limits))).toBe(
      'lock name is empty; accepted: 1 to 16 bytes of printable UTF-8 without control characters (U+0000-U+001F, U+007F-U+009F)',
    );
  });

  it('measures UTF-8 bytes, not characters', () => {
    expect(refusal(() => validateName('x'.repeat(17), limits))).toMatch(/is 17 bytes of UTF-8; accepted: 1 to 16 bytes/);
    expect(refusal(() => validateName('ключключк', limits))).toMatch(/is 18 bytes of UTF-8/);
  });

  it.each([
    ['a\nb', 'U+000A', 1],
    ['\u0000', 'U+0000', 0],
    ['ab\u007f', 'U+007F', 2],
    ['a\u0085', 'U+0085', 1],
    ['abc\t', 'U+0009', 3],
  ])('names the control character in %j', (name, code, position) => {
    expect(refusal(() => validateName(name, limits))).toMatch(new RegExp(`contains control character ${code.replace('+', '\\+')} at position ${position}; accepted`));
  });

  it('refuses a lone surrogate and a non-string', () => {
    expect(refusal(() => validateName('a\ud800', limits))).toMatch(/lone UTF-16 surrogate/);
    expect(refusal(() => validateName(5, limits))).toMatch(/lock name must be a string, got 5/);
  });
});

describe('mode and wait_ms', () => {
  it('accepts the enum names and numbers', () => {
    expect(validateMode('EXCLUSIVE')).toBe('exclusive');
    expect(validateMode('SHARED')).toBe('shared');
    expect(validateMode(1)).toBe('shared');
  });

  it('refuses an unknown mode', () => {
    expect(refusal(() => validateMode(7))).toBe('mode 7 is unknown; accepted: EXCLUSIVE (0) or SHARED (1)');
    expect(refusal(() => validateMode('UPGRADE'))).toMatch(/mode "UPGRADE" is unknown/);
  });

  it('accepts 0..MAX_WAIT_MS', () => {
    expect(validateWaitMs('0')).toBe(0);
    expect(validateWaitMs(String(MAX_WAIT_MS))).toBe(MAX_WAIT_MS);
  });

  it('refuses negative and absurd waits', () => {
    expect(refusal(() => validateWaitMs('-1'))).toBe('wait_ms -1 is negative; accepted: 0 (try once) to 3600000 ms');
    expect(refusal(() => validateWaitMs('3600001'))).toBe('wait_ms 3600001 is too long; accepted: 0 (try once) to 3600000 ms (one hour)');
    expect(refusal(() => validateWaitMs('9223372036854775807'))).toMatch(/too long/);
  });
});

describe('whole requests', () => {
  it('Acquire, Release and Get', () => {
    expect(validateAcquire({ name: 'a', leaseId: '3', mode: 'SHARED', waitMs: '100' }, limits)).toEqual({ name: 'a', leaseId: 3, mode: 'shared', waitMs: 100 });
    expect(validateRelease({ name: 'a', leaseId: '3', token: '9' }, limits)).toEqual({ name: 'a', leaseId: 3, token: 9 });
    expect(validateGetLock({ name: 'a' }, limits)).toBe('a');
    expect(refusal(() => validateRelease({ name: 'a', leaseId: '3', token: '0' }, limits))).toMatch(/token is missing/);
  });
});

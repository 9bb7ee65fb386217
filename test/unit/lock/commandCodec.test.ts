import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LockInvariantError } from '../../../src/lock/assert.js';
import { COMMAND_VERSION, decodeCommand, encodeCommand } from '../../../src/lock/commandCodec.js';
import type { Command } from '../../../src/lock/commands.js';
import { CorruptCommandError } from '../../../src/lock/errors.js';
import { commandArb } from './arbitraries.js';

/** decodeOrError returns the decoded command, or the error decoding threw. */
function decodeOrError(bytes: Uint8Array): Command | Error {
  try {
    return decodeCommand(bytes);
  } catch (err) {
    return err as Error;
  }
}

describe('command encoding', () => {
  it('has a documented, compact layout', () => {
    expect(Array.from(encodeCommand({ type: 'grant-lease', leaseId: 300, ttlMs: 1000, idempotent: true }))).toEqual([
      COMMAND_VERSION, 1, 0xac, 0x02, 0xe8, 0x07, 0x01,
    ]);
    expect(Array.from(encodeCommand({ type: 'revoke-lease', leaseId: 5 }))).toEqual([1, 2, 5]);
    expect(Array.from(encodeCommand({ type: 'expire-lease', leaseId: 5, proposerTerm: 7 }))).toEqual([1, 3, 5, 7]);
    expect(Array.from(encodeCommand({ type: 'acquire', name: 'ab', leaseId: 5, mode: 'shared', wait: true }))).toEqual([1, 4, 5, 0b11, 2, 0x61, 0x62]);
    expect(Array.from(encodeCommand({ type: 'release', name: 'é', leaseId: 5, token: 9 }))).toEqual([1, 5, 5, 9, 2, 0xc3, 0xa9]);
    expect(Array.from(encodeCommand({ type: 'withdraw-wait', name: 'a', leaseId: 5 }))).toEqual([1, 6, 5, 1, 0x61]);
  });

  it('round-trips the extremes of every field', () => {
    const max = Number.MAX_SAFE_INTEGER;
    const samples: Command[] = [
      { type: 'grant-lease', leaseId: max, ttlMs: max, idempotent: false },
      { type: 'grant-lease', leaseId: 1, ttlMs: 0, idempotent: true },
      { type: 'expire-lease', leaseId: max, proposerTerm: 0 },
      { type: 'acquire', name: '', leaseId: 1, mode: 'exclusive', wait: false },
      { type: 'acquire', name: '\uFEFF😀\u0000', leaseId: 2 ** 32 + 1, mode: 'shared', wait: false },
      { type: 'release', name: 'x'.repeat(1000), leaseId: 2 ** 31, token: max },
    ];
    for (const command of samples) expect(decodeCommand(encodeCommand(command))).toEqual(command);
    expect(encodeCommand(samples[0]!).length).toBe(2 + 8 + 8 + 1);
  });

  it('round-trips every well-formed command', () => {
    fc.assert(
      fc.property(commandArb, (command) => {
        expect(decodeCommand(encodeCommand(command))).toEqual(command);
      }),
      { numRuns: 2000 },
    );
  });

  it('rejects every proper prefix of an encoding as truncated', () => {
    fc.assert(
      fc.property(commandArb, (command) => {
        const bytes = encodeCommand(command);
        for (let n = 0; n < bytes.length; n++) {
          expect(() => decodeCommand(bytes.subarray(0, n))).toThrow(CorruptCommandError);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('never misreads garbled bytes: they throw CorruptCommandError or are themselves a canonical encoding', () => {
    const garbled = fc
      .tuple(commandArb, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('set', 'insert', 'delete')), { minLength: 1, maxLength: 3 }))
      .map(([command, edits]) => {
        const bytes = Array.from(encodeCommand(command));
        for (const [at, value, op] of edits) {
          const i = at % (bytes.length + 1);
          if (op === 'set' && i < bytes.length) bytes[i] = value;
          else if (op === 'insert') bytes.splice(i, 0, value);
          else bytes.splice(i, 1);
        }
        return new Uint8Array(bytes);
      });
    fc.assert(
      fc.property(fc.oneof(garbled, fc.uint8Array({ maxLength: 24 })), (bytes) => {
        const decoded = decodeOrError(bytes);
        if (decoded instanceof Error) {
          expect(decoded).toBeInstanceOf(CorruptCommandError);
          expect(decoded.message).toMatch(/^corrupt lock command: /);
        } else {
          expect(encodeCommand(decoded)).toEqual(bytes);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('names what is wrong for each kind of corruption', () => {
    const cases: Array<[number[], RegExp]> = [
      [[], /missing version/],
      [[2, 2, 5], /unknown version 2/],
      [[1, 0, 5], /unknown opcode 0/],
      [[1, 2, 0], /lease id 0/],
      [[1, 2, 0x85, 0x00], /overlong varint/],
      [[1, 2, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x10], /exceeds 2\^53-1/],
      [[1, 2, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], /longer than 8 bytes/],
      [[1, 2, 5, 0], /trailing bytes/],
      [[1, 1, 5, 100, 0b10], /unknown flag bits/],
      [[1, 4, 5, 0b100, 1, 0x61], /unknown flag bits/],
      [[1, 6, 5, 3, 0x61], /name needs 3 bytes/],
      [[1, 6, 5, 1, 0xff], /not valid UTF-8/],
      [[1, 6, 5, 3, 0xed, 0xa0, 0x80], /not valid UTF-8/],
    ];
    for (const [bytes, message] of cases) {
      expect(() => decodeCommand(new Uint8Array(bytes))).toThrow(message);
      expect(() => decodeCommand(new Uint8Array(bytes))).toThrow(CorruptCommandError);
    }
  });

  it('refuses to encode malformed commands, which only a bug could produce', () => {
    const bad: Command[] = [
      { type: 'revoke-lease', leaseId: 0 },
      { type: 'revoke-lease', leaseId: 1.5 },
      { type: 'revoke-lease', leaseId: 2 ** 53 },
      { type: 'grant-lease', leaseId: 1, ttlMs: -1, idempotent: false },
      { type: 'grant-lease', leaseId: 1, ttlMs: Number.NaN, idempotent: false },
      { type: 'expire-lease', leaseId: 1, proposerTerm: -1 },
      { type: 'release', name: 'a', leaseId: 1, token: 0.5 },
      { type: 'acquire', name: 'lone \uD800 surrogate', leaseId: 1, mode: 'shared', wait: false },
      { type: 'withdraw-wait', name: '\uDC00', leaseId: 1 },
    ];
    for (const command of bad) expect(() => encodeCommand(command)).toThrow(LockInvariantError);
  });
});

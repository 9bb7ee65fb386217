import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareNames, isWellFormed, sortNames, utf8ByteLength } from '../../../src/lock/lockName.js';

describe('lock names', () => {
  it('measures UTF-8 bytes like TextEncoder for any well-formed string', () => {
    const encoder = new TextEncoder();
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 30 }), (s) => {
        expect(isWellFormed(s)).toBe(true);
        expect(utf8ByteLength(s)).toBe(encoder.encode(s).length);
      }),
      { numRuns: 500 },
    );
  });

  it('spots lone surrogates, which would not survive UTF-8', () => {
    for (const s of ['\uD800', 'a\uDC00', '\uD83D', '\uDE00\uD83D', 'x\uD800y']) {
      expect(isWellFormed(s)).toBe(false);
      expect(utf8ByteLength(s)).toBe(new TextEncoder().encode(s).length);
    }
    expect(isWellFormed('😀')).toBe(true);
    expect(isWellFormed('')).toBe(true);
  });

  it('sorts by UTF-16 code units, a total order independent of insertion order', () => {
    expect(sortNames(['b', 'a', 'B', '😀', '\uFFFF', 'ab'])).toEqual(['B', 'a', 'ab', 'b', '😀', '\uFFFF']);
    expect(compareNames('a', 'a')).toBe(0);
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 4 })), (names) => {
        expect(sortNames(names)).toEqual(sortNames([...names].reverse()));
      }),
    );
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LockInvariantError } from '../../../src/lock/assert.js';
import { ByteReader, ByteWriter } from '../../../src/lock/binary.js';

const fail = (message: string): Error => new RangeError(message);

describe('ByteWriter and ByteReader', () => {
  it('round-trip varints across the safe integer range at minimal length', () => {
    fc.assert(
      fc.property(fc.oneof(fc.nat(1000), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER })), (n) => {
        const w = new ByteWriter(1);
        w.uvarint(n);
        const bytes = w.finish();
        expect(bytes.length).toBe(Math.max(1, Math.ceil(Math.log2(n + 1) / 7)));
        const r = new ByteReader(bytes, fail);
        expect(r.uvarint('n')).toBe(n);
        r.expectEnd('n');
      }),
      { numRuns: 1000 },
    );
  });

  it('round-trips u32 and strings, growing the buffer as needed', () => {
    const w = new ByteWriter(1);
    w.u32be(0xdeadbeef);
    w.string('x'.repeat(500));
    w.string('');
    const r = new ByteReader(w.finish(), fail);
    expect(r.u32be('u32')).toBe(0xdeadbeef);
    expect(r.string('s')).toBe('x'.repeat(500));
    expect(r.string('empty')).toBe('');
    expect(r.remaining).toBe(0);
  });

  it('keeps a leading byte-order mark as part of the string', () => {
    const w = new ByteWriter();
    w.string('\uFEFFname');
    expect(new ByteReader(w.finish(), fail).string('s')).toBe('\uFEFFname');
  });

  it('reports failures through the reader’s error factory', () => {
    expect(() => new ByteReader(new Uint8Array([0x80]), fail).uvarint('field')).toThrow(RangeError);
    expect(() => new ByteReader(new Uint8Array([1, 2]), fail).u32be('crc')).toThrow(/missing crc/);
  });

  it('asserts on values it cannot represent', () => {
    const w = new ByteWriter();
    expect(() => w.uvarint(-1)).toThrow(LockInvariantError);
    expect(() => w.uvarint(2 ** 53)).toThrow(LockInvariantError);
    expect(() => w.u8(256)).toThrow(LockInvariantError);
    expect(() => w.u32be(2 ** 32)).toThrow(LockInvariantError);
  });
});

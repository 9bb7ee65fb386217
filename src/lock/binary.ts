import { assert, isSafeUint } from './assert.js';

/**
 * ByteWriter and ByteReader are the little binary toolkit shared by the command
 * codec and the snapshot codec: bytes, unsigned LEB128 varints of safe
 * integers, length-prefixed UTF-8 strings and big-endian u32. The reader is
 * strict (no overlong varints, no truncation, no invalid UTF-8) so that every
 * byte string decodes to at most one value and re-encodes to itself.
 */

const utf8Encoder = new TextEncoder();
/** fatal: invalid UTF-8 throws; ignoreBOM: a leading U+FEFF is part of the name, not stripped. */
const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** MAX_VARINT_BYTES is ceil(53 / 7): the longest varint of a safe integer. */
const MAX_VARINT_BYTES = 8;

export class ByteWriter {
  private buf: Uint8Array;
  private len = 0;

  constructor(initialCapacity = 64) {
    this.buf = new Uint8Array(Math.max(16, initialCapacity));
  }

  u8(v: number): void {
    assert(Number.isInteger(v) && v >= 0 && v <= 0xff, () => `u8 out of range: ${v}`);
    this.reserve(1);
    this.buf[this.len++] = v;
  }

  /** uvarint writes a safe unsigned integer as LEB128 with arithmetic, since bitwise ops stop at 32 bits. */
  uvarint(v: number): void {
    assert(isSafeUint(v), () => `uvarint out of range: ${v}`);
    this.reserve(MAX_VARINT_BYTES);
    let n = v;
    while (n >= 0x80) {
      this.buf[this.len++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    this.buf[this.len++] = n;
  }

  u32be(v: number): void {
    assert(Number.isInteger(v) && v >= 0 && v <= 0xffffffff, () => `u32 out of range: ${v}`);
    this.reserve(4);
    this.buf[this.len++] = (v >>> 24) & 0xff;
    this.buf[this.len++] = (v >>> 16) & 0xff;
    this.buf[this.len++] = (v >>> 8) & 0xff;
    this.buf[this.len++] = v & 0xff;
  }

  /** string writes a uvarint byte length then the UTF-8 bytes; the caller guarantees `s` is well formed. */
  string(s: string): void {
    const bytes = utf8Encoder.encode(s);
    this.uvarint(bytes.length);
    this.reserve(bytes.length);
    this.buf.set(bytes, this.len);
    this.len += bytes.length;
  }

  /** view aliases the bytes written so far (e.g. to checksum them); it is invalidated by the next write. */
  view(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }

  /** finish returns an exact-size copy that the writer no longer aliases. */
  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }
}

/** ByteReader reads what ByteWriter wrote; every failure goes through `fail`, so each codec throws its own error type. */
export class ByteReader {
  private pos = 0;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly fail: (message: string) => Error,
  ) {}

  get offset(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.bytes.length - this.pos;
  }

  u8(what: string): number {
    if (this.pos >= this.bytes.length) throw this.fail(`truncated at byte ${this.pos}: missing ${what}`);
    return this.bytes[this.pos++]!;
  }

  uvarint(what: string): number {
    const start = this.pos;
    let value = 0;
    let scale = 1;
    for (let i = 0; i < MAX_VARINT_BYTES; i++) {
      const b = this.u8(what);
      value += (b & 0x7f) * scale;
      if (b < 0x80) {
        if (i > 0 && b === 0) throw this.fail(`overlong varint for ${what} at byte ${start}`);
        if (value > Number.MAX_SAFE_INTEGER) throw this.fail(`${what} at byte ${start} exceeds 2^53-1`);
        return value;
      }
      scale *= 0x80;
    }
    throw this.fail(`varint for ${what} at byte ${start} is longer than ${MAX_VARINT_BYTES} bytes`);
  }

  u32be(what: string): number {
    if (this.remaining < 4) throw this.fail(`truncated at byte ${this.pos}: missing ${what}`);
    const b = this.bytes;
    const p = this.pos;
    this.pos += 4;
    return ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
  }

  string(what: string): string {
    const length = this.uvarint(`${what} length`);
    if (length > this.remaining) {
      throw this.fail(`truncated at byte ${this.pos}: ${what} needs ${length} bytes, ${this.remaining} left`);
    }
    const slice = this.bytes.subarray(this.pos, this.pos + length);
    this.pos += length;
    try {
      return utf8Decoder.decode(slice);
    } catch {
      throw this.fail(`${what} ending at byte ${this.pos} is not valid UTF-8`);
    }
  }

  /** expectEnd rejects trailing bytes: they would mean the writer and reader disagree about the format. */
  expectEnd(what: string): void {
    if (this.remaining !== 0) throw this.fail(`${this.remaining} unexpected trailing bytes after ${what}`);
  }
}

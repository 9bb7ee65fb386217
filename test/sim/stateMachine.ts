import type { Entry } from '../../src/raft/types.js';
import { check, fail } from './assert.js';
import { FNV_OFFSET, fnv1a32, mix32 } from './hash.js';

/**
 * SimStateMachine is what the simulator applies committed entries to. The
 * lock state machine will implement the same interface later.
 */
export interface SimStateMachine {
  /** Index of the last entry applied (or restored from a snapshot). */
  readonly lastApplied: number;
  /** Number of normal (client) entries applied since the beginning of the log. */
  readonly appliedCount: number;
  /** apply applies the entry at lastApplied + 1 and returns its result. */
  apply(entry: Entry): number;
  snapshot(): Uint8Array;
  restore(bytes: Uint8Array): void;
  /** digest summarises the whole state in a number that fits a double exactly. */
  digest(): number;
}

const MAGIC = 0x52534d31; // "RSM1"
const RECENT = 16;
const HEADER_WORDS = 5; // magic, lastApplied, count, hash, recentNext
const SNAPSHOT_BYTES = (HEADER_WORDS + RECENT) * 4 + 4; // + checksum

/**
 * CounterStateMachine counts applied normal entries, keeps a running FNV-1a
 * hash over their payloads and a ring of the last 16 payload hashes (so its
 * snapshot is ~90 bytes and spans several InstallSnapshot chunks). Empty
 * entries are skipped but advance lastApplied.
 */
export class CounterStateMachine implements SimStateMachine {
  lastApplied = 0;
  appliedCount = 0;
  private hash = FNV_OFFSET;
  private readonly recent = new Uint32Array(RECENT);
  private recentNext = 0;

  apply(entry: Entry): number {
    if (entry.index !== this.lastApplied + 1) fail(`state machine: applying ${entry.index} after ${this.lastApplied}`);
    this.lastApplied = entry.index;
    if (entry.type === 'empty') {
      if (entry.data.length !== 0) fail(`state machine: empty entry ${entry.index} carries ${entry.data.length} bytes`);
      return 0;
    }
    const h = fnv1a32(entry.data);
    this.hash = mix32(this.hash, h);
    this.recent[this.recentNext] = h;
    this.recentNext = (this.recentNext + 1) % RECENT;
    this.appliedCount++;
    return this.appliedCount;
  }

  snapshot(): Uint8Array {
    const bytes = new Uint8Array(SNAPSHOT_BYTES);
    const view = new DataView(bytes.buffer);
    const words = [MAGIC, this.lastApplied, this.appliedCount, this.hash, this.recentNext];
    for (let i = 0; i < HEADER_WORDS; i++) view.setUint32(i * 4, words[i] as number, true);
    for (let i = 0; i < RECENT; i++) view.setUint32((HEADER_WORDS + i) * 4, this.recent[i] as number, true);
    view.setUint32(SNAPSHOT_BYTES - 4, fnv1a32(bytes.subarray(0, SNAPSHOT_BYTES - 4)), true);
    return bytes;
  }

  restore(bytes: Uint8Array): void {
    if (bytes.length !== SNAPSHOT_BYTES) fail(`state machine: snapshot of ${bytes.length} bytes, want ${SNAPSHOT_BYTES}`);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    check(view.getUint32(0, true) === MAGIC, 'state machine: snapshot magic mismatch');
    check(view.getUint32(SNAPSHOT_BYTES - 4, true) === fnv1a32(bytes.subarray(0, SNAPSHOT_BYTES - 4)),
      'state machine: snapshot checksum mismatch (chunks reassembled wrongly?)');
    this.lastApplied = view.getUint32(4, true);
    this.appliedCount = view.getUint32(8, true);
    this.hash = view.getUint32(12, true);
    this.recentNext = view.getUint32(16, true);
    check(this.recentNext < RECENT, 'state machine: snapshot ring position out of range');
    for (let i = 0; i < RECENT; i++) this.recent[i] = view.getUint32((HEADER_WORDS + i) * 4, true);
  }

  digest(): number {
    let h = mix32(this.hash, this.recentNext);
    for (let i = 0; i < RECENT; i++) h = mix32(h, this.recent[i] as number);
    // count < 2^20 in any simulated run, so this is exact.
    return this.appliedCount * 4294967296 + h;
  }
}

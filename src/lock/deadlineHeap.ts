import { assert } from './assert.js';

/**
 * DeadlineHeap is a binary min-heap of (deadlineMs, leaseId) pairs ordered by
 * deadline, then id — the canonical expiry order. It stores the pairs in two
 * parallel arrays so 100,000+ entries cost no per-entry objects. It knows
 * nothing of leases: LeaseClock uses it with lazy deletion (an entry whose
 * deadline no longer matches its lease is skipped when it surfaces).
 */
export class DeadlineHeap {
  private deadlines: number[] = [];
  private ids: number[] = [];

  get size(): number {
    return this.ids.length;
  }

  push(deadlineMs: number, leaseId: number): void {
    assert(Number.isFinite(deadlineMs), () => `deadline ${deadlineMs} is not finite`);
    this.deadlines.push(deadlineMs);
    this.ids.push(leaseId);
    this.siftUp(this.ids.length - 1);
  }

  /** peekDeadline is the earliest deadline, or Infinity when empty. */
  peekDeadline(): number {
    return this.ids.length === 0 ? Infinity : this.deadlines[0]!;
  }

  peekId(): number {
    assert(this.ids.length > 0, 'peek on an empty heap');
    return this.ids[0]!;
  }

  pop(): void {
    assert(this.ids.length > 0, 'pop on an empty heap');
    const lastDeadline = this.deadlines.pop()!;
    const lastId = this.ids.pop()!;
    if (this.ids.length === 0) return;
    this.deadlines[0] = lastDeadline;
    this.ids[0] = lastId;
    this.siftDown(0);
  }

  /** rebuild replaces the contents in O(n) (Floyd's heapify). */
  rebuild(deadlines: number[], ids: number[]): void {
    assert(deadlines.length === ids.length, 'rebuild needs one id per deadline');
    this.deadlines = deadlines;
    this.ids = ids;
    for (let i = (ids.length >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  clear(): void {
    this.deadlines = [];
    this.ids = [];
  }

  private less(i: number, j: number): boolean {
    const di = this.deadlines[i]!;
    const dj = this.deadlines[j]!;
    return di < dj || (di === dj && this.ids[i]! < this.ids[j]!);
  }

  private swap(i: number, j: number): void {
    const d = this.deadlines[i]!;
    this.deadlines[i] = this.deadlines[j]!;
    this.deadlines[j] = d;
    const id = this.ids[i]!;
    this.ids[i] = this.ids[j]!;
    this.ids[j] = id;
  }

  private siftUp(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(i, parent)) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private siftDown(i: number): void {
    const n = this.ids.length;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) return;
      const right = left + 1;
      const child = right < n && this.less(right, left) ? right : left;
      if (!this.less(child, i)) return;
      this.swap(i, child);
      i = child;
    }
  }
}

import { check, fail } from './assert.js';

/** Timed is anything the queue can order: the queue assigns timeMs and seq on push. */
export interface Timed {
  timeMs: number;
  seq: number;
}

/**
 * EventQueue is a binary min-heap ordered by (timeMs, seq). `seq` is assigned
 * on push, so events scheduled for the same instant pop in the order they were
 * scheduled: ties never depend on heap layout, and a seed always replays.
 */
export class EventQueue<T extends Timed> {
  private readonly heap: T[] = [];
  private seqNext = 0;
  /** Time of the event returned by the last pop(). */
  nowMs = 0;

  constructor(private readonly capacity: number) {
    check(capacity > 0, 'event queue: capacity must be positive');
  }

  get size(): number {
    return this.heap.length;
  }

  push(timeMs: number, item: T): void {
    if (timeMs < this.nowMs) fail(`event queue: scheduling into the past (${timeMs} < ${this.nowMs})`);
    if (this.heap.length >= this.capacity) fail(`event queue: more than ${this.capacity} pending events`);
    item.timeMs = timeMs;
    item.seq = this.seqNext++;
    const heap = this.heap;
    let i = heap.length;
    heap.push(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent] as T;
      if (!before(item, p)) break;
      heap[i] = p;
      i = parent;
    }
    heap[i] = item;
  }

  pop(): T {
    const heap = this.heap;
    if (heap.length === 0) fail('event queue: pop from an empty queue');
    const top = heap[0] as T;
    this.nowMs = top.timeMs;
    const last = heap.pop() as T;
    const size = heap.length;
    if (size > 0) {
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= size) break;
        let child = left;
        const right = left + 1;
        if (right < size && before(heap[right] as T, heap[left] as T)) child = right;
        const c = heap[child] as T;
        if (!before(c, last)) break;
        heap[i] = c;
        i = child;
      }
      heap[i] = last;
    }
    return top;
  }
}

function before(a: Timed, b: Timed): boolean {
  return a.timeMs < b.timeMs || (a.timeMs === b.timeMs && a.seq < b.seq);
}

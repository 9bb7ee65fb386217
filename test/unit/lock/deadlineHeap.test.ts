import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LockInvariantError } from '../../../src/lock/assert.js';
import { DeadlineHeap } from '../../../src/lock/deadlineHeap.js';

function drain(heap: DeadlineHeap): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  while (heap.size > 0) {
    out.push([heap.peekDeadline(), heap.peekId()]);
    heap.pop();
  }
  return out;
}

const byDeadlineThenId = (a: [number, number], b: [number, number]): number => a[0] - b[0] || a[1] - b[1];

describe('DeadlineHeap', () => {
  it('pops in deadline order, ties by id', () => {
    const heap = new DeadlineHeap();
    for (const [d, id] of [[30, 1], [10, 9], [20, 4], [10, 2], [30, 0]] as const) heap.push(d, id);
    expect(drain(heap)).toEqual([[10, 2], [10, 9], [20, 4], [30, 0], [30, 1]]);
    expect(heap.peekDeadline()).toBe(Infinity);
  });

  it('orders any pushes and any rebuild the same as a sort', () => {
    const pairs = fc.array(fc.tuple(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 1, max: 20 })), { maxLength: 200 });
    fc.assert(
      fc.property(pairs, pairs, (pushed, rebuilt) => {
        const heap = new DeadlineHeap();
        for (const [d, id] of pushed) heap.push(d, id);
        expect(drain(heap)).toEqual([...pushed].sort(byDeadlineThenId));
        heap.rebuild(rebuilt.map((p) => p[0]), rebuilt.map((p) => p[1]));
        expect(heap.size).toBe(rebuilt.length);
        expect(drain(heap)).toEqual([...rebuilt].sort(byDeadlineThenId));
      }),
      { numRuns: 200 },
    );
  });

  it('asserts on misuse', () => {
    const heap = new DeadlineHeap();
    expect(() => heap.pop()).toThrow(LockInvariantError);
    expect(() => heap.peekId()).toThrow(LockInvariantError);
    expect(() => heap.push(Number.NaN, 1)).toThrow(LockInvariantError);
    expect(() => heap.rebuild([1], [])).toThrow(LockInvariantError);
  });
});

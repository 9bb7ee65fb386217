import { describe, expect, it } from 'vitest';
import { BoundedQueue } from '../../../src/transport/boundedQueue.js';
import { WarnLimiter } from '../../../src/transport/warnLimiter.js';

describe('BoundedQueue', () => {
  it('is FIFO below capacity', () => {
    const q = new BoundedQueue<number>(3);
    expect(q.push(1)).toBeUndefined();
    expect(q.push(2)).toBeUndefined();
    expect(q.peek()).toBe(1);
    expect(q.shift()).toBe(1);
    expect(q.shift()).toBe(2);
    expect(q.shift()).toBeUndefined();
    expect(q.size).toBe(0);
  });

  it('evicts and returns the oldest item when full, across wrap-around', () => {
    const q = new BoundedQueue<number>(3);
    const evicted: number[] = [];
    for (let i = 1; i <= 10; i++) {
      const e = q.push(i);
      if (e !== undefined) evicted.push(e);
      expect(q.size).toBeLessThanOrEqual(3);
      if (i === 5) expect(q.shift()).toBe(3);
    }
    expect(evicted).toEqual([1, 2, 4, 5, 6, 7]);
    expect([q.shift(), q.shift(), q.shift(), q.shift()]).toEqual([8, 9, 10, undefined]);
  });

  it('clear reports what it dropped', () => {
    const q = new BoundedQueue<string>(4);
    q.push('a');
    q.push('b');
    expect(q.clear()).toBe(2);
    expect(q.size).toBe(0);
    expect(q.peek()).toBeUndefined();
  });

  it('refuses a capacity that is not a positive integer', () => {
    expect(() => new BoundedQueue(0)).toThrow(/capacity/);
    expect(() => new BoundedQueue(1.5)).toThrow(/capacity/);
  });
});

describe('WarnLimiter', () => {
  it('lets one warning per key through per interval and counts the rest', () => {
    let now = 0;
    const w = new WarnLimiter(1000, () => now);
    expect(w.take('a')).toBe(0);
    expect(w.take('a')).toBeNull();
    expect(w.take('b')).toBe(0);
    now = 500;
    expect(w.take('a')).toBeNull();
    now = 1000;
    expect(w.take('a')).toBe(2);
    expect(w.take('a')).toBeNull();
  });
});

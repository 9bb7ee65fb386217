import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Driver } from './driver.js';

/** firstLocks is the status page's bounded view: the first `limit` locks in canonical order, without sorting them all. */
describe('LockStateMachine.firstLocks', () => {
  it('equals the first `limit` of listLocks, for any names in any insertion order', () => {
    fc.assert(fc.property(
      fc.uniqueArray(fc.string({ minLength: 1, maxLength: 6, unit: 'grapheme' }), { maxLength: 60 }),
      fc.nat({ max: 70 }),
      (names, limit) => {
        const d = new Driver();
        d.grant(1, 60_000);
        for (const name of names) d.acquire(name, 1);
        const expected = d.sm.listLocks().slice(0, limit).map((name) => d.sm.getLock(name));
        expect(d.sm.firstLocks(limit)).toEqual(expected);
      },
    ), { numRuns: 200 });
  });

  it('carries holders and the queue of each lock', () => {
    const d = new Driver();
    d.grant(1, 60_000);
    d.grant(2, 60_000);
    d.acquire('b', 1);
    d.acquire('a', 1);
    d.acquire('a', 2, 'exclusive', true);
    expect(d.sm.firstLocks(1)).toEqual([{ name: 'a', holders: [{ leaseId: 1, token: 4, mode: 'exclusive' }], waiters: [{ leaseId: 2, mode: 'exclusive', queuedIndex: 5 }] }]);
    expect(d.sm.firstLocks(0)).toEqual([]);
    expect(() => d.sm.firstLocks(-1)).toThrow(/limit must be a non-negative integer/);
  });
});

import { describe, expect, it } from 'vitest';
import { LockInvariantError } from '../../../src/lock/assert.js';
import { checkLockTable } from '../../../src/lock/invariants.js';
import { LockTable } from '../../../src/lock/lockTable.js';

/** healthy: lease 1 holds "a" shared, lease 2 shared too, lease 3 queued exclusive; lastAppliedIndex 10. */
function healthy(): LockTable {
  const t = new LockTable();
  t.lastAppliedIndex = 10;
  for (const id of [1, 2, 3]) t.createLease(id, 1000, id);
  const a = t.lockOrCreate('a');
  t.addHolder(a, 1, 'shared', 4);
  t.addHolder(a, 2, 'shared', 5);
  t.enqueue(a, 3, 'exclusive', 6);
  return t;
}

describe('checkLockTable', () => {
  it('accepts a healthy table', () => {
    expect(() => checkLockTable(healthy())).not.toThrow();
  });

  const breakages: Array<[string, (t: LockTable) => void, RegExp]> = [
    ['an exclusive holder beside a shared one', (t) => { t.locks.get('a')!.holders.push({ leaseId: 3, mode: 'exclusive', token: 7 }); }, /exclusive/],
    ['a holder whose lease is gone', (t) => { t.leases.delete(2); }, /missing lease 2/],
    ['a holder missing from its lease index', (t) => { const l = t.leases.get(1)!; l.held = new Map([...l.held].filter(([name]) => name !== 'a')); }, /held index/],
    ['a lease claiming a hold it does not have', (t) => { const l = t.leases.get(3)!; l.held = new Map([...l.held, ['b', 7]]); }, /claims to hold b/],
    ['a waiter that also holds', (t) => { t.locks.get('a')!.waiters.push({ leaseId: 1, mode: 'shared', queuedIndex: 8 }); }, /twice/],
    ['a grantable head waiter', (t) => { t.locks.get('a')!.waiters[0] = { leaseId: 3, mode: 'shared', queuedIndex: 6 }; }, /grantable waiter/],
    ['a token past lastAppliedIndex', (t) => { t.lastAppliedIndex = 5; }, /outside|out of range/],
    ['decreasing holder tokens', (t) => { t.locks.get('a')!.holders.reverse(); }, /tokens decrease/],
    ['a wrong holder count', (t) => { t.holderCount++; }, /holder counts/],
    ['a wrong waiter count', (t) => { t.waiterCount--; }, /waiter counts/],
    ['an idle lock left behind', (t) => { t.lockOrCreate('idle'); }, /no holders/],
  ];

  for (const [what, breakIt, message] of breakages) {
    it(`throws on ${what}`, () => {
      const t = healthy();
      breakIt(t);
      expect(() => checkLockTable(t)).toThrow(LockInvariantError);
      expect(() => checkLockTable(t)).toThrow(message);
    });
  }
});

describe('LockTable primitives', () => {
  it('assert against double bookings and unknown entries', () => {
    const t = healthy();
    const a = t.locks.get('a')!;
    expect(() => t.createLease(1, 1000, 9)).toThrow(LockInvariantError);
    expect(() => t.addHolder(a, 1, 'shared', 9)).toThrow(LockInvariantError);
    expect(() => t.enqueue(a, 2, 'shared', 9)).toThrow(LockInvariantError);
    expect(() => t.removeHolder(a, 3)).toThrow(LockInvariantError);
    expect(() => t.removeWaiter(a, 1)).toThrow(LockInvariantError);
    expect(() => t.deleteLease(1)).toThrow(LockInvariantError);
    expect(() => t.addHolder(a, 99, 'shared', 9)).toThrow(LockInvariantError);
  });
});

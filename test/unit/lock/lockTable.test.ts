import { describe, expect, it } from 'vitest';
import { LockTable } from '../../../src/lock/lockTable.js';

/**
 * LockTable shares one empty held/waiting index among all leases that hold and
 * wait on nothing (memory: 100,000 idle leases). These tests fail if a change
 * to one lease leaks into that shared instance and so into every other lease.
 */
describe('LockTable per-lease indexes', () => {
  it('a hold, a wait and their removal on one lease leave every other lease empty', () => {
    const t = new LockTable();
    t.createLease(1, 1000, 1);
    t.createLease(2, 1000, 2);
    t.createLease(3, 1000, 3);
    const a = t.lockOrCreate('a');
    t.addHolder(a, 1, 'exclusive', 4);
    t.enqueue(a, 2, 'exclusive', 5);
    expect([...t.leases.get(1)!.held]).toEqual([['a', 4]]);
    expect([...t.leases.get(2)!.waiting]).toEqual(['a']);
    expect(t.leases.get(3)!.held.size).toBe(0);
    expect(t.leases.get(3)!.waiting.size).toBe(0);
    expect(t.leases.get(2)!.held.size).toBe(0);
    expect(t.leases.get(1)!.waiting.size).toBe(0);

    t.removeHolder(a, 1);
    const promoted = t.promote(a, 6);
    expect(promoted).toEqual([{ name: 'a', leaseId: 2, token: 6, mode: 'exclusive' }]);
    expect(t.leases.get(1)!.held.size).toBe(0);
    expect([...t.leases.get(2)!.held]).toEqual([['a', 6]]);
    expect(t.leases.get(2)!.waiting.size).toBe(0);
    expect(t.leases.get(3)!.held.size).toBe(0);

    t.createLease(4, 1000, 7);
    expect(t.leases.get(4)!.held.size).toBe(0);
    expect(t.leases.get(4)!.waiting.size).toBe(0);
  });

  it('a lease holding one, two, then one lock again answers lookups and iteration like a Map', () => {
    const t = new LockTable();
    t.createLease(1, 1000, 1);
    const a = t.lockOrCreate('a');
    const b = t.lockOrCreate('b');
    t.addHolder(a, 1, 'exclusive', 2);
    const lease = t.leases.get(1)!;
    expect(lease.held.get('a')).toBe(2);
    expect(lease.held.has('b')).toBe(false);
    expect([...lease.held.keys()]).toEqual(['a']);
    const seen: Array<[string, number]> = [];
    lease.held.forEach((token, name) => seen.push([name, token]));
    expect(seen).toEqual([['a', 2]]);
    t.addHolder(b, 1, 'exclusive', 3);
    expect([...lease.held]).toEqual([['a', 2], ['b', 3]]);
    t.removeHolder(a, 1);
    expect([...lease.held.entries()]).toEqual([['b', 3]]);
    expect([...lease.held.values()]).toEqual([3]);
    t.removeHolder(b, 1);
    expect(lease.held.size).toBe(0);
    t.addHolder(b, 1, 'shared', 4);
    expect([...lease.held]).toEqual([['b', 4]]);
  });

  it('shared holders and queued waiters keep grant and FIFO order past the first', () => {
    const t = new LockTable();
    for (const id of [1, 2, 3, 4]) t.createLease(id, 1000, id);
    const a = t.lockOrCreate('a');
    t.addHolder(a, 1, 'shared', 5);
    t.addHolder(a, 2, 'shared', 6);
    t.enqueue(a, 3, 'exclusive', 7);
    t.enqueue(a, 4, 'exclusive', 8);
    expect(a.holders.map((h) => h.leaseId)).toEqual([1, 2]);
    expect(a.waiters.map((w) => w.leaseId)).toEqual([3, 4]);
    expect(t.holderCount).toBe(2);
    expect(t.waiterCount).toBe(2);
  });
});

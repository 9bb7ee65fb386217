import { assert, isSafeUint } from './assert.js';
import { isValidLeaseId } from './commands.js';
import type { LockTable } from './lockTable.js';

/**
 * checkLockTable asserts every invariant of the lock table, in O(state). The
 * simulator and the tests call it after every step; restore calls it on every
 * snapshot it accepts. It throws LockInvariantError naming the first violation.
 *
 * Invariants:
 *  - a lock has one exclusive holder, or only shared holders; never both kinds;
 *  - a lock with waiters has holders, and its head waiter is not grantable
 *    (promotion runs to a fixpoint in the same apply);
 *  - every holder and waiter lease exists, appears once per lock, and never
 *    both holds and waits on the same lock;
 *  - the leases' held/waiting indexes mirror the locks exactly, and the counts match
 *    (also per owner);
 *  - index bookkeeping: grants and waits come after their lease's grant, no
 *    index exceeds lastAppliedIndex, holder tokens never decrease along a
 *    lock's holders and queuedIndex strictly increases along its queue.
 */
export function checkLockTable(table: LockTable): void {
  const applied = table.lastAppliedIndex;
  assert(isSafeUint(applied), () => `lastAppliedIndex ${applied} is not a safe integer`);
  let holders = 0;
  let waiters = 0;
  for (const [name, lock] of table.locks) {
    assert(lock.name === name && name.length > 0, () => `lock keyed ${JSON.stringify(name)} is named ${JSON.stringify(lock.name)}`);
    assert(lock.holders.length > 0, () => `lock ${name} has no holders (idle locks are deleted; waiters need holders)`);
    const exclusive = lock.holders.filter((h) => h.mode === 'exclusive').length;
    assert(exclusive === 0 || lock.holders.length === 1, () => `lock ${name} has ${exclusive} exclusive among ${lock.holders.length} holders`);
    const seen = new Set<number>();
    let lastToken = 0;
    for (const h of lock.holders) {
      const lease = table.leases.get(h.leaseId);
      assert(lease !== undefined, () => `lock ${name} held by missing lease ${h.leaseId}`);
      assert(!seen.has(h.leaseId), () => `lease ${h.leaseId} holds lock ${name} twice`);
      seen.add(h.leaseId);
      assert(lease.held.get(name) === h.token, () => `lease ${h.leaseId} held index disagrees for lock ${name}`);
      assert(h.token > lease.grantedIndex && h.token <= applied, () => `lock ${name} token ${h.token} outside (${lease.grantedIndex}, ${applied}]`);
      assert(h.token >= lastToken, () => `lock ${name} holder tokens decrease`);
      lastToken = h.token;
    }
    let lastQueued = 0;
    for (const w of lock.waiters) {
      const lease = table.leases.get(w.leaseId);
      assert(lease !== undefined, () => `lock ${name} awaited by missing lease ${w.leaseId}`);
      assert(!seen.has(w.leaseId), () => `lease ${w.leaseId} appears twice on lock ${name} (holding or waiting)`);
      seen.add(w.leaseId);
      assert(lease.waiting.has(name), () => `lease ${w.leaseId} waiting index misses lock ${name}`);
      assert(w.queuedIndex > lease.grantedIndex && w.queuedIndex <= applied, () => `lock ${name} queuedIndex ${w.queuedIndex} out of range`);
      assert(w.queuedIndex > lastQueued, () => `lock ${name} queue is not in queuedIndex order`);
      lastQueued = w.queuedIndex;
    }
    const head = lock.waiters[0];
    if (head !== undefined) {
      const compatible = head.mode === 'shared' && lock.holders.every((h) => h.mode === 'shared');
      assert(!compatible, () => `lock ${name} has a grantable waiter (lease ${head.leaseId}) at the head of its queue`);
    }
    holders += lock.holders.length;
    waiters += lock.waiters.length;
  }
  let leaseHeld = 0;
  let leaseWaiting = 0;
  const ownerLeases = new Map<string, number>();
  const ownerLocks = new Map<string, number>();
  for (const [leaseId, lease] of table.leases) {
    assert(lease.leaseId === leaseId && isValidLeaseId(leaseId), () => `lease keyed ${leaseId} has id ${lease.leaseId}`);
    assert(isSafeUint(lease.ttlMs) && lease.ttlMs > 0, () => `lease ${leaseId} ttl ${lease.ttlMs} invalid`);
    assert(lease.grantedIndex >= 1 && lease.grantedIndex <= applied, () => `lease ${leaseId} grantedIndex ${lease.grantedIndex} out of range`);
    for (const name of lease.held.keys()) {
      assert(table.locks.get(name)?.holders.some((h) => h.leaseId === leaseId) === true, () => `lease ${leaseId} claims to hold ${name}`);
    }
    for (const name of lease.waiting) {
      assert(table.locks.get(name)?.waiters.some((w) => w.leaseId === leaseId) === true, () => `lease ${leaseId} claims to wait on ${name}`);
    }
    leaseHeld += lease.held.size;
    leaseWaiting += lease.waiting.size;
    if (lease.owner !== '') {
      ownerLeases.set(lease.owner, (ownerLeases.get(lease.owner) ?? 0) + 1);
      const locks = (ownerLocks.get(lease.owner) ?? 0) + lease.held.size + lease.waiting.size;
      if (locks > 0) ownerLocks.set(lease.owner, locks);
    }
  }
  assert(sameCounts(ownerLeases, table.ownerLeases), () => 'per-owner lease counts disagree with the leases');
  assert(sameCounts(ownerLocks, table.ownerLocks), () => 'per-owner lock counts disagree with the leases');
  assert(holders === table.holderCount && leaseHeld === holders, () => `holder counts disagree: ${holders}/${table.holderCount}/${leaseHeld}`);
  assert(waiters === table.waiterCount && leaseWaiting === waiters, () => `waiter counts disagree: ${waiters}/${table.waiterCount}/${leaseWaiting}`);
}

function sameCounts(a: ReadonlyMap<string, number>, b: ReadonlyMap<string, number>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}

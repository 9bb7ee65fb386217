import { describe, expect, it } from 'vitest';
import { LockInvariantError } from '../../../src/lock/assert.js';
import { encodeCommand } from '../../../src/lock/commandCodec.js';
import { CorruptCommandError } from '../../../src/lock/errors.js';
import { LockStateMachine } from '../../../src/lock/stateMachine.js';
import { Driver } from './driver.js';

describe('GrantLease', () => {
  it('creates a lease at the entry index and reports it for the lease clock', () => {
    const d = new Driver();
    const applied = d.apply({ type: 'grant-lease', leaseId: 7, ttlMs: 2000, idempotent: false });
    expect(applied.result).toEqual({ kind: 'lease-granted', leaseId: 7, ttlMs: 2000, grantedIndex: 1, existing: false });
    expect(applied.leaseGranted).toEqual({ leaseId: 7, ttlMs: 2000 });
    expect(d.sm.getLease(7)).toEqual({ leaseId: 7, owner: '', ttlMs: 2000, grantedIndex: 1, locksHeld: [], waitingOn: [] });
  });

  it('returns the existing lease to an idempotent retry with the same ttl', () => {
    const d = new Driver();
    d.grant(7, 2000, true);
    const retry = d.apply({ type: 'grant-lease', leaseId: 7, ttlMs: 2000, idempotent: true });
    expect(retry.result).toEqual({ kind: 'lease-granted', leaseId: 7, ttlMs: 2000, grantedIndex: 1, existing: true });
    expect(retry.leaseGranted).toBeNull();
    expect(d.sm.counts().leases).toBe(1);
  });

  it('refuses an idempotent grant with another ttl as lease-id-conflict', () => {
    const d = new Driver();
    d.grant(7, 2000, true);
    expect(d.grant(7, 3000, true)).toEqual({ kind: 'lease-id-conflict', leaseId: 7, ttlMs: 2000, requestedTtlMs: 3000 });
    expect(d.sm.getLease(7)?.ttlMs).toBe(2000);
  });

  it('refuses a non-idempotent grant of a taken id as lease-id-taken', () => {
    const d = new Driver();
    d.grant(7, 2000);
    expect(d.grant(7, 2000, false)).toEqual({ kind: 'lease-id-taken', leaseId: 7 });
    expect(d.sm.getLease(7)?.grantedIndex).toBe(1);
  });

  it('accepts ttls at the bounds and refuses those outside with invalid-ttl', () => {
    const d = new Driver({ minTtlMs: 100, maxTtlMs: 200 });
    expect(d.grant(1, 100)).toMatchObject({ kind: 'lease-granted' });
    expect(d.grant(2, 200)).toMatchObject({ kind: 'lease-granted' });
    expect(d.grant(3, 99)).toEqual({ kind: 'invalid-ttl', ttlMs: 99, minTtlMs: 100, maxTtlMs: 200 });
    expect(d.grant(4, 201)).toEqual({ kind: 'invalid-ttl', ttlMs: 201, minTtlMs: 100, maxTtlMs: 200 });
    expect(d.sm.listLeases().map((l) => l.leaseId)).toEqual([1, 2]);
  });

  it('uses default ttl bounds of 500 ms to one hour', () => {
    const d = new Driver();
    expect(d.grant(1, 499)).toMatchObject({ kind: 'invalid-ttl', minTtlMs: 500, maxTtlMs: 3_600_000 });
    expect(d.grant(1, 3_600_001)).toMatchObject({ kind: 'invalid-ttl' });
    expect(d.grant(1, 500)).toMatchObject({ kind: 'lease-granted' });
  });

  it('enforces maxLeases and frees the slot when a lease goes', () => {
    const d = new Driver({ maxLeases: 2 });
    d.grant(1);
    d.grant(2);
    expect(d.grant(3)).toEqual({ kind: 'limit-exceeded', limit: 'maxLeases', max: 2 });
    expect(d.grant(1, 1000, true)).toMatchObject({ kind: 'lease-granted', existing: true });
    d.revoke(1);
    expect(d.grant(3)).toMatchObject({ kind: 'lease-granted', leaseId: 3 });
  });
});

describe('Acquire', () => {
  it('refuses an unknown lease', () => {
    const d = new Driver();
    expect(d.acquire('a', 9)).toEqual({ kind: 'lease-not-found', leaseId: 9 });
    expect(d.sm.getLock('a')).toBeNull();
  });

  it('refuses empty names and names longer than maxNameBytes in UTF-8 bytes', () => {
    const d = new Driver({ maxNameBytes: 4 });
    d.grant(1);
    expect(d.acquire('', 1)).toEqual({ kind: 'invalid-name', byteLength: 0, maxNameBytes: 4 });
    expect(d.acquire('abcde', 1)).toEqual({ kind: 'invalid-name', byteLength: 5, maxNameBytes: 4 });
    expect(d.acquire('éé€', 1)).toEqual({ kind: 'invalid-name', byteLength: 7, maxNameBytes: 4 });
    expect(d.acquire('abcd', 1)).toMatchObject({ kind: 'granted' });
    expect(d.acquire('😀', 1)).toMatchObject({ kind: 'granted' });
    expect(d.sm.listLocks()).toEqual(['abcd', '😀']);
  });

  it('grants a free lock with the entry index as token, and a retry returns the same token', () => {
    const d = new Driver();
    d.grant(1);
    d.grant(2);
    expect(d.acquire('a', 1)).toEqual({ kind: 'granted', name: 'a', leaseId: 1, mode: 'exclusive', token: 3, existing: false });
    expect(d.acquire('a', 1)).toEqual({ kind: 'granted', name: 'a', leaseId: 1, mode: 'exclusive', token: 3, existing: true });
    expect(d.sm.getLock('a')).toEqual({ name: 'a', holders: [{ leaseId: 1, token: 3, mode: 'exclusive' }], waiters: [] });
  });

  it('refuses a try-lock on a held lock with held, naming the holders', () => {
    const d = new Driver();
    d.grant(1);
    d.grant(2);
    d.acquire('a', 1);
    expect(d.acquire('a', 2)).toEqual({ kind: 'held', name: 'a', mode: 'exclusive', holders: [{ leaseId: 1, token: 3, mode: 'exclusive' }], waiters: 0 });
    expect(d.acquire('a', 2, 'shared')).toMatchObject({ kind: 'held', mode: 'shared' });
    expect(d.sm.getLock('a')?.waiters).toEqual([]);
  });

  it('lets shared requests share, each with its own token', () => {
    const d = new Driver();
    for (const id of [1, 2, 3]) d.grant(id);
    expect(d.acquire('a', 1, 'shared')).toMatchObject({ kind: 'granted', token: 4 });
    expect(d.acquire('a', 2, 'shared')).toMatchObject({ kind: 'granted', token: 5 });
    expect(d.acquire('a', 3, 'exclusive')).toMatchObject({ kind: 'held', holders: [{ leaseId: 1 }, { leaseId: 2 }] });
  });

  it('queues a shared request behind a queued exclusive one (no writer starvation)', () => {
    const d = new Driver();
    for (const id of [1, 2, 3, 4]) d.grant(id);
    d.acquire('a', 1, 'shared');
    expect(d.acquire('a', 2, 'exclusive', true)).toEqual({ kind: 'queued', name: 'a', leaseId: 2, mode: 'exclusive', position: 0, queuedIndex: 6 });
    expect(d.acquire('a', 3, 'shared')).toMatchObject({ kind: 'held', waiters: 1 });
    expect(d.acquire('a', 3, 'shared', true)).toMatchObject({ kind: 'queued', position: 1 });
    expect(d.sm.getLock('a')?.waiters.map((w) => w.leaseId)).toEqual([2, 3]);
  });

  it('answers a retried queued acquire with its current position and changes nothing', () => {
    const d = new Driver();
    for (const id of [1, 2, 3]) d.grant(id);
    d.acquire('a', 1);
    d.acquire('a', 2, 'exclusive', true);
    d.acquire('a', 3, 'exclusive', true);
    expect(d.acquire('a', 3, 'exclusive', true)).toEqual({ kind: 'queued', name: 'a', leaseId: 3, mode: 'exclusive', position: 1, queuedIndex: 6 });
    expect(d.acquire('a', 3, 'exclusive', false)).toMatchObject({ kind: 'queued', position: 1 });
    expect(d.sm.counts()).toMatchObject({ waiters: 2 });
  });

  it('refuses a change of mode by a holder or a waiter with mode-mismatch', () => {
    const d = new Driver();
    for (const id of [1, 2]) d.grant(id);
    d.acquire('a', 1, 'shared');
    d.acquire('b', 1);
    d.acquire('b', 2, 'exclusive', true);
    expect(d.acquire('a', 1, 'exclusive')).toEqual({ kind: 'mode-mismatch', name: 'a', leaseId: 1, requested: 'exclusive', current: 'shared', state: 'holding' });
    expect(d.acquire('b', 2, 'shared', true)).toEqual({ kind: 'mode-mismatch', name: 'b', leaseId: 2, requested: 'shared', current: 'exclusive', state: 'waiting' });
  });

  it('enforces maxLocks on new names only', () => {
    const d = new Driver({ maxLocks: 1 });
    d.grant(1);
    d.grant(2);
    d.acquire('a', 1, 'shared');
    expect(d.acquire('b', 1)).toEqual({ kind: 'limit-exceeded', limit: 'maxLocks', max: 1 });
    expect(d.acquire('a', 2, 'shared')).toMatchObject({ kind: 'granted' });
  });

  it('counts holds and waits against maxLocksPerLease, and waits against maxWaitsPerLease', () => {
    const d = new Driver({ maxLocksPerLease: 3, maxWaitsPerLease: 1 });
    d.grant(1);
    d.grant(2);
    d.acquire('x', 2);
    d.acquire('y', 2);
    expect(d.acquire('a', 1)).toMatchObject({ kind: 'granted' });
    expect(d.acquire('x', 1, 'exclusive', true)).toMatchObject({ kind: 'queued' });
    expect(d.acquire('y', 1, 'exclusive', true)).toEqual({ kind: 'limit-exceeded', limit: 'maxWaitsPerLease', max: 1 });
    expect(d.acquire('b', 1)).toMatchObject({ kind: 'granted' });
    expect(d.acquire('c', 1)).toEqual({ kind: 'limit-exceeded', limit: 'maxLocksPerLease', max: 3 });
    expect(d.acquire('y', 1, 'exclusive', true)).toEqual({ kind: 'limit-exceeded', limit: 'maxLocksPerLease', max: 3 });
    // A try-lock on a held lock is refused as held: it would create nothing.
    expect(d.acquire('y', 1)).toMatchObject({ kind: 'held' });
    expect(d.sm.getLease(1)).toMatchObject({ locksHeld: ['a', 'b'], waitingOn: ['x'] });
  });
});

describe('maxWaitersPerLock', () => {
  it('refuses a wait on a lock whose queue is full and changes nothing', () => {
    const d = new Driver({ maxWaitersPerLock: 2 });
    for (const id of [1, 2, 3, 4]) d.grant(id);
    expect(d.acquire('q', 1)).toMatchObject({ kind: 'granted' });
    expect(d.acquire('q', 2, 'exclusive', true)).toMatchObject({ kind: 'queued', position: 0 });
    expect(d.acquire('q', 3, 'exclusive', true)).toMatchObject({ kind: 'queued', position: 1 });
    const before = d.sm.counts();
    expect(d.acquire('q', 4, 'exclusive', true)).toEqual({ kind: 'limit-exceeded', limit: 'maxWaitersPerLock', max: 2 });
    expect(d.sm.getLease(4)).toMatchObject({ locksHeld: [], waitingOn: [] });
    expect(d.sm.getLock('q')!.waiters.map((w) => w.leaseId)).toEqual([2, 3]);
    expect(d.sm.counts()).toEqual(before);
    // A retry by a lease already queued still answers with its place; another name is unaffected.
    expect(d.acquire('q', 3, 'exclusive', true)).toMatchObject({ kind: 'queued', position: 1 });
    expect(d.acquire('r', 4)).toMatchObject({ kind: 'granted' });
  });
});

describe('Release', () => {
  it('releases with the right token and deletes the idle lock', () => {
    const d = new Driver();
    d.grant(1);
    d.acquire('a', 1);
    const applied = d.release('a', 1, 2);
    expect(applied.result).toEqual({ kind: 'released', name: 'a', leaseId: 1, token: 2 });
    expect(applied.promoted).toEqual([]);
    expect(d.sm.getLock('a')).toBeNull();
    expect(d.sm.getLease(1)?.locksHeld).toEqual([]);
  });

  it('refuses non-holders and stale tokens without changing anything', () => {
    const d = new Driver();
    d.grant(1);
    d.grant(2);
    d.acquire('a', 1);
    const before = d.sm.getLock('a');
    expect(d.release('free', 1, 3).result).toEqual({ kind: 'not-holder', name: 'free', leaseId: 1, holders: [] });
    expect(d.release('a', 2, 3).result).toEqual({ kind: 'not-holder', name: 'a', leaseId: 2, holders: [{ leaseId: 1, token: 3, mode: 'exclusive' }] });
    expect(d.release('a', 1, 2).result).toEqual({ kind: 'stale-token', name: 'a', leaseId: 1, token: 2, currentToken: 3 });
    expect(d.release('a', 9, 3).result).toEqual({ kind: 'lease-not-found', leaseId: 9 });
    expect(d.sm.getLock('a')).toEqual(before);
  });

  it('a stale release never frees a newer grant to the same lease', () => {
    const d = new Driver();
    d.grant(1);
    d.acquire('a', 1); // token 2
    d.release('a', 1, 2);
    d.acquire('a', 1); // token 4
    expect(d.release('a', 1, 2).result).toMatchObject({ kind: 'stale-token', currentToken: 4 });
    expect(d.tokenOf('a', 1)).toBe(4);
  });

  it('grants exclusive waiters in FIFO order, each with the index of the causing release', () => {
    const d = new Driver();
    for (const id of [1, 2, 3, 4]) d.grant(id);
    d.acquire('a', 1); // 5
    d.acquire('a', 2, 'exclusive', true); // 6
    d.acquire('a', 3, 'exclusive', true); // 7
    d.acquire('a', 4, 'exclusive', true); // 8
    expect(d.release('a', 1, 5).promoted).toEqual([{ name: 'a', leaseId: 2, token: 9, mode: 'exclusive' }]);
    expect(d.release('a', 2, 9).promoted).toEqual([{ name: 'a', leaseId: 3, token: 10, mode: 'exclusive' }]);
    expect(d.release('a', 3, 10).promoted).toEqual([{ name: 'a', leaseId: 4, token: 11, mode: 'exclusive' }]);
    expect(d.release('a', 4, 11).promoted).toEqual([]);
    expect(d.sm.getLock('a')).toBeNull();
  });

  it('grants the whole run of shared waiters at the head, stopping at an exclusive one', () => {
    const d = new Driver();
    for (const id of [1, 2, 3, 4, 5]) d.grant(id);
    d.acquire('a', 1); // 6
    d.acquire('a', 2, 'shared', true);
    d.acquire('a', 3, 'shared', true);
    d.acquire('a', 4, 'exclusive', true);
    d.acquire('a', 5, 'shared', true);
    const applied = d.release('a', 1, 6);
    expect(applied.promoted).toEqual([
      { name: 'a', leaseId: 2, token: 11, mode: 'shared' },
      { name: 'a', leaseId: 3, token: 11, mode: 'shared' },
    ]);
    expect(d.sm.getLock('a')?.waiters.map((w) => w.leaseId)).toEqual([4, 5]);
    // One shared holder leaving grants nothing: the exclusive at the head still waits.
    expect(d.release('a', 2, 11).promoted).toEqual([]);
    // The last shared holder leaving grants the exclusive head alone.
    expect(d.release('a', 3, 11).promoted).toEqual([{ name: 'a', leaseId: 4, token: 13, mode: 'exclusive' }]);
    expect(d.release('a', 4, 13).promoted).toEqual([{ name: 'a', leaseId: 5, token: 14, mode: 'shared' }]);
  });
});

describe('WithdrawWait', () => {
  it('is harmless when the lease is not waiting, and reports a grant that beat it', () => {
    const d = new Driver();
    d.grant(1);
    d.grant(2);
    expect(d.withdraw('a', 1).result).toEqual({ kind: 'not-waiting', name: 'a', leaseId: 1, heldToken: null });
    expect(d.withdraw('a', 9).result).toEqual({ kind: 'not-waiting', name: 'a', leaseId: 9, heldToken: null });
    d.acquire('a', 2); // 5
    d.acquire('a', 1, 'exclusive', true); // 6
    d.release('a', 2, 5); // 7: promotes lease 1 before its withdraw lands
    expect(d.withdraw('a', 1).result).toEqual({ kind: 'not-waiting', name: 'a', leaseId: 1, heldToken: 7 });
    expect(d.tokenOf('a', 1)).toBe(7);
  });

  it('removes a wait from the middle of the queue and keeps the others in order', () => {
    const d = new Driver();
    for (const id of [1, 2, 3, 4]) d.grant(id);
    d.acquire('a', 1);
    for (const id of [2, 3, 4]) d.acquire('a', id, 'exclusive', true);
    const applied = d.withdraw('a', 3);
    expect(applied.result).toEqual({ kind: 'withdrawn', name: 'a', leaseId: 3 });
    expect(applied.promoted).toEqual([]);
    expect(d.sm.getLock('a')?.waiters.map((w) => w.leaseId)).toEqual([2, 4]);
    expect(d.sm.getLease(3)?.waitingOn).toEqual([]);
  });

  it('grants shared waiters that were blocked only by a withdrawn exclusive head', () => {
    const d = new Driver();
    for (const id of [1, 2, 3, 4, 5]) d.grant(id);
    d.acquire('a', 1, 'shared'); // 6
    d.acquire('a', 2, 'exclusive', true); // 7
    d.acquire('a', 3, 'shared', true); // 8
    d.acquire('a', 4, 'shared', true); // 9
    d.acquire('a', 5, 'exclusive', true); // 10
    const applied = d.withdraw('a', 2); // 11
    expect(applied.promoted).toEqual([
      { name: 'a', leaseId: 3, token: 11, mode: 'shared' },
      { name: 'a', leaseId: 4, token: 11, mode: 'shared' },
    ]);
    expect(d.sm.getLock('a')).toEqual({
      name: 'a',
      holders: [
        { leaseId: 1, token: 6, mode: 'shared' },
        { leaseId: 3, token: 11, mode: 'shared' },
        { leaseId: 4, token: 11, mode: 'shared' },
      ],
      waiters: [{ leaseId: 5, mode: 'exclusive', queuedIndex: 10 }],
    });
  });
});

describe('RevokeLease and ExpireLease', () => {
  /** setup: lease 1 holds "b" and "a" and waits on "c"; leases 2 and 3 wait behind it. */
  function setup(): Driver {
    const d = new Driver();
    for (const id of [1, 2, 3, 4]) d.grant(id); // 1..4
    d.acquire('b', 1); // 5
    d.acquire('a', 1); // 6
    d.acquire('c', 4); // 7
    d.acquire('c', 1, 'exclusive', true); // 8
    d.acquire('c', 3, 'shared', true); // 9
    d.acquire('a', 2, 'shared', true); // 10
    d.acquire('a', 3, 'shared', true); // 11
    d.acquire('b', 2, 'exclusive', true); // 12
    return d;
  }

  it('revoke drops holds and waits and promotes waiters of every freed lock in one apply', () => {
    const d = setup();
    const applied = d.revoke(1); // 13
    expect(applied.result).toEqual({ kind: 'lease-revoked', leaseId: 1, locksReleased: ['a', 'b'], waitsCancelled: ['c'] });
    expect(applied.cancelledWaits).toEqual([{ name: 'c', leaseId: 1 }]);
    expect(applied.leasesRemoved).toEqual([1]);
    expect(applied.promoted).toEqual([
      { name: 'a', leaseId: 2, token: 13, mode: 'shared' },
      { name: 'a', leaseId: 3, token: 13, mode: 'shared' },
      { name: 'b', leaseId: 2, token: 13, mode: 'exclusive' },
    ]);
    expect(d.sm.getLease(1)).toBeNull();
    // "c" is still held exclusively by lease 4; the shared waiter stays queued.
    expect(d.sm.getLock('c')?.waiters).toEqual([{ leaseId: 3, mode: 'shared', queuedIndex: 9 }]);
    expect(d.revoke(1).result).toEqual({ kind: 'lease-not-found', leaseId: 1 });
  });

  it('expire in the proposer term removes the lease like a revoke', () => {
    const d = setup();
    d.term = 3;
    const applied = d.expire(1, 3); // 13
    expect(applied.result).toEqual({ kind: 'lease-expired', leaseId: 1, locksReleased: ['a', 'b'], waitsCancelled: ['c'] });
    expect(applied.promoted).toHaveLength(3);
    expect(d.sm.getLease(1)).toBeNull();
  });

  it('ignores an expiry committed in another term than it was decided in (etcd#15247)', () => {
    const d = setup();
    const before = d.sm.getLease(1);
    // A paused old leader of term 1 decided the expiry; it commits under term 2.
    const late = d.expire(1, 1, 2);
    expect(late.result).toEqual({ kind: 'stale-expiry', leaseId: 1, proposerTerm: 1, entryTerm: 2 });
    expect(late.leasesRemoved).toEqual([]);
    expect(late.promoted).toEqual([]);
    // An entry carrying a future term is equally invalid.
    expect(d.expire(1, 5, 2).result).toMatchObject({ kind: 'stale-expiry' });
    expect(d.sm.getLease(1)).toEqual(before);
    // Even an expiry of an unknown lease in another term is reported as stale, not not-found.
    expect(d.expire(99, 1, 2).result).toMatchObject({ kind: 'stale-expiry' });
    expect(d.expire(99, 2, 2).result).toEqual({ kind: 'lease-not-found', leaseId: 99 });
  });

  it('promotes across all touched locks in canonical name order, not acquisition order', () => {
    const d = new Driver();
    for (const id of [1, 2, 3, 4, 5]) d.grant(id); // 1..5
    d.acquire('z', 1); // 6
    d.acquire('m', 2, 'shared'); // 7
    d.acquire('m', 1, 'exclusive', true); // 8: lease 1 waits at the head of "m"
    d.acquire('m', 3, 'shared', true); // 9: blocked only by lease 1's wait
    d.acquire('a', 1); // 10
    d.acquire('z', 4, 'exclusive', true); // 11
    d.acquire('a', 5, 'shared', true); // 12
    const applied = d.revoke(1); // 13
    expect(applied.result).toMatchObject({ locksReleased: ['a', 'z'], waitsCancelled: ['m'] });
    expect(applied.promoted.map((p) => [p.name, p.leaseId])).toEqual([
      ['a', 5],
      ['m', 3],
      ['z', 4],
    ]);
    expect(applied.promoted.every((p) => p.token === 13)).toBe(true);
  });

  it('never grants anything to a lease once it is gone', () => {
    const d = new Driver();
    for (const id of [1, 2]) d.grant(id);
    d.acquire('a', 1); // 3
    d.acquire('a', 2, 'exclusive', true); // 4
    d.revoke(2); // 5
    expect(d.release('a', 1, 3).promoted).toEqual([]);
    expect(d.sm.getLock('a')).toBeNull();
    expect(d.acquire('a', 2)).toEqual({ kind: 'lease-not-found', leaseId: 2 });
  });
});

describe('apply', () => {
  it('requires strictly increasing indexes but allows gaps', () => {
    const sm = new LockStateMachine();
    const data = encodeCommand({ type: 'grant-lease', leaseId: 1, ttlMs: 1000, idempotent: false });
    sm.apply({ index: 5, term: 1, data });
    expect(sm.lastAppliedIndex).toBe(5);
    expect(() => sm.apply({ index: 5, term: 1, data })).toThrow(LockInvariantError);
    expect(() => sm.apply({ index: 4, term: 1, data })).toThrow(LockInvariantError);
    expect(() => sm.apply({ index: 0.5 + 6, term: 1, data })).toThrow(LockInvariantError);
    expect(sm.apply({ index: 9, term: 1, data }).result).toMatchObject({ kind: 'lease-id-taken' });
  });

  it('throws CorruptCommandError on garbage without changing state', () => {
    const sm = new LockStateMachine();
    expect(() => sm.apply({ index: 1, term: 1, data: new Uint8Array([1, 99]) })).toThrow(CorruptCommandError);
    expect(sm.lastAppliedIndex).toBe(0);
    expect(sm.counts()).toEqual({ leases: 0, locks: 0, holders: 0, waiters: 0 });
  });

  it('applyNoop advances lastAppliedIndex for entries without a lock command', () => {
    const d = new Driver();
    d.grant(1);
    d.sm.applyNoop(5);
    d.index = 5;
    expect(d.sm.lastAppliedIndex).toBe(5);
    expect(() => d.sm.applyNoop(5)).toThrow(LockInvariantError);
    expect(d.acquire('a', 1)).toMatchObject({ token: 6 });
  });

  it('rejects incoherent limits loudly', () => {
    expect(() => new LockStateMachine({ maxLocks: 0 })).toThrow(LockInvariantError);
    expect(() => new LockStateMachine({ minTtlMs: 10, maxTtlMs: 5 })).toThrow(LockInvariantError);
    expect(() => new LockStateMachine({ maxNameBytes: 1.5 })).toThrow(LockInvariantError);
    expect(() => new LockStateMachine({ maxLease: 3 } as never)).toThrow(/unknown lock limit maxLease/);
    expect(new LockStateMachine({ maxLeases: 3 }).limits).toMatchObject({ maxLeases: 3, maxNameBytes: 256 });
  });
});

describe('queries', () => {
  it('lists leases and locks in canonical order and counts holders and waiters', () => {
    const d = new Driver();
    for (const id of [30, 4, 1000, 7]) d.grant(id);
    d.acquire('zeta', 7);
    d.acquire('alpha', 7, 'shared');
    d.acquire('alpha', 4, 'shared');
    d.acquire('zeta', 4, 'exclusive', true);
    d.acquire('mid', 30, 'exclusive');
    d.acquire('mid', 4, 'exclusive', true);
    expect(d.sm.listLeases().map((l) => l.leaseId)).toEqual([4, 7, 30, 1000]);
    expect(d.sm.listLocks()).toEqual(['alpha', 'mid', 'zeta']);
    expect(d.sm.counts()).toEqual({ leases: 4, locks: 3, holders: 4, waiters: 2 });
    expect(d.sm.getLease(7)?.locksHeld).toEqual(['alpha', 'zeta']);
    expect(d.sm.getLease(4)).toMatchObject({ locksHeld: ['alpha'], waitingOn: ['mid', 'zeta'] });
    expect(d.sm.getLease(5)).toBeNull();
  });
});

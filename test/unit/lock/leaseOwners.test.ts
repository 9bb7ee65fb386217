import { describe, expect, it } from 'vitest';
import { decodeCommand, encodeCommand } from '../../../src/lock/commandCodec.js';
import { CorruptCommandError } from '../../../src/lock/errors.js';
import { Driver } from './driver.js';

/**
 * Leases belong to the identity that granted them: a command carrying an
 * owner may only act on that owner's leases, and per-owner quotas bound what
 * one identity can hold. A refusal changes nothing (same snapshot bytes).
 */
describe('lease owners', () => {
  function twoOwners(): Driver {
    const d = new Driver();
    expect(d.run({ type: 'grant-lease', leaseId: 1, ttlMs: 1000, idempotent: false, owner: 'alice' }).kind).toBe('lease-granted');
    expect(d.run({ type: 'grant-lease', leaseId: 2, ttlMs: 1000, idempotent: false, owner: 'bob' }).kind).toBe('lease-granted');
    expect(d.run({ type: 'acquire', name: 'orders/1', leaseId: 1, mode: 'exclusive', wait: false, owner: 'alice' }).kind).toBe('granted');
    return d;
  }

  it('records the owner on the lease', () => {
    const d = twoOwners();
    expect(d.sm.getLease(1)?.owner).toBe('alice');
    expect(d.sm.listLeases().map((l) => l.owner)).toEqual(['alice', 'bob']);
  });

  it("refuses another owner's acquire, release, withdraw and revoke, and nothing changes", () => {
    const d = twoOwners();
    const observe = (): unknown => ({
      leases: [d.sm.getLease(1), d.sm.getLease(2)],
      locks: [d.sm.getLock('orders/1'), d.sm.getLock('orders/2')],
      counts: d.sm.counts(),
      owners: [d.sm.ownerCounts('alice'), d.sm.ownerCounts('bob')],
    });
    const before = observe();
    const token = d.sm.getLock('orders/1')!.holders[0]!.token;
    expect(d.run({ type: 'acquire', name: 'orders/2', leaseId: 1, mode: 'exclusive', wait: true, owner: 'bob' })).toEqual({ kind: 'lease-not-owned', leaseId: 1 });
    expect(d.run({ type: 'release', name: 'orders/1', leaseId: 1, token, owner: 'bob' })).toEqual({ kind: 'lease-not-owned', leaseId: 1 });
    expect(d.run({ type: 'withdraw-wait', name: 'orders/1', leaseId: 1, owner: 'bob' })).toEqual({ kind: 'lease-not-owned', leaseId: 1 });
    expect(d.run({ type: 'revoke-lease', leaseId: 1, owner: 'bob' })).toEqual({ kind: 'lease-not-owned', leaseId: 1 });
    // A client-chosen id never hands over another owner's lease, even with the same TTL.
    expect(d.run({ type: 'grant-lease', leaseId: 1, ttlMs: 1000, idempotent: true, owner: 'bob' })).toEqual({ kind: 'lease-not-owned', leaseId: 1 });
    expect(observe()).toEqual(before);
    expect(d.sm.getLease(1)).toEqual({ leaseId: 1, owner: 'alice', ttlMs: 1000, grantedIndex: 1, locksHeld: ['orders/1'], waitingOn: [] });
  });

  it('lets the owner, and an ownerless (admin) command, act on the lease', () => {
    const d = twoOwners();
    const token = d.sm.getLock('orders/1')!.holders[0]!.token;
    expect(d.run({ type: 'release', name: 'orders/1', leaseId: 1, token, owner: 'alice' }).kind).toBe('released');
    expect(d.run({ type: 'grant-lease', leaseId: 1, ttlMs: 1000, idempotent: true, owner: 'alice' })).toMatchObject({ kind: 'lease-granted', existing: true });
    expect(d.run({ type: 'revoke-lease', leaseId: 2 }).kind).toBe('lease-revoked');
  });

  it('bounds leases per owner, not counting other owners or ownerless leases', () => {
    const d = new Driver({ maxLeasesPerOwner: 2 });
    const grant = (leaseId: number, owner?: string): string =>
      d.run({ type: 'grant-lease', leaseId, ttlMs: 1000, idempotent: false, ...(owner === undefined ? {} : { owner }) }).kind;
    expect([grant(1, 'alice'), grant(2, 'alice'), grant(3, 'bob'), grant(4), grant(5), grant(6)]).toEqual(Array(6).fill('lease-granted'));
    expect(d.run({ type: 'grant-lease', leaseId: 7, ttlMs: 1000, idempotent: false, owner: 'alice' })).toEqual({ kind: 'limit-exceeded', limit: 'maxLeasesPerOwner', max: 2 });
    expect(d.sm.getLease(7)).toBeNull();
    expect(d.run({ type: 'revoke-lease', leaseId: 1, owner: 'alice' }).kind).toBe('lease-revoked');
    expect(grant(7, 'alice')).toBe('lease-granted');
  });

  it('bounds locks held plus waits queued per owner across all its leases', () => {
    const d = new Driver({ maxLocksPerOwner: 2 });
    for (const [leaseId, owner] of [[1, 'alice'], [2, 'alice'], [3, 'bob']] as const) d.run({ type: 'grant-lease', leaseId, ttlMs: 1000, idempotent: false, owner });
    expect(d.run({ type: 'acquire', name: 'b', leaseId: 3, mode: 'exclusive', wait: false, owner: 'bob' }).kind).toBe('granted');
    expect(d.run({ type: 'acquire', name: 'a', leaseId: 1, mode: 'exclusive', wait: false, owner: 'alice' }).kind).toBe('granted');
    expect(d.run({ type: 'acquire', name: 'b', leaseId: 2, mode: 'exclusive', wait: true, owner: 'alice' }).kind).toBe('queued');
    expect(d.sm.ownerCounts('alice')).toEqual({ leases: 2, locks: 2 });
    expect(d.run({ type: 'acquire', name: 'c', leaseId: 2, mode: 'exclusive', wait: false, owner: 'alice' })).toEqual({ kind: 'limit-exceeded', limit: 'maxLocksPerOwner', max: 2 });
    expect(d.run({ type: 'acquire', name: 'b', leaseId: 1, mode: 'exclusive', wait: true, owner: 'alice' })).toEqual({ kind: 'limit-exceeded', limit: 'maxLocksPerOwner', max: 2 });
    expect(d.sm.getLock('c')).toBeNull();
    // A promotion turns a wait into a hold: the count stays, so it never pushes an owner over.
    expect(d.run({ type: 'revoke-lease', leaseId: 3 }).kind).toBe('lease-revoked');
    expect(d.sm.getLock('b')?.holders.map((h) => h.leaseId)).toEqual([2]);
    expect(d.sm.ownerCounts('alice')).toEqual({ leases: 2, locks: 2 });
    expect(d.sm.ownerCounts('bob')).toEqual({ leases: 0, locks: 0 });
  });
});

describe('owned command encoding', () => {
  it('keeps the plain encoding for a command without an owner and round-trips one with an owner', () => {
    const plain = encodeCommand({ type: 'revoke-lease', leaseId: 5 });
    expect(Array.from(plain)).toEqual([1, 2, 5]);
    const owned = encodeCommand({ type: 'revoke-lease', leaseId: 5, owner: 'al' });
    expect(Array.from(owned)).toEqual([1, 7, 2, 0x61, 0x6c, 2, 5]);
    expect(decodeCommand(owned)).toEqual({ type: 'revoke-lease', leaseId: 5, owner: 'al' });
  });

  it('refuses an empty owner, an owned expiry and a nested wrapper', () => {
    expect(() => decodeCommand(new Uint8Array([1, 7, 0, 2, 5]))).toThrow(CorruptCommandError);
    expect(() => decodeCommand(new Uint8Array([1, 7, 1, 0x61, 3, 5, 1]))).toThrow(/cannot carry an owner/);
    expect(() => decodeCommand(new Uint8Array([1, 7, 1, 0x61, 7, 1, 0x61, 2, 5]))).toThrow(/cannot carry an owner/);
  });
});

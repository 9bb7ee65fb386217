import { describe, expect, it } from 'vitest';
import { ByteWriter } from '../../../src/lock/binary.js';
import { crc32 } from '../../../src/lock/crc32.js';
import { CorruptSnapshotError } from '../../../src/lock/errors.js';
import { SNAPSHOT_VERSION } from '../../../src/lock/snapshotCodec.js';
import { LockStateMachine } from '../../../src/lock/stateMachine.js';
import { encodeCommand } from '../../../src/lock/commandCodec.js';
import { Driver } from './driver.js';

const MAGIC = [0x52, 0x4c, 0x53, 0x4d];

/** craft builds a snapshot with a valid header and checksum around a hand-written body. */
function craft(body: (w: ByteWriter) => void): Uint8Array {
  const w = new ByteWriter();
  for (const b of MAGIC) w.u8(b);
  w.u8(SNAPSHOT_VERSION);
  body(w);
  w.u32be(crc32(w.view()));
  return w.finish();
}

/** busy builds a machine with leases, shared and exclusive holders and queues on several locks. */
function busy(): Driver {
  const d = new Driver();
  for (const id of [9, 3, 7, 1]) d.grant(id);
  d.acquire('zz', 9);
  d.acquire('zz', 3, 'shared', true);
  d.acquire('zz', 7, 'shared', true);
  d.acquire('mm', 7, 'shared');
  d.acquire('mm', 1, 'shared');
  d.acquire('mm', 3, 'exclusive', true);
  d.acquire('aa', 1);
  d.acquire('aa', 9, 'exclusive', true);
  d.acquire('bb', 1);
  d.acquire('bb', 7, 'exclusive', true);
  return d;
}

describe('crc32', () => {
  it('matches the IEEE check value', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array())).toBe(0);
  });
});

describe('snapshot encoding', () => {
  it('encodes an empty machine as magic, version, zeros and a checksum', () => {
    const bytes = new LockStateMachine().snapshot();
    expect(Array.from(bytes.subarray(0, 8))).toEqual([...MAGIC, SNAPSHOT_VERSION, 0, 0, 0]);
    expect(bytes.length).toBe(12);
  });

  it('restores the whole state, including lastAppliedIndex', () => {
    const d = busy();
    const restored = LockStateMachine.restore(d.sm.snapshot());
    restored.checkInvariants();
    expect(restored.lastAppliedIndex).toBe(d.sm.lastAppliedIndex);
    expect(restored.listLeases()).toEqual(d.sm.listLeases());
    for (const name of d.sm.listLocks()) expect(restored.getLock(name)).toEqual(d.sm.getLock(name));
    for (const { leaseId } of d.sm.listLeases()) expect(restored.getLease(leaseId)).toEqual(d.sm.getLease(leaseId));
    expect(restored.counts()).toEqual(d.sm.counts());
  });

  it('gives a restored and a replayed replica the same bytes and the same results from then on', () => {
    const replayed = busy();
    const restored = new Driver({}, LockStateMachine.restore(replayed.sm.snapshot()));
    expect(restored.sm.snapshot()).toEqual(replayed.sm.snapshot());
    // Lease 1 holds "mm", "bb" and "aa"; lease 9 holds "zz" and then "aa". Revoking them touches several
    // locks, whose promotions must come out in the same (canonical) order on both replicas.
    for (const leaseId of [1, 9]) {
      const a = replayed.revoke(leaseId);
      const b = restored.revoke(leaseId);
      expect(b).toEqual(a);
      expect(a.promoted.length).toBeGreaterThan(0);
    }
    expect(restored.sm.snapshot()).toEqual(replayed.sm.snapshot());
  });

  it('records lastAppliedIndex advanced by entries without lock commands', () => {
    const sm = new LockStateMachine();
    sm.applyNoop(41);
    expect(LockStateMachine.restore(sm.snapshot()).lastAppliedIndex).toBe(41);
  });
});

describe('snapshot corruption', () => {
  it('detects every single-byte change', () => {
    const bytes = busy().sm.snapshot();
    for (let i = 0; i < bytes.length; i++) {
      for (const mask of [0x01, 0x80, 0xff, 0x5a]) {
        const bad = bytes.slice();
        bad[i]! ^= mask;
        expect(() => LockStateMachine.restore(bad)).toThrow(CorruptSnapshotError);
      }
    }
  });

  it('detects truncation and trailing bytes', () => {
    const bytes = busy().sm.snapshot();
    for (let n = 0; n < bytes.length; n++) {
      expect(() => LockStateMachine.restore(bytes.subarray(0, n))).toThrow(CorruptSnapshotError);
    }
    const longer = new Uint8Array([...bytes, 0]);
    expect(() => LockStateMachine.restore(longer)).toThrow(CorruptSnapshotError);
  });

  it('loads a version 1 snapshot (before lease owners) with every lease ownerless', () => {
    const w = new ByteWriter(64);
    for (const b of MAGIC) w.u8(b);
    w.u8(1);
    w.uvarint(5);
    w.uvarint(1);
    w.uvarint(3); // leaseId
    w.uvarint(1000); // ttlMs
    w.uvarint(1); // grantedIndex, no owner field
    w.uvarint(1);
    lock(w, 'a', [[3, 2, 0]], []);
    w.u32be(crc32(w.view()));
    const sm = LockStateMachine.restore(w.finish());
    expect(sm.getLease(3)).toEqual({ leaseId: 3, owner: '', ttlMs: 1000, grantedIndex: 1, locksHeld: ['a'], waitingOn: [] });
    expect(sm.getLock('a')?.holders).toEqual([{ leaseId: 3, token: 2, mode: 'exclusive' }]);
  });

  it('keeps lease owners and their quota counts across a snapshot', () => {
    const sm = new LockStateMachine({ maxLocksPerOwner: 2 });
    sm.apply({ index: 1, term: 1, data: encodeCommand({ type: 'grant-lease', leaseId: 1, ttlMs: 1000, idempotent: false, owner: 'alice' }) });
    sm.apply({ index: 2, term: 1, data: encodeCommand({ type: 'acquire', name: 'x', leaseId: 1, mode: 'exclusive', wait: false, owner: 'alice' }) });
    sm.apply({ index: 3, term: 1, data: encodeCommand({ type: 'acquire', name: 'y', leaseId: 1, mode: 'exclusive', wait: false, owner: 'alice' }) });
    const restored = LockStateMachine.restore(sm.snapshot(), { maxLocksPerOwner: 2 });
    expect(Array.from(restored.snapshot())).toEqual(Array.from(sm.snapshot()));
    expect(restored.getLease(1)?.owner).toBe('alice');
    expect(restored.ownerCounts('alice')).toEqual({ leases: 1, locks: 2 });
    const refused = restored.apply({ index: 4, term: 1, data: encodeCommand({ type: 'acquire', name: 'z', leaseId: 1, mode: 'exclusive', wait: false, owner: 'alice' }) });
    expect(refused.result).toEqual({ kind: 'limit-exceeded', limit: 'maxLocksPerOwner', max: 2 });
  });

  it('names a wrong magic or version', () => {
    expect(() => LockStateMachine.restore(new Uint8Array([1, 2, 3, 4, 1, 0, 0, 0, 0, 0, 0, 0]))).toThrow(/bad magic/);
    const other = new LockStateMachine().snapshot();
    other[4] = 9;
    expect(() => LockStateMachine.restore(other)).toThrow(/unknown version 9/);
  });

  /** Bodies with a valid checksum that still describe impossible or non-canonical state. */
  const inconsistent: Array<[string, (w: ByteWriter) => void, RegExp]> = [
    ['leases out of order', (w) => { w.uvarint(5); w.uvarint(2); lease(w, 2, 1); lease(w, 1, 2); w.uvarint(0); }, /strictly ascending/],
    ['duplicate lease', (w) => { w.uvarint(5); w.uvarint(2); lease(w, 1, 1); lease(w, 1, 2); w.uvarint(0); }, /strictly ascending/],
    ['lease granted after lastAppliedIndex', (w) => { w.uvarint(1); w.uvarint(1); lease(w, 1, 2); w.uvarint(0); }, /grantedIndex/],
    ['lock held by an unknown lease', (w) => { w.uvarint(5); w.uvarint(0); w.uvarint(1); lock(w, 'a', [[1, 3, 0]], []); }, /unknown lease 1/],
    ['two exclusive holders', (w) => { w.uvarint(5); w.uvarint(2); lease(w, 1, 1); lease(w, 2, 2); w.uvarint(1); lock(w, 'a', [[1, 3, 0], [2, 4, 0]], []); }, /exclusive/],
    ['exclusive and shared holders', (w) => { w.uvarint(5); w.uvarint(2); lease(w, 1, 1); lease(w, 2, 2); w.uvarint(1); lock(w, 'a', [[1, 3, 1], [2, 4, 0]], []); }, /exclusive/],
    ['a grantable waiter at the head', (w) => { w.uvarint(5); w.uvarint(2); lease(w, 1, 1); lease(w, 2, 2); w.uvarint(1); lock(w, 'a', [[1, 3, 1]], [[2, 4, 1]]); }, /grantable waiter/],
    ['waiters without holders', (w) => { w.uvarint(5); w.uvarint(1); lease(w, 1, 1); w.uvarint(1); lock(w, 'a', [], [[1, 3, 0]]); }, /no holders/],
    ['an idle lock', (w) => { w.uvarint(5); w.uvarint(0); w.uvarint(1); lock(w, 'a', [], []); }, /no holders/],
    ['a lease holding and waiting on one lock', (w) => { w.uvarint(5); w.uvarint(1); lease(w, 1, 1); w.uvarint(1); lock(w, 'a', [[1, 3, 1]], [[1, 4, 0]]); }, /already on lock/],
    ['a token beyond lastAppliedIndex', (w) => { w.uvarint(5); w.uvarint(1); lease(w, 1, 1); w.uvarint(1); lock(w, 'a', [[1, 9, 0]], []); }, /token 9/],
    ['a token not after the lease grant', (w) => { w.uvarint(5); w.uvarint(1); lease(w, 1, 3); w.uvarint(1); lock(w, 'a', [[1, 3, 0]], []); }, /token 3/],
    ['a queue out of FIFO order', (w) => { w.uvarint(9); w.uvarint(3); lease(w, 1, 1); lease(w, 2, 1); lease(w, 3, 1); w.uvarint(1); lock(w, 'a', [[1, 3, 0]], [[2, 6, 0], [3, 5, 0]]); }, /queuedIndex order/],
    ['locks out of order', (w) => { w.uvarint(5); w.uvarint(1); lease(w, 1, 1); w.uvarint(2); lock(w, 'b', [[1, 3, 1]], []); lock(w, 'a', [[1, 4, 1]], []); }, /not strictly ascending/],
    ['an unknown mode', (w) => { w.uvarint(5); w.uvarint(1); lease(w, 1, 1); w.uvarint(1); lock(w, 'a', [[1, 3, 7]], []); }, /unknown lock mode 7/],
    ['an empty lock name', (w) => { w.uvarint(5); w.uvarint(1); lease(w, 1, 1); w.uvarint(1); lock(w, '', [[1, 3, 0]], []); }, /named/],
    ['a huge count', (w) => { w.uvarint(5); w.uvarint(1_000_000); }, /exceeds the remaining bytes/],
  ];

  for (const [what, body, message] of inconsistent) {
    it(`rejects a checksummed snapshot with ${what}`, () => {
      const bytes = craft(body);
      expect(() => LockStateMachine.restore(bytes)).toThrow(CorruptSnapshotError);
      expect(() => LockStateMachine.restore(bytes)).toThrow(message);
    });
  }

  it('accepts the well-formed twin of those hand-written bodies', () => {
    const bytes = craft((w) => {
      w.uvarint(9);
      w.uvarint(3);
      lease(w, 1, 1);
      lease(w, 2, 1);
      lease(w, 3, 2);
      w.uvarint(1);
      lock(w, 'a', [[1, 3, 1], [2, 4, 1]], [[3, 5, 0]]);
    });
    const sm = LockStateMachine.restore(bytes);
    expect(sm.getLock('a')?.waiters).toEqual([{ leaseId: 3, mode: 'exclusive', queuedIndex: 5 }]);
    expect(sm.snapshot()).toEqual(bytes);
  });
});

function lease(w: ByteWriter, leaseId: number, grantedIndex: number): void {
  w.uvarint(leaseId);
  w.uvarint(1000);
  w.uvarint(grantedIndex);
  w.string('');
}

/** lock writes one lock; holders are [leaseId, token, mode], waiters [leaseId, queuedIndex, mode] (mode 0 exclusive, 1 shared). */
function lock(w: ByteWriter, name: string, holders: Array<[number, number, number]>, waiters: Array<[number, number, number]>): void {
  w.string(name);
  w.uvarint(holders.length);
  for (const [id, token, mode] of holders) {
    w.uvarint(id);
    w.uvarint(token);
    w.u8(mode);
  }
  w.uvarint(waiters.length);
  for (const [id, queued, mode] of waiters) {
    w.uvarint(id);
    w.uvarint(queued);
    w.u8(mode);
  }
}

import { LockInvariantError } from './assert.js';
import { ByteReader, ByteWriter } from './binary.js';
import type { LockMode } from './commands.js';
import { isValidLeaseId } from './commands.js';
import { crc32 } from './crc32.js';
import { CorruptSnapshotError } from './errors.js';
import { checkLockTable } from './invariants.js';
import { compareNames } from './lockName.js';
import { LockTable } from './lockTable.js';

/**
 * Snapshot image of a LockTable.
 *
 *   magic "RLSM" (4 bytes), version u8 (SNAPSHOT_VERSION)
 *   lastAppliedIndex:uvarint
 *   leaseCount:uvarint, then per lease in ascending id:
 *     leaseId:uvarint ttlMs:uvarint grantedIndex:uvarint owner:str ('' for none)
 *   lockCount:uvarint, then per lock in canonical name order:
 *     name:str holderCount:uvarint (leaseId:uvarint token:uvarint mode:u8)*
 *              waiterCount:uvarint (leaseId:uvarint queuedIndex:uvarint mode:u8)*
 *   crc32 of every preceding byte: u32 big-endian
 *
 * Leases and locks are written in sorted order, holders in grant order and
 * waiters in FIFO order, so the same state gives the same bytes on every
 * replica however it was reached. The leases' held/waiting indexes are derived
 * on restore rather than stored. A CRC32 is included even though storage
 * checksums its records, because snapshots also travel in chunks between
 * nodes; decoding is strict and ends with a full invariant check.
 *
 * Version 2 added the lease's owner; version 1 snapshots (taken before owners
 * existed) still load, every lease ownerless.
 */
export const SNAPSHOT_VERSION = 2;
const SNAPSHOT_VERSION_NO_OWNERS = 1;
const MAGIC = [0x52, 0x4c, 0x53, 0x4d]; // "RLSM"
const MODE_EXCLUSIVE = 0;
const MODE_SHARED = 1;

export function encodeSnapshot(table: LockTable): Uint8Array {
  const w = new ByteWriter(64 + table.leases.size * 12 + table.locks.size * 24);
  for (const b of MAGIC) w.u8(b);
  w.u8(SNAPSHOT_VERSION);
  w.uvarint(table.lastAppliedIndex);
  const leaseIds = Array.from(table.leases.keys()).sort((a, b) => a - b);
  w.uvarint(leaseIds.length);
  for (const id of leaseIds) {
    const lease = table.leases.get(id)!;
    w.uvarint(id);
    w.uvarint(lease.ttlMs);
    w.uvarint(lease.grantedIndex);
    w.string(lease.owner);
  }
  const names = Array.from(table.locks.keys()).sort(compareNames);
  w.uvarint(names.length);
  for (const name of names) {
    const lock = table.locks.get(name)!;
    w.string(name);
    w.uvarint(lock.holders.length);
    for (const h of lock.holders) {
      w.uvarint(h.leaseId);
      w.uvarint(h.token);
      w.u8(h.mode === 'shared' ? MODE_SHARED : MODE_EXCLUSIVE);
    }
    w.uvarint(lock.waiters.length);
    for (const q of lock.waiters) {
      w.uvarint(q.leaseId);
      w.uvarint(q.queuedIndex);
      w.u8(q.mode === 'shared' ? MODE_SHARED : MODE_EXCLUSIVE);
    }
  }
  w.u32be(crc32(w.view()));
  return w.finish();
}

/** decodeSnapshot rebuilds a LockTable or throws CorruptSnapshotError; it never returns a partial or inconsistent table. */
export function decodeSnapshot(bytes: Uint8Array): LockTable {
  const fail = (message: string): CorruptSnapshotError => new CorruptSnapshotError(`corrupt lock snapshot: ${message}`);
  if (bytes.length < MAGIC.length + 1 + 4) throw fail(`${bytes.length} bytes is too short`);
  for (let i = 0; i < MAGIC.length; i++) {
    if (bytes[i] !== MAGIC[i]) throw fail('bad magic (not a lock snapshot)');
  }
  const version = bytes[MAGIC.length];
  if (version !== SNAPSHOT_VERSION && version !== SNAPSHOT_VERSION_NO_OWNERS) {
    throw fail(`unknown version ${version} (this build reads ${SNAPSHOT_VERSION_NO_OWNERS} and ${SNAPSHOT_VERSION})`);
  }
  const bodyEnd = bytes.length - 4;
  const tail = new ByteReader(bytes.subarray(bodyEnd), fail);
  const expected = tail.u32be('crc32');
  const actual = crc32(bytes.subarray(0, bodyEnd));
  if (expected !== actual) throw fail(`checksum mismatch (stored ${hex(expected)}, computed ${hex(actual)})`);

  const r = new ByteReader(bytes.subarray(MAGIC.length + 1, bodyEnd), fail);
  const table = new LockTable();
  table.lastAppliedIndex = r.uvarint('lastAppliedIndex');
  try {
    readLeases(r, table, version === SNAPSHOT_VERSION, fail);
    readLocks(r, table, fail);
    r.expectEnd('locks');
    checkLockTable(table);
  } catch (err) {
    if (err instanceof LockInvariantError) throw fail(err.message);
    throw err;
  }
  return table;
}

function readLeases(r: ByteReader, table: LockTable, withOwners: boolean, fail: (m: string) => CorruptSnapshotError): void {
  const count = r.uvarint('leaseCount');
  if (count > r.remaining) throw fail(`lease count ${count} exceeds the remaining bytes`);
  let previous = 0;
  for (let i = 0; i < count; i++) {
    const leaseId = r.uvarint('leaseId');
    if (!isValidLeaseId(leaseId) || leaseId <= previous) throw fail(`lease ids not strictly ascending at lease ${leaseId}`);
    previous = leaseId;
    const ttlMs = r.uvarint('ttlMs');
    const grantedIndex = r.uvarint('grantedIndex');
    table.createLease(leaseId, ttlMs, grantedIndex, withOwners ? r.string('owner') : '');
  }
}

function readLocks(r: ByteReader, table: LockTable, fail: (m: string) => CorruptSnapshotError): void {
  const count = r.uvarint('lockCount');
  if (count > r.remaining) throw fail(`lock count ${count} exceeds the remaining bytes`);
  let previous: string | null = null;
  for (let i = 0; i < count; i++) {
    const name = r.string('lock name');
    if (previous !== null && compareNames(previous, name) >= 0) throw fail(`lock names not strictly ascending at ${JSON.stringify(name)}`);
    previous = name;
    const lock = table.lockOrCreate(name);
    const holders = r.uvarint('holderCount');
    if (holders > r.remaining) throw fail(`holder count ${holders} exceeds the remaining bytes`);
    for (let j = 0; j < holders; j++) {
      const leaseId = r.uvarint('holder leaseId');
      const token = r.uvarint('token');
      const mode = readMode(r, fail);
      if (!table.leases.has(leaseId)) throw fail(`lock ${JSON.stringify(name)} held by unknown lease ${leaseId}`);
      table.addHolder(lock, leaseId, mode, token);
    }
    const waiters = r.uvarint('waiterCount');
    if (waiters > r.remaining) throw fail(`waiter count ${waiters} exceeds the remaining bytes`);
    for (let j = 0; j < waiters; j++) {
      const leaseId = r.uvarint('waiter leaseId');
      const queuedIndex = r.uvarint('queuedIndex');
      const mode = readMode(r, fail);
      if (!table.leases.has(leaseId)) throw fail(`lock ${JSON.stringify(name)} awaited by unknown lease ${leaseId}`);
      table.enqueue(lock, leaseId, mode, queuedIndex);
    }
  }
}

function readMode(r: ByteReader, fail: (m: string) => CorruptSnapshotError): LockMode {
  const at = r.offset;
  const b = r.u8('mode');
  if (b === MODE_EXCLUSIVE) return 'exclusive';
  if (b === MODE_SHARED) return 'shared';
  throw fail(`unknown lock mode ${b} at body byte ${at}`);
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}

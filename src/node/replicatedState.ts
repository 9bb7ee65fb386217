import { isAuthCommand } from '../auth/authCodec.js';
import type { AuthResult } from '../auth/authCommands.js';
import type { AuthLimits } from '../auth/authLimits.js';
import { decodeAuthSnapshot, encodeAuthSnapshot } from '../auth/authSnapshot.js';
import { AuthState } from '../auth/authState.js';
import { ByteReader, ByteWriter } from '../lock/binary.js';
import { crc32 } from '../lock/crc32.js';
import { CorruptSnapshotError } from '../lock/errors.js';
import type { LockLimits } from '../lock/limits.js';
import type { ApplyResult } from '../lock/results.js';
import { LockStateMachine, type LogRecord } from '../lock/stateMachine.js';

/** Applied: what one committed entry did, to the lock table or to the auth table. */
export type Applied = { readonly kind: 'lock'; readonly applied: ApplyResult } | { readonly kind: 'auth'; readonly index: number; readonly result: AuthResult };

/**
 * ReplicatedState is everything a member applies from the log: the lock state
 * machine and the auth state side by side. It dispatches each entry by its
 * first byte (auth entries carry AUTH_COMMAND_TAG, lock entries their version
 * byte) and keeps the lock machine's lastAppliedIndex at the Raft applied
 * index (an auth entry is a no-op for locks). Pure and deterministic.
 *
 * Snapshot: while no user, role or token was ever added, the lock snapshot
 * alone (exactly the format before auth existed, so those snapshots load and
 * are still written the same); otherwise a container
 *
 *   magic "RLSC", version u8 1, lockLength:uvarint, lock snapshot, auth snapshot, crc32 u32be
 */
export class ReplicatedState {
  private constructor(
    public lock: LockStateMachine,
    public auth: AuthState,
  ) {}

  static empty(lockLimits: Partial<LockLimits>, authLimits: Partial<AuthLimits> = {}): ReplicatedState {
    return new ReplicatedState(new LockStateMachine(lockLimits), new AuthState(authLimits));
  }

  static restore(bytes: Uint8Array, lockLimits: Partial<LockLimits>, authLimits: Partial<AuthLimits> = {}): ReplicatedState {
    if (!startsWith(bytes, CONTAINER_MAGIC)) return new ReplicatedState(LockStateMachine.restore(bytes, lockLimits), new AuthState(authLimits));
    const fail = (m: string): CorruptSnapshotError => new CorruptSnapshotError(`corrupt snapshot container: ${m}`);
    if (bytes.length < CONTAINER_MAGIC.length + 1 + 4) throw fail('too short');
    if (bytes[CONTAINER_MAGIC.length] !== CONTAINER_VERSION) throw fail(`unknown version ${bytes[CONTAINER_MAGIC.length]} (this build reads ${CONTAINER_VERSION})`);
    const bodyEnd = bytes.length - 4;
    if (new ByteReader(bytes.subarray(bodyEnd), fail).u32be('crc32') !== crc32(bytes.subarray(0, bodyEnd))) throw fail('checksum mismatch');
    const body = bytes.subarray(CONTAINER_MAGIC.length + 1, bodyEnd);
    const r = new ByteReader(body, fail);
    const lockLength = r.uvarint('lock snapshot length');
    if (lockLength > r.remaining) throw fail(`lock snapshot length ${lockLength} exceeds the remaining bytes`);
    const lockBytes = body.subarray(r.offset, r.offset + lockLength);
    const authBytes = body.subarray(r.offset + lockLength);
    return new ReplicatedState(LockStateMachine.restore(lockBytes, lockLimits), decodeAuthSnapshot(authBytes, authLimits));
  }

  get lastAppliedIndex(): number {
    return this.lock.lastAppliedIndex;
  }

  apply(record: LogRecord): Applied {
    if (!isAuthCommand(record.data)) return { kind: 'lock', applied: this.lock.apply(record) };
    const result = this.auth.apply(record.data);
    this.lock.applyNoop(record.index);
    return { kind: 'auth', index: record.index, result };
  }

  applyNoop(index: number): void {
    this.lock.applyNoop(index);
  }

  snapshot(): Uint8Array {
    const lock = this.lock.snapshot();
    if (this.auth.isEmpty()) return lock;
    const auth = encodeAuthSnapshot(this.auth);
    const w = new ByteWriter(lock.length + auth.length + 32);
    for (const b of CONTAINER_MAGIC) w.u8(b);
    w.u8(CONTAINER_VERSION);
    w.uvarint(lock.length);
    for (const b of lock) w.u8(b);
    for (const b of auth) w.u8(b);
    w.u32be(crc32(w.view()));
    return w.finish();
  }
}

const CONTAINER_MAGIC = [0x52, 0x4c, 0x53, 0x43]; // "RLSC"
const CONTAINER_VERSION = 1;

function startsWith(bytes: Uint8Array, magic: readonly number[]): boolean {
  return bytes.length >= magic.length && magic.every((b, i) => bytes[i] === b);
}

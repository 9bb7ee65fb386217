/**
 * The lock package: the deterministic lock state machine every replica applies,
 * its command and snapshot codecs, and the leader's lease clock. Nothing here
 * performs I/O or reads a clock.
 */
export { LockInvariantError } from './assert.js';
export { CorruptCommandError, CorruptSnapshotError } from './errors.js';
export type { Acquire, Command, ExpireLease, GrantLease, LockMode, Release, RevokeLease, WithdrawWait } from './commands.js';
export { MAX_LEASE_ID, isValidLeaseId } from './commands.js';
export { COMMAND_VERSION, decodeCommand, encodeCommand } from './commandCodec.js';
export type { LimitName, LockLimits } from './limits.js';
export { DEFAULT_LOCK_LIMITS, resolveLimits } from './limits.js';
export { compareNames, isWellFormed, sortNames, utf8ByteLength } from './lockName.js';
export type * from './results.js';
export { describeResult } from './describeResult.js';
export type { LeaseInfo, LockCounts, LockInfo, LogRecord } from './stateMachine.js';
export { LockStateMachine } from './stateMachine.js';
export { SNAPSHOT_VERSION } from './snapshotCodec.js';
export type { KeepAliveOutcome, TimeToLiveOutcome } from './leaseClock.js';
export { LeaseClock } from './leaseClock.js';

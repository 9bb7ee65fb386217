/**
 * CorruptCommandError is thrown when log entry bytes do not decode to a known
 * command. Bad input never reaches the log (the server validates first), so
 * this means a bug or corruption: the node must stop rather than skip the entry,
 * because skipping on one replica and not another would fork the lock state.
 */
export class CorruptCommandError extends Error {
  override readonly name = 'CorruptCommandError';
}

/**
 * CorruptSnapshotError is thrown when snapshot bytes fail their checksum or do
 * not decode to a consistent lock table. Restoring part of a snapshot is never
 * acceptable, so nothing is restored.
 */
export class CorruptSnapshotError extends Error {
  override readonly name = 'CorruptSnapshotError';
}

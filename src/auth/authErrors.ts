/**
 * CorruptAuthCommandError / CorruptAuthSnapshotError: auth bytes in the log or
 * a snapshot that do not decode. Like their lock twins they stop the node:
 * skipping an entry on one replica would fork who may do what.
 */
export class CorruptAuthCommandError extends Error {
  override readonly name = 'CorruptAuthCommandError';
}

export class CorruptAuthSnapshotError extends Error {
  override readonly name = 'CorruptAuthSnapshotError';
}

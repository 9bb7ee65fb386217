/**
 * BackupError: a restore or recovery the operator asked for cannot be done as
 * asked (a non-empty target dir, a cluster id that must change, a missing
 * confirmation flag). Nothing was written; the message says what to change.
 */
export class BackupError extends Error {
  override readonly name = 'BackupError';
}

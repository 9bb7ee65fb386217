/**
 * Exit codes and user-facing errors of the `raftlock` command.
 *
 * Every command ends with one of these codes. `raftlock lock` returns the
 * command's own exit status when the command ran normally, so its codes sit
 * where ordinary programs rarely go (the sysexits.h range), except 1 and 2,
 * which every CLI uses for "failed" and "bad usage".
 */
export const EXIT = Object.freeze({
  /** The command succeeded (for `lock`: the command ran and exited 0). */
  ok: 0,
  /** A request was refused for a reason other than those below, e.g. an unknown or expired lease. */
  failed: 1,
  /** Bad usage: an unknown flag, a malformed duration or endpoint, input the cluster refuses as invalid. */
  usage: 2,
  /** No or invalid credentials, or the identity lacks the permission (sysexits EX_NOPERM). */
  noPermission: 77,
  /** The cluster could not be reached or has no leader/quorum (sysexits EX_UNAVAILABLE). */
  unavailable: 69,
  /** `lock`: the lock was not acquired within --wait; the command never ran (sysexits EX_TEMPFAIL: try again later). */
  notAcquired: 75,
  /** `lock`: the lease was lost while the command ran; the command was stopped (SIGTERM, then SIGKILL). */
  lockLost: 76,
  /** `lock`: the command was found but could not be executed (shell convention). */
  cannotExecute: 126,
  /** `lock`: the command was not found (shell convention). */
  notFound: 127,
});

/** The exit-code table as it appears in `--help`. */
export const EXIT_CODE_HELP = [
  'Exit codes:',
  `  ${EXIT.ok}    success`,
  `  ${EXIT.failed}    the request was refused (e.g. an unknown or expired lease)`,
  `  ${EXIT.usage}    bad usage: unknown flag, malformed duration or endpoint, input the cluster refuses`,
  `  ${EXIT.unavailable}   the cluster is unavailable (no member answered, or no leader/quorum)`,
  `  ${EXIT.noPermission}   not authenticated, or not permitted (auth-enabled clusters)`,
].join('\n');

/** CliError ends the command with a one-line message and an exit code. */
export class CliError extends Error {
  override readonly name: string = 'CliError';
  constructor(message: string, readonly exitCode: number) {
    super(message);
  }
}

/** UsageError is a mistake in the command line itself: exit code 2. */
export class UsageError extends CliError {
  override readonly name = 'UsageError';
  constructor(message: string) {
    super(message, EXIT.usage);
  }
}

/** oneLine squeezes a message onto a single line (server messages can carry newlines). */
export function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, '; ').trim();
}

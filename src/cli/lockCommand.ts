import { spawn, type ChildProcess } from 'node:child_process';
import { constants as os } from 'node:os';
import type { Command } from 'commander';
import { DeadlineExceededError, LeaseLostError, LockHeldError, type Lease, type LockHandle } from '../client/index.js';
import { DEFAULT_TIMEOUT, clientError, openSession, ttlError, unavailable, type Session } from './session.js';
import { DURATION_HELP, formatDuration, parseDuration } from './duration.js';
import { ENDPOINTS_HELP } from './endpoints.js';
import { CliError, EXIT, oneLine, UsageError } from './errors.js';
import { warn } from './output.js';
import type { TlsFlags } from './tlsOptions.js';
import { finish } from './run.js';

/**
 * `raftlock lock NAME -- COMMAND [ARGS...]`: run a command while holding a
 * lock, like `consul lock` and `etcdctl lock`.
 *
 *   grant a lease (--ttl), acquire the lock (waiting up to --wait), run the
 *   command with RAFTLOCK_TOKEN / RAFTLOCK_LOCK / RAFTLOCK_LEASE in its
 *   environment, then release the lock and revoke the lease.
 *
 * The moment the client library reports the lease (and so the lock) lost, the
 * command is stopped: SIGTERM, then SIGKILL after --grace. SIGINT, SIGTERM and
 * SIGHUP sent to raftlock are forwarded to the command; before the command
 * starts they abandon the wait instead.
 */

export interface LockOptions extends TlsFlags {
  ttl: string;
  wait: string;
  grace: string;
  shared?: boolean;
  endpoints?: string;
  timeout: string;
}

export const LOCK_DEFAULTS = Object.freeze({ ttl: '10s', wait: '30s', grace: '5s' });
/** The longest --wait: a day (the client library splits waits longer than the server's one-hour wait_ms). */
export const MAX_WAIT_MS = 86_400_000;
const FORWARDED: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

const LOCK_EXIT_HELP = [
  'Exit codes:',
  "  N    the command's own exit status when it ran and the lock was held throughout",
  '       (128+S when it was ended by signal S, e.g. 130 after Ctrl-C)',
  `  ${EXIT.usage}    bad usage: unknown flag, malformed duration or endpoint, input the cluster refuses`,
  `  ${EXIT.unavailable}   the cluster is unavailable: no lease or no lock could be obtained; the command never ran`,
  `  ${EXIT.notAcquired}   the lock was not acquired within --wait (someone else holds it); the command never ran`,
  `  ${EXIT.lockLost}   the lock was lost while the command ran (lease expired or unreachable);`,
  `       the command was stopped with SIGTERM, then SIGKILL after --grace`,
  `  ${EXIT.cannotExecute}  the command could not be executed`,
  `  ${EXIT.notFound}  the command was not found`,
  `  ${EXIT.failed}    anything else went wrong before the command ran`,
].join('\n');

/** registerLockCommand adds `raftlock lock`. */
export function registerLockCommand(program: Command): void {
  program
    .command('lock')
    .description('run a command while holding a lock; stop it the moment the lock is lost')
    .argument('<name>', 'the lock name')
    .argument('<command...>', 'the command to run and its arguments (put them after --)')
    .option('--ttl <duration>', `lease TTL: how soon the lock frees itself if raftlock dies (${DURATION_HELP})`, LOCK_DEFAULTS.ttl)
    .option('--wait <duration>', 'how long to wait for the lock; 0 tries once', LOCK_DEFAULTS.wait)
    .option('--shared', 'take the lock in shared mode (many shared holders, no exclusive one)')
    .option('--grace <duration>', 'after the lock is lost: time between SIGTERM and SIGKILL', LOCK_DEFAULTS.grace)
    .option('--endpoints <list>', ENDPOINTS_HELP)
    .option('--timeout <duration>', 'give up when the cluster does not answer a request (lease grant, release) within this long', DEFAULT_TIMEOUT)
    .option('--cacert <file>', 'TLS: PEM CA that issued the nodes\' certificates; turns TLS on (default: $RAFTLOCK_CACERT)')
    .option('--cert <file>', 'TLS: PEM client certificate, for clusters that require one (default: $RAFTLOCK_CERT)')
    .option('--key <file>', 'TLS: PEM private key of --cert (default: $RAFTLOCK_KEY)')
    .option('--tls-config <file>', 'TLS: JSON file {"cacert","cert","key"} with paths relative to it (default: $RAFTLOCK_TLS_CONFIG)')
    .addHelpText(
      'after',
      [
        '',
        'The command gets the lock in its environment:',
        '  RAFTLOCK_TOKEN   the fencing token (a decimal integer; pass it to the resource you protect)',
        '  RAFTLOCK_LOCK    the lock name',
        '  RAFTLOCK_LEASE   the lease id',
        '',
        'Examples:',
        "  raftlock lock backups -- sh -c 'pg_dump mydb > /backups/db.sql'",
        '  raftlock lock --wait 0 cron-nightly -- ./nightly.sh        # skip if another run holds it',
        '  raftlock lock --ttl 30s --grace 10s migrate -- npm run migrate',
        '  raftlock lock --shared readers -- ./read-only-report.sh',
        "  raftlock lock jobs -- sh -c 'echo token $RAFTLOCK_TOKEN'",
        '',
        'The lock is released (and the lease revoked) when the command exits. SIGINT,',
        'SIGTERM and SIGHUP sent to raftlock are forwarded to the command. Signals go to',
        "the command's process only: in `sh -c` scripts, `exec` the long-running program.",
        '',
        LOCK_EXIT_HELP,
      ].join('\n'),
    )
    .action(async (name: string, command: string[], opts: LockOptions) => {
      finish(await runLock(name, command, opts));
    });
}

interface Acquired {
  readonly lease: Lease;
  readonly handle: LockHandle;
}

/** runLock does the whole `lock` command and returns its exit code. */
export async function runLock(name: string, command: readonly string[], opts: LockOptions): Promise<number> {
  if (name === '') throw new UsageError('the lock name is empty: give a name such as "backups"');
  if (command.length === 0 || command[0] === '') throw new UsageError('no command to run: raftlock lock NAME -- COMMAND [ARGS...]');
  const ttlMs = parseDuration(opts.ttl, '--ttl', { min: 1 });
  const waitMs = parseDuration(opts.wait, '--wait', { max: MAX_WAIT_MS });
  const graceMs = parseDuration(opts.grace, '--grace');

  const session = await openSession(opts);
  const signals = new SignalRelay();
  try {
    let acquired: Acquired;
    try {
      acquired = await acquire(session, name, { ttlMs, ttlText: opts.ttl, waitMs, shared: opts.shared === true }, signals);
    } catch (err) {
      await session.close({ revoke: true });
      if (signals.received !== null) {
        warn(`interrupted (${signals.received}) while waiting for lock ${name}; the command never ran`);
        return 128 + signalNumber(signals.received);
      }
      throw err;
    }
    return await runHolding(session, name, acquired, command, graceMs, signals);
  } finally {
    signals.uninstall();
  }
}

async function acquire(
  session: Session,
  name: string,
  o: { ttlMs: number; ttlText: string; waitMs: number; shared: boolean },
  signals: SignalRelay,
): Promise<Acquired> {
  const { client, target } = session;
  let lease: Lease;
  try {
    lease = await session.bounded('lease grant', client.grant(o.ttlMs));
  } catch (err) {
    throw ttlError(err, '--ttl', o.ttlText, target);
  }
  const mode = o.shared ? 'shared' : 'exclusive';
  const acquireOpts = { lease, mode, waitMs: o.waitMs, signal: signals.abort.signal } as const;
  try {
    const pending = o.waitMs === 0 ? client.tryAcquire(name, acquireOpts) : client.acquire(name, acquireOpts);
    // The server bounds the wait; ours only covers a cluster that stops answering.
    const handle = await session.bounded(`lock ${name}`, pending, o.waitMs + session.timeoutMs);
    return { lease, handle };
  } catch (err) {
    if (signals.received !== null) throw err;
    if (err instanceof LockHeldError || err instanceof DeadlineExceededError) {
      const held = await describeHolders(session, name, err);
      const waited = o.waitMs === 0 ? 'on a single try (--wait 0)' : `within ${formatDuration(o.waitMs)}`;
      throw new CliError(`lock ${name} not acquired ${waited}: ${held}`, EXIT.notAcquired);
    }
    // The lease ran out while waiting because no renewal got through: the cluster is unreachable.
    if (err instanceof LeaseLostError && err.reason === 'expired') throw unavailable(err.message, target);
    throw clientError(err, target);
  }
}

/** describeHolders says who holds the lock, from the error when it names them, else from a quick Get. */
async function describeHolders(session: Session, name: string, err: unknown): Promise<string> {
  let holders: readonly { leaseId: unknown; token: unknown; mode?: unknown }[] = [];
  if (err instanceof LockHeldError && Array.isArray(err.holders)) holders = err.holders;
  if (holders.length === 0) {
    try {
      holders = (await session.bounded('get', session.client.get(name), 1_000)).holders;
    } catch {
      // best effort only
    }
  }
  if (holders.length === 0) return 'it is held by another lease';
  const list = holders.map((h) => `lease ${String(h.leaseId)} (token ${String(h.token)}${h.mode !== undefined ? `, ${String(h.mode)}` : ''})`);
  return `held by ${list.join(', ')}`;
}

/** runHolding runs the command while the lock is held and returns the exit code. */
async function runHolding(session: Session, name: string, a: Acquired, command: readonly string[], graceMs: number, signals: SignalRelay): Promise<number> {
  const { handle, lease } = a;
  const lost = new LossWatch([handle.signal, lease.signal]);
  if (lost.reason !== null) {
    await session.close({ revoke: true });
    warn(`lock ${name} was lost before the command started (${lost.reason}); the command never ran`);
    return EXIT.lockLost;
  }

  if (signals.received !== null) {
    await releaseQuietly(session, name, handle);
    warn(`interrupted (${signals.received}) before the command started; lock ${name} released`);
    return 128 + signalNumber(signals.received);
  }

  const env = { ...process.env, RAFTLOCK_TOKEN: handle.tokenString, RAFTLOCK_LOCK: name, RAFTLOCK_LEASE: lease.id };
  const [file, ...args] = command as [string, ...string[]];
  let child: ChildProcess;
  try {
    child = spawn(file, args, { stdio: 'inherit', env });
  } catch (err) {
    await releaseQuietly(session, name, handle);
    throw new CliError(`cannot run ${file}: ${(err as Error).message}`, EXIT.cannotExecute);
  }
  const exited = waitForExit(child);
  signals.forwardTo(child);

  let killTimer: NodeJS.Timeout | undefined;
  lost.onLost((reason) => {
    warn(`lock ${name} lost (${reason}): stopping the command (SIGTERM, then SIGKILL after ${formatDuration(graceMs)})`);
    child.kill('SIGTERM');
    killTimer = setTimeout(() => {
      warn(`the command did not exit within ${formatDuration(graceMs)} of SIGTERM: sending SIGKILL`);
      child.kill('SIGKILL');
    }, graceMs);
  });

  const result = await exited;
  clearTimeout(killTimer);
  signals.stopForwarding();
  lost.dispose();

  if (result.kind === 'error') {
    await releaseQuietly(session, name, handle);
    const e = result.error;
    if (e.code === 'ENOENT') throw new CliError(`command not found: ${file}`, EXIT.notFound);
    throw new CliError(`cannot run ${file}: ${e.message}`, EXIT.cannotExecute);
  }
  if (lost.reason !== null) {
    await session.close({ revoke: true });
    const how = result.signal !== null ? `ended by ${result.signal}` : `exited with ${result.code}`;
    warn(`the command was stopped because lock ${name} was lost (it ${how})`);
    return EXIT.lockLost;
  }
  await releaseQuietly(session, name, handle);
  if (result.signal !== null) return 128 + signalNumber(result.signal);
  return result.code ?? EXIT.failed;
}

/** releaseQuietly releases the lock and revokes the lease; a failure is a warning, never a change of exit code. */
async function releaseQuietly(session: Session, name: string, handle: LockHandle): Promise<void> {
  try {
    await session.bounded(`release ${name}`, handle.release());
  } catch (err) {
    const e = clientError(err, session.target);
    warn(`could not release lock ${name} (${oneLine((e as Error).message)}); it frees itself when the lease expires`);
  }
  await session.close({ revoke: true });
}

type ChildResult =
  | { readonly kind: 'exit'; readonly code: number | null; readonly signal: NodeJS.Signals | null }
  | { readonly kind: 'error'; readonly error: NodeJS.ErrnoException };

function waitForExit(child: ChildProcess): Promise<ChildResult> {
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => resolve({ kind: 'exit', code, signal }));
    child.once('error', (error: NodeJS.ErrnoException) => {
      // 'error' without a pid is a failed spawn; after a spawn it is a failed kill(), which 'exit' follows.
      if (child.pid === undefined) resolve({ kind: 'error', error });
    });
  });
}

function signalNumber(signal: NodeJS.Signals): number {
  return os.signals[signal] ?? 0;
}

/** LossWatch fires once when any of the given signals (the lock's, the lease's) aborts. */
class LossWatch {
  reason: string | null = null;
  private listener: ((reason: string) => void) | null = null;
  private readonly cleanups: (() => void)[] = [];

  constructor(signals: readonly (AbortSignal | undefined)[]) {
    for (const s of signals) {
      if (s === undefined) continue;
      if (s.aborted) {
        this.fire(s.reason);
        continue;
      }
      const on = (): void => this.fire(s.reason);
      s.addEventListener('abort', on, { once: true });
      this.cleanups.push(() => s.removeEventListener('abort', on));
    }
  }

  onLost(cb: (reason: string) => void): void {
    this.listener = cb;
    if (this.reason !== null) cb(this.reason);
  }

  dispose(): void {
    for (const c of this.cleanups.splice(0)) c();
    this.listener = null;
  }

  private fire(reason: unknown): void {
    if (this.reason !== null) return;
    this.reason = reason instanceof Error ? oneLine(reason.message) : reason === undefined ? 'lease lost' : oneLine(String(reason));
    this.listener?.(this.reason);
  }
}

/**
 * SignalRelay owns SIGINT/SIGTERM/SIGHUP for the whole command: before the
 * command runs they abort the wait for the lock; while it runs they are
 * forwarded to it; after it exited they are ignored (the lock is being released).
 */
class SignalRelay {
  readonly abort = new AbortController();
  received: NodeJS.Signals | null = null;
  private child: ChildProcess | null = null;
  private readonly handlers = new Map<NodeJS.Signals, () => void>();

  constructor() {
    for (const sig of FORWARDED) {
      const h = (): void => this.on(sig);
      this.handlers.set(sig, h);
      process.on(sig, h);
    }
  }

  forwardTo(child: ChildProcess): void {
    this.child = child;
  }

  stopForwarding(): void {
    this.child = null;
  }

  uninstall(): void {
    for (const [sig, h] of this.handlers) process.off(sig, h);
    this.handlers.clear();
  }

  private on(sig: NodeJS.Signals): void {
    if (this.child !== null) {
      this.child.kill(sig);
      return;
    }
    if (this.received === null) {
      this.received = sig;
      this.abort.abort(new Error(`interrupted by ${sig}`));
    }
  }
}

import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { sleep } from '../test/support/poll.js';

/**
 * processes: every child process and temp dir the benchmark creates is
 * registered here, so that a normal exit, Ctrl-C, SIGTERM or a crash of the
 * benchmark SIGKILLs each of them by PID and removes the dirs. Nothing else is
 * ever signalled.
 */

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** Child is one spawned process with its output appended to a log file. */
export interface Child {
  readonly pid: number;
  readonly proc: ChildProcess;
  readonly exit: Promise<Exit>;
  /** exited is set once the process is gone. */
  exited: Exit | null;
}

const livePids = new Set<number>();
const tempDirs = new Set<string>();
let hooked = false;

/** killAllSync SIGKILLs every registered process still alive and removes every registered temp dir. */
export function killAllSync(): void {
  for (const pid of livePids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  livePids.clear();
  for (const dir of tempDirs) {
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    } catch {
      // best effort: a dir still held open is left in the system temp dir
    }
  }
  tempDirs.clear();
}

function installHooks(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', killAllSync);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      process.stderr.write(`\nbench: ${sig}: stopping ${livePids.size} process(es) and removing temp dirs\n`);
      killAllSync();
      process.exit(130);
    });
  }
}

/** registerTempDir has the dir removed on exit (and by forgetTempDir's caller when done earlier). */
export function registerTempDir(dir: string): void {
  installHooks();
  tempDirs.add(dir);
}

export function removeTempDir(dir: string): void {
  tempDirs.delete(dir);
  rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
}

/** spawnLogged starts `command args` with stdout and stderr appended to logPath, registered for cleanup. */
export function spawnLogged(command: string, args: readonly string[], logPath: string, o: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Child {
  installHooks();
  const fd = openSync(logPath, 'a');
  writeSync(fd, `===== bench: start ${command} ${args.join(' ')} (${new Date().toISOString()})\n`);
  let proc: ChildProcess;
  try {
    proc = spawn(command, args, { cwd: o.cwd, env: o.env ?? process.env, stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd);
  }
  const pid = proc.pid;
  if (pid === undefined) throw new Error(`could not start ${command}`);
  livePids.add(pid);
  const child: Child = {
    pid,
    proc,
    exited: null,
    exit: new Promise<Exit>((resolve) => {
      proc.once('exit', (code, signal) => {
        livePids.delete(pid);
        child.exited = { code, signal };
        resolve(child.exited);
      });
      proc.once('error', () => {
        livePids.delete(pid);
        child.exited = { code: -1, signal: null };
        resolve(child.exited);
      });
    }),
  };
  return child;
}

/** killChild SIGKILLs a child if it is alive and waits (bounded) until it is gone. */
export async function killChild(child: Child, timeoutMs = 5_000): Promise<void> {
  if (child.exited !== null) return;
  child.proc.kill('SIGKILL');
  await Promise.race([child.exit, sleep(timeoutMs)]);
}

/** logTail returns the last `lines` lines of a log file ('' when unreadable). */
export function logTail(path: string, lines = 20): string {
  try {
    return readFileSync(path, 'utf8').split('\n').slice(-lines - 1).join('\n');
  } catch {
    return '';
  }
}

import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/**
 * raftlockNode: how a test harness starts one real `raftlock node` process,
 * written once for the integration and chaos harnesses so that both run the
 * node exactly the same way. It registers no vitest hooks: the harnesses keep
 * their own bookkeeping (pids to kill, exits to await).
 */

const REPO = join(import.meta.dirname, '..', '..');
const RAFTLOCK_SCRIPT = join(REPO, 'scripts', 'raftlock.mjs');

export interface RaftlockNodeStart {
  readonly configPath: string;
  readonly id: string;
  /** logPath: stdout and stderr are appended here. */
  readonly logPath: string;
  /** startLine is written to the log first, so that a reader can find where this start's output begins. */
  readonly startLine: string;
}

/**
 * spawnRaftlockNode starts `raftlock node --config <configPath> --id <id>` from
 * the repository root with its output appended to the log. NODE_OPTIONS is
 * dropped so that the test runner's loader flags do not reach the node.
 */
export function spawnRaftlockNode(o: RaftlockNodeStart): ChildProcess {
  const fd = openSync(o.logPath, 'a');
  writeSync(fd, `${o.startLine}\n`);
  try {
    const env = { ...process.env };
    delete env.NODE_OPTIONS;
    return spawn(process.execPath, [RAFTLOCK_SCRIPT, 'node', '--config', o.configPath, '--id', o.id], { cwd: REPO, env, stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd);
  }
}

import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '../../src/client/index.js';
import { freePorts } from '../support/freePorts.js';

/**
 * realCluster: real `raftlock node` processes on loopback for the CLI tests,
 * and a runner for the `raftlock` command itself as a child process.
 *
 *   const c = await startRealCluster();          // in beforeAll
 *   const r = await runCli(['get', 'x'], { env: c.env });
 *   await c.destroy();                          // in afterAll: always
 *
 * Every process spawned here (nodes and CLI runs) is recorded by PID and only
 * those PIDs are ever signalled; destroy() SIGCONTs and SIGKILLs whatever is
 * left and removes the temp dir. A process 'exit' hook kills survivors if the
 * worker itself goes away.
 */

export const REPO = join(import.meta.dirname, '..', '..');
export const BIN = join(REPO, 'scripts', 'raftlock.mjs');

/** FAST: elections in 200-400 ms, heartbeats every 40 ms; the TTL floor is the longest election timeout. */
export const FAST_TIMING = Object.freeze({ tickMs: 20, electionTicks: 10, heartbeatTicks: 2 });
export const MIN_TTL_MS = 400;

const live = new Map<number, ChildProcess>();
process.on('exit', () => {
  for (const pid of live.keys()) {
    try {
      process.kill(pid, 'SIGCONT');
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

function track(proc: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  const pid = proc.pid;
  if (pid !== undefined) live.set(pid, proc);
  return new Promise((resolve) => {
    proc.once('exit', (code, signal) => {
      if (pid !== undefined) live.delete(pid);
      resolve({ code, signal });
    });
    proc.once('error', () => {
      if (pid !== undefined) live.delete(pid);
      resolve({ code: -1, signal: null });
    });
  });
}

/** cleanEnv is the environment for spawned processes: no inherited NODE_OPTIONS (vitest's loaders) or endpoints. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  delete env.NODE_OPTIONS;
  if (!('RAFTLOCK_ENDPOINTS' in extra)) delete env.RAFTLOCK_ENDPOINTS;
  return env;
}

export { freePorts };

export interface RealNode {
  readonly id: string;
  readonly clientAddress: string;
  readonly peerAddress: string;
  readonly logPath: string;
  readonly proc: ChildProcess;
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export class RealCluster {
  readonly nodes: RealNode[] = [];
  private destroyed = false;

  constructor(
    readonly dir: string,
    readonly configPath: string,
  ) {}

  /** endpoints: every member's client address, comma-separated (for --endpoints or RAFTLOCK_ENDPOINTS). */
  get endpoints(): string {
    return this.nodes.map((n) => n.clientAddress).join(',');
  }

  /** env: an environment in which the CLI finds this cluster through RAFTLOCK_ENDPOINTS. */
  get env(): NodeJS.ProcessEnv {
    return cleanEnv({ RAFTLOCK_ENDPOINTS: this.endpoints });
  }

  /** pauseAll SIGSTOPs every member (keepalives then fail); resumeAll SIGCONTs them. */
  pauseAll(): void {
    for (const n of this.nodes) n.proc.kill('SIGSTOP');
  }

  resumeAll(): void {
    for (const n of this.nodes) n.proc.kill('SIGCONT');
  }

  /** waitForLeader polls each member's Cluster.Status until a majority names the same leader in one term. */
  async waitForLeader(timeoutMs = 20_000): Promise<string> {
    const deadline = performance.now() + timeoutMs;
    let last = '';
    while (performance.now() < deadline) {
      for (const n of this.nodes) {
        if (n.proc.exitCode !== null) throw new Error(`${n.id} exited with ${n.proc.exitCode}:\n${this.log(n.id).slice(-2000)}`);
      }
      const views = await Promise.all(this.nodes.map((n) => statusOf(n.clientAddress)));
      last = views.map((v, i) => (v === null ? `${this.nodes[i]?.id}:-` : `${v.id}:${v.role}@${v.term}`)).join(' ');
      for (const v of views) {
        if (v === null || v.role !== 'leader') continue;
        const agree = views.filter((o) => o !== null && o.leader === v.id && String(o.term) === String(v.term)).length;
        if (agree > this.nodes.length / 2 && views.every((o) => o !== null)) return v.id;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`no leader within ${timeoutMs} ms; last: ${last}`);
  }

  log(id: string): string {
    const n = this.nodes.find((x) => x.id === id);
    try {
      return n === undefined ? '' : readFileSync(n.logPath, 'utf8');
    } catch {
      return '';
    }
  }

  /** destroy SIGCONTs and SIGKILLs every member still running, waits for them, removes the temp dir. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const n of this.nodes) {
      if (n.proc.exitCode !== null || n.proc.signalCode !== null) continue;
      n.proc.kill('SIGCONT');
      n.proc.kill('SIGKILL');
    }
    await Promise.all(this.nodes.map((n) => Promise.race([n.exit, new Promise((r) => setTimeout(r, 5_000))])));
    await rm(this.dir, { recursive: true, force: true, maxRetries: 3 });
  }
}

async function statusOf(endpoint: string): Promise<{ id: string; role: string; term: unknown; leader: string | null } | null> {
  let client: Awaited<ReturnType<typeof connect>> | null = null;
  try {
    client = await connect({ endpoints: [endpoint] });
    const s = await Promise.race([client.status(), new Promise<null>((r) => setTimeout(() => r(null), 500))]);
    if (s === null) return null;
    return { id: s.id, role: s.role, term: s.term, leader: s.leader === '' ? null : s.leader };
  } catch {
    return null;
  } finally {
    void client?.close().catch(() => undefined);
  }
}

/** startRealCluster writes a fast config for `size` members on free ports, spawns them and waits for a leader. */
export async function startRealCluster(size: 1 | 3 | 5 = 3): Promise<RealCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'raftlock-cli-'));
  const ports = await freePorts(2 * size);
  const nodes = Array.from({ length: size }, (_, i) => ({
    id: `n${i + 1}`,
    clientAddress: `127.0.0.1:${ports[2 * i]}`,
    peerAddress: `127.0.0.1:${ports[2 * i + 1]}`,
  }));
  const configPath = join(dir, 'cluster.json');
  const config = {
    clusterId: 'raftlock-cli-test',
    dataDir: join(dir, 'data'),
    nodes,
    timing: FAST_TIMING,
    limits: { minTtlMs: MIN_TTL_MS },
    logLevel: 'info',
  };
  writeFileSync(configPath, `${JSON.stringify(config, null, 2)}\n`);
  const cluster = new RealCluster(dir, configPath);
  try {
    for (const n of nodes) {
      const logPath = join(dir, `${n.id}.log`);
      const fd = openSync(logPath, 'a');
      let proc: ChildProcess;
      try {
        proc = spawn(process.execPath, [BIN, 'node', '--config', configPath, '--id', n.id], { cwd: REPO, env: cleanEnv(), stdio: ['ignore', fd, fd] });
      } finally {
        closeSync(fd);
      }
      cluster.nodes.push({ ...n, logPath, proc, exit: track(proc) });
    }
    await cluster.waitForLeader();
    return cluster;
  } catch (err) {
    await cluster.destroy();
    throw err;
  }
}

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliRun {
  readonly proc: ChildProcess;
  readonly done: Promise<CliResult>;
  /** stdout: what the run printed on stdout so far. */
  stdout(): string;
}

/** startCli spawns `raftlock ARGS...` (scripts/raftlock.mjs under this Node) and collects its output; killed after timeoutMs. */
export function startCli(args: readonly string[], o: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): CliRun {
  const proc = spawn(process.execPath, [BIN, ...args], { cwd: REPO, env: o.env ?? cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  const exit = track(proc);
  let stdout = '';
  let stderr = '';
  proc.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  proc.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const timer = setTimeout(() => proc.kill('SIGKILL'), o.timeoutMs ?? 30_000);
  const closed = new Promise<void>((resolve) => proc.once('close', () => resolve()));
  const done = (async () => {
    const { code, signal } = await exit;
    await closed;
    clearTimeout(timer);
    return { code, signal, stdout, stderr };
  })();
  return { proc, done, stdout: () => stdout };
}

/** runCli runs `raftlock ARGS...` to completion. */
export function runCli(args: readonly string[], o: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliResult> {
  return startCli(args, o).done;
}

/** killStrays SIGKILLs every CLI run still alive (afterAll). Members are left to RealCluster.destroy. */
export function killStrays(except: readonly ChildProcess[] = []): void {
  for (const [pid, proc] of live) {
    if (except.includes(proc)) continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

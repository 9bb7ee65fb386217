import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach } from 'vitest';
import { RaftlockClient, type ClusterStatus } from '../../src/client/index.js';
import { freePorts } from '../support/freePorts.js';

/**
 * realCluster starts real `raftlock node` processes on loopback for the
 * client library's tests:
 *
 *   useRealClusters();                       // once per file: registers the cleanup
 *   const cluster = await startRealCluster(); // free ports, temp config, spawn, wait for a leader
 *   cluster.kill('n1'); cluster.pause('n2'); cluster.resume('n2');
 *
 * A failed test prints the tail of every member's log. Cleanup ALWAYS runs (afterAll, pass or fail, and a process 'exit' hook):
 * every PID this file spawned that is still alive gets SIGKILL (a SIGSTOPped
 * one too), and the temp dirs are removed. Only PIDs spawned here are ever
 * signalled.
 */

const REPO = join(import.meta.dirname, '..', '..');
/** SCRIPT: the `raftlock` command; RAFTLOCK_NODE_SCRIPT may name another build of it (e.g. while src/cli is being changed). */
const SCRIPT = process.env.RAFTLOCK_NODE_SCRIPT ?? join(REPO, 'scripts', 'raftlock.mjs');

/** FAST_TIMING: ticks of 20 ms, elections after 200-400 ms, heartbeats every 40 ms. */
const FAST_TIMING = Object.freeze({ tickMs: 20, electionTicks: 10, heartbeatTicks: 2 });
/** MIN_TTL_MS: the shortest TTL the test clusters accept (the longest election timeout, 2 x 10 x 20 ms). */
export const MIN_TTL_MS = 400;

const live = new Map<number, ChildProcess>();
const clusters: RealCluster[] = [];
let registered = false;

process.on('exit', () => {
  for (const pid of live.keys()) killQuietly(pid);
});

/** useRealClusters registers the afterAll that destroys every cluster the file started. Call it at the top of the file. */
export function useRealClusters(): void {
  registered = true;
  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail') for (const c of clusters) process.stderr.write(c.describe());
  });
  afterAll(async () => {
    for (const c of clusters.splice(0)) await c.destroy();
  }, 30_000);
}

/**
 * startRealCluster spawns a 3-node cluster and waits (bounded) for a leader
 * and for every member to answer. Ports are picked by binding port 0 and
 * releasing it, so another socket can take one before a member binds it: a
 * start that fails with EADDRINUSE is retried with fresh ports (bounded).
 */
export async function startRealCluster(options: { nodes?: 3 | 5; timeoutMs?: number } = {}): Promise<RealCluster> {
  if (!registered) throw new Error('call useRealClusters() at the top of the test file first');
  const size = options.nodes ?? 3;
  for (let attempt = 1; ; attempt++) {
    const dir = await mkdtemp(join(tmpdir(), 'raftlock-client-'));
    const ports = await freePorts(2 * size);
    const cluster = new RealCluster(dir, size, ports);
    clusters.push(cluster);
    try {
      for (const id of cluster.ids) cluster.spawn(id);
      await cluster.waitForLeader({ timeoutMs: options.timeoutMs ?? 30_000 });
      await cluster.waitAllServing(10_000);
      return cluster;
    } catch (err) {
      const clash = /EADDRINUSE/.test(cluster.describe());
      if (!clash || attempt >= 3) {
        process.stderr.write(cluster.describe());
        throw err;
      }
      process.stderr.write(`realCluster: a port was taken between picking and binding; retrying with new ports (attempt ${attempt})\n`);
      clusters.splice(clusters.indexOf(cluster), 1);
      await cluster.destroy();
    }
  }
}

export { freePorts };

export class RealCluster {
  readonly ids: readonly string[];
  readonly configPath: string;
  private readonly addressOf = new Map<string, string>();
  private readonly procs = new Map<string, ChildProcess>();
  private readonly exits = new Map<string, Promise<void>>();
  /** admin asks single nodes for Cluster.Status (it never holds leases). */
  private readonly admin: RaftlockClient;
  private destroyed = false;

  constructor(
    readonly dir: string,
    size: number,
    ports: readonly number[],
  ) {
    const nodes = Array.from({ length: size }, (_, i) => ({
      id: `n${i + 1}`,
      clientAddress: `127.0.0.1:${ports[2 * i]}`,
      peerAddress: `127.0.0.1:${ports[2 * i + 1]}`,
    }));
    for (const n of nodes) this.addressOf.set(n.id, n.clientAddress);
    this.ids = nodes.map((n) => n.id);
    this.configPath = join(dir, 'cluster.json');
    const config = {
      clusterId: 'raftlock-client-test',
      dataDir: join(dir, 'data'),
      nodes,
      timing: FAST_TIMING,
      limits: { minTtlMs: MIN_TTL_MS },
      logLevel: 'info',
    };
    writeFileSync(this.configPath, `${JSON.stringify(config, null, 2)}\n`);
    this.admin = new RaftlockClient({ endpoints: this.addresses(), attemptTimeoutMs: 500, requestTimeoutMs: 1_000 });
  }

  address(id: string): string {
    const a = this.addressOf.get(id);
    if (a === undefined) throw new Error(`unknown member ${id}`);
    return a;
  }

  addresses(): string[] {
    return this.ids.map((id) => this.address(id));
  }

  logPath(id: string): string {
    return join(this.dir, `${id}.log`);
  }

  spawn(id: string): void {
    if (this.destroyed) throw new Error('the cluster was destroyed');
    const fd = openSync(this.logPath(id), 'a');
    try {
      const proc = spawn(process.execPath, [SCRIPT, 'node', '--config', this.configPath, '--id', id], {
        cwd: REPO,
        stdio: ['ignore', fd, fd],
      });
      const pid = proc.pid;
      if (pid === undefined) throw new Error(`could not spawn ${id}`);
      live.set(pid, proc);
      this.procs.set(id, proc);
      this.exits.set(
        id,
        new Promise<void>((resolve) =>
          proc.once('exit', () => {
            live.delete(pid);
            resolve();
          }),
        ),
      );
    } finally {
      closeSync(fd);
    }
  }

  /** kill SIGKILLs a member and waits for it to exit. */
  async kill(id: string): Promise<void> {
    const proc = this.procs.get(id);
    if (proc?.pid === undefined || !live.has(proc.pid)) throw new Error(`${id} is not running`);
    proc.kill('SIGKILL');
    await this.exits.get(id);
  }

  /** pause SIGSTOPs a member; resume SIGCONTs it. */
  pause(id: string): void {
    this.signal(id, 'SIGSTOP');
  }

  resume(id: string): void {
    this.signal(id, 'SIGCONT');
  }

  /** status asks one member for its own view (null when it does not answer). */
  async status(id: string): Promise<ClusterStatus | null> {
    try {
      return await this.admin.status({ endpoint: this.address(id) });
    } catch {
      return null;
    }
  }

  /**
   * waitForLeader polls Cluster.Status (through the client library) until a
   * member leads and a majority names it leader in its term; returns its id.
   */
  async waitForLeader(options: { timeoutMs?: number; notId?: string } = {}): Promise<string> {
    const until = performance.now() + (options.timeoutMs ?? 20_000);
    let last = '';
    while (performance.now() < until) {
      const running = this.ids.filter((id) => this.isRunning(id));
      const all = (await Promise.all(running.map((id) => this.status(id)))).filter((s): s is ClusterStatus => s !== null);
      last = all.map((s) => `${s.id}:${s.role}@${s.term}`).join(' ');
      for (const s of all) {
        if (s.role !== 'leader' || s.id === options.notId) continue;
        const agree = all.filter((o) => o.leader === s.id && o.term === s.term).length;
        if (agree > this.ids.length / 2) return s.id;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`no leader${options.notId === undefined ? '' : ` other than ${options.notId}`} in time; last statuses: ${last || 'none answered'}`);
  }

  /** waitAllServing waits until every member answers Cluster.Status (fails at once if one exited). */
  async waitAllServing(timeoutMs: number): Promise<void> {
    const until = performance.now() + timeoutMs;
    for (const id of this.ids) {
      for (;;) {
        if (!this.isRunning(id)) throw new Error(`${id} exited while the cluster started`);
        if ((await this.status(id)) !== null) break;
        if (performance.now() > until) throw new Error(`${id} did not answer Cluster.Status within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  /** followerOf returns a running member that is not `leaderId`. */
  followerOf(leaderId: string): string {
    const id = this.ids.find((i) => i !== leaderId && this.isRunning(i));
    if (id === undefined) throw new Error('no follower is running');
    return id;
  }

  isRunning(id: string): boolean {
    const pid = this.procs.get(id)?.pid;
    return pid !== undefined && live.has(pid);
  }

  /** describe: the tail of every member's log (printed when start-up fails). */
  describe(): string {
    return this.ids
      .map((id) => {
        let text = '';
        try {
          text = readFileSync(this.logPath(id), 'utf8');
        } catch {
          text = '(no log)';
        }
        return `--- ${id} (${this.address(id)}) ---\n${text.split('\n').slice(-20).join('\n')}\n`;
      })
      .join('');
  }

  /** destroy SIGKILLs every member still alive (paused ones included), waits for them, removes the temp dir. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    await this.admin.close();
    for (const proc of this.procs.values()) if (proc.pid !== undefined && live.has(proc.pid)) killQuietly(proc.pid);
    await Promise.race([Promise.all(this.exits.values()), new Promise((r) => setTimeout(r, 5_000).unref())]);
    await rm(this.dir, { recursive: true, force: true });
  }

  private signal(id: string, signal: NodeJS.Signals): void {
    const proc = this.procs.get(id);
    if (proc?.pid === undefined || !live.has(proc.pid)) throw new Error(`${id} is not running`);
    process.kill(proc.pid, signal);
  }
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

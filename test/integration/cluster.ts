import { createHash } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import * as grpc from '@grpc/grpc-js';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach } from 'vitest';
import type { LockLimits } from '../../src/lock/limits.js';
import type { StatusResponse } from '../../src/server/apiProto.js';
import type { SnapshotConfig, TimingConfig } from '../../src/node/clusterConfig.js';
import { ApiClient, sleep, type ClientOptions } from './apiClient.js';
import { freePorts } from '../support/freePorts.js';
import { pollUntil } from '../support/poll.js';
import { spawnRaftlockNode } from '../support/raftlockNode.js';
import { issueCerts } from '../support/certs.js';

/**
 * cluster is the integration harness: real `raftlock node` processes on
 * loopback, each with its LevelDB data dir in a fresh temp dir.
 *
 *   useClusterHarness();                        // once, at the top of a test file
 *   const c = await startCluster({ nodes: 3 }); // free ports, config, spawn, wait for a leader
 *   const leader = await c.leader();
 *   await c.kill(leader);                       // SIGKILL
 *
 * Every process is registered the moment it is spawned; afterEach SIGKILLs
 * whatever is still alive and removes the temp dirs, after printing the tail
 * of every node's log when the test failed. A process 'exit' hook kills
 * survivors if the worker itself goes away.
 */

/** REPO is the repository root; SCRIPT the `raftlock` command. */
export const REPO = join(import.meta.dirname, '..', '..');
export const SCRIPT = join(REPO, 'scripts', 'raftlock.mjs');


/** FAST_TIMING: elections in 200-400 ms, heartbeats every 40 ms. */
export const FAST_TIMING: TimingConfig = Object.freeze({ tickMs: 20, electionTicks: 10, heartbeatTicks: 2 });
/** FAST_MIN_TTL_MS is at least the longest election timeout (2 x 10 x 20 ms), as the config requires. */
export const FAST_MIN_TTL_MS = 500;

export interface ClusterOptions {
  readonly nodes?: 1 | 3 | 5;
  readonly timing?: Partial<TimingConfig>;
  readonly snapshot?: Partial<SnapshotConfig>;
  readonly limits?: Partial<LockLimits>;
  /** logLevel of the nodes; 'info' by default so a failing test's log tails say something. */
  readonly logLevel?: string;
  /** leaderTimeoutMs bounds the wait for the first leader. */
  readonly leaderTimeoutMs?: number;
  readonly clusterId?: string;
  /**
   * tls: issue a development CA and certificates (scripts/certs.mjs, into
   * <dir>/tls) and run the cluster with mutual TLS between peers and TLS for
   * clients (requireClientCert: clients must present a certificate too).
   * The harness's own clients then talk TLS with the "client" certificate.
   */
  readonly tls?: { readonly requireClientCert?: boolean; readonly users?: readonly string[] };
  /**
   * auth: enable authentication with this bootstrap root token (its SHA-256
   * goes into the config); the harness's own clients use it, so they may do everything.
   */
  readonly auth?: { readonly rootToken: string };
  /**
   * scope: 'test' (default) clusters are destroyed after the test that
   * started them; 'file' clusters (started in beforeAll) after the file.
   */
  readonly scope?: 'test' | 'file';
  /**
   * beforeStart runs after the config is written and before any member is
   * spawned (e.g. to seed the data dirs from a backup).
   */
  readonly beforeStart?: (cluster: Cluster) => Promise<void>;
  /** http: give every member an httpAddress (metrics and status page) on a free port. */
  readonly http?: boolean;
}

export interface MemberSpec {
  readonly id: string;
  readonly clientAddress: string;
  readonly peerAddress: string;
  /** httpAddress: metrics and status page (clusters started with `http: true` only). */
  readonly httpAddress?: string;
  readonly dataDir: string;
  readonly logPath: string;
}

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** Member is one node: its addresses, its data dir and its current process, if any. */
class Member {
  proc: ChildProcess | null = null;
  exit: Promise<Exit> | null = null;
  exited: Exit | null = null;
  paused = false;
  starts = 0;
  /** expectExit: this start is expected to end by itself (a test of a start-up error). */
  expectExit = false;

  constructor(readonly spec: MemberSpec) {}

  get alive(): boolean {
    return this.proc !== null && this.exited === null;
  }
}

/** Every process any harness spawned in this worker, until it is known to have exited. */
const livePids = new Set<number>();
/** Clusters started by the test that is running now (destroyed by afterEach). */
const current: Cluster[] = [];
/** Clusters started for the whole file (destroyed by afterAll). */
const fileScoped: Cluster[] = [];
let hooksInstalled = false;

process.on('exit', () => {
  for (const pid of livePids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

/**
 * useClusterHarness registers the cleanup hooks in the calling test file:
 * after each test (pass or fail) print the log tails if it failed, SIGKILL
 * every spawned process still alive and remove the temp dirs. startCluster
 * refuses to run without it.
 */
export function useClusterHarness(): void {
  hooksInstalled = true;
  afterEach(async (ctx) => {
    const failed = ctx.task.result?.state === 'fail';
    if (failed) for (const c of [...fileScoped, ...current]) process.stderr.write(c.describe());
    await destroyAll(current);
  }, 30_000);
  afterAll(async () => {
    await destroyAll(current);
    await destroyAll(fileScoped);
  }, 30_000);
}

async function destroyAll(list: Cluster[]): Promise<void> {
  for (const c of list.splice(0)) await c.destroy();
}

/** startCluster picks free ports, writes the config, spawns every member and waits (bounded) for a leader. */
export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  if (!hooksInstalled) throw new Error('call useClusterHarness() at the top of the test file before startCluster()');
  const size = options.nodes ?? 3;
  let lastError: unknown = null;
  // Ports are picked by binding port 0 and releasing it, so another process can
  // grab one before a member binds it: a member that exits with EADDRINUSE
  // while the cluster starts is retried with fresh ports (bounded).
  for (let attempt = 1; attempt <= 3; attempt++) {
    const dir = await mkdtemp(join(tmpdir(), 'raftlock-it-'));
    const ports = await freePorts((options.http === true ? 3 : 2) * size);
    const cluster = new Cluster(dir, size, ports, options);
    const owner = options.scope === 'file' ? fileScoped : current;
    owner.push(cluster);
    try {
      await options.beforeStart?.(cluster);
      cluster.startAll();
      await cluster.waitForLeader({ timeoutMs: options.leaderTimeoutMs ?? 30_000 });
      await Promise.all(cluster.ids.map((id) => cluster.waitServing(id, 20_000)));
      return cluster;
    } catch (err) {
      lastError = err;
      const clash = cluster.ids.some((id) => /EADDRINUSE/.test(cluster.logs(id)));
      if (!clash) throw err;
      process.stderr.write(`raftlock harness: a port was taken between picking and binding; retrying with new ports (attempt ${attempt})\n`);
      owner.splice(owner.indexOf(cluster), 1);
      await cluster.destroy();
    }
  }
  throw lastError;
}

export { freePorts, issueCerts };

export interface LeaderWait {
  readonly timeoutMs?: number;
  /** notId: wait for a leader other than this one (e.g. the node just killed). */
  readonly notId?: string;
}

export class Cluster {
  readonly ids: readonly string[];
  readonly configPath: string;
  /** ownConfigPaths: members started with a config file of their own (addJoiner fileNames). */
  private readonly ownConfigPaths = new Map<string, string>();
  readonly config: Record<string, unknown>;
  readonly api: ApiClient;
  /** tlsDir: where the certificates are (TLS clusters only): ca.pem, n1.pem, n1-key.pem, ..., client.pem, client-key.pem. */
  readonly tlsDir: string | null;
  private readonly clientCredentials: grpc.ChannelCredentials | undefined;
  /** rootToken: the bootstrap root token of an auth-enabled cluster; the harness's clients send it unless told otherwise. */
  readonly rootToken: string | null;
  private readonly members = new Map<string, Member>();
  private readonly clients: ApiClient[] = [];
  private destroyed = false;

  constructor(readonly dir: string, size: number, ports: readonly number[], options: ClusterOptions) {
    const nodes = Array.from({ length: size }, (_, i) => {
      const id = `n${i + 1}`;
      const http = options.http === true ? { httpAddress: `127.0.0.1:${ports[2 * size + i]}` } : {};
      return { id, clientAddress: `127.0.0.1:${ports[2 * i]}`, peerAddress: `127.0.0.1:${ports[2 * i + 1]}`, ...http };
    });
    const clusterId = options.clusterId ?? 'raftlock-it';
    this.tlsDir = options.tls === undefined ? null : join(dir, 'tls');
    if (this.tlsDir !== null) {
      const users = options.tls?.users ?? [];
      issueCerts(['--out', this.tlsDir, '--cluster-id', clusterId, '--nodes', nodes.map((n) => n.id).join(','), '--clients', 'client', '--days', '2', ...(users.length > 0 ? ['--users', users.join(',')] : [])]);
      const d = this.tlsDir;
      const requireClientCert = options.tls?.requireClientCert ?? false;
      for (const n of nodes) {
        const files = { ca: join(d, 'ca.pem'), cert: join(d, `${n.id}.pem`), key: join(d, `${n.id}-key.pem`) };
        Object.assign(n, { tls: { peer: files, client: { ...files, requireClientCert } } });
      }
      this.clientCredentials = grpc.credentials.createSsl(
        readFileSync(join(d, 'ca.pem')),
        readFileSync(join(d, 'client-key.pem')),
        readFileSync(join(d, 'client.pem')),
      );
    } else {
      this.clientCredentials = undefined;
    }
    this.config = {
      clusterId,
      dataDir: join(dir, 'data'),
      nodes,
      timing: { ...FAST_TIMING, ...options.timing },
      ...(options.snapshot !== undefined ? { snapshot: options.snapshot } : {}),
      limits: { minTtlMs: FAST_MIN_TTL_MS, ...options.limits },
      ...(options.auth !== undefined ? { auth: { enabled: true, rootTokenSha256: createHash('sha256').update(options.auth.rootToken).digest('hex') } } : {}),
      logLevel: options.logLevel ?? 'info',
    };
    this.configPath = join(dir, 'cluster.json');
    writeFileSync(this.configPath, `${JSON.stringify(this.config, null, 2)}\n`);
    for (const n of nodes) {
      this.members.set(n.id, new Member({ ...n, dataDir: join(dir, 'data', n.id), logPath: join(dir, `${n.id}.log`) }));
    }
    this.ids = nodes.map((n) => n.id);
    this.rootToken = options.auth?.rootToken ?? null;
    this.api = this.client();
  }

  // ---------------------------------------------------------------- addresses and clients

  spec(id: string): MemberSpec {
    return this.member(id).spec;
  }

  /** addresses: every member's client address, in id order. */
  addresses(): string[] {
    return this.ids.map((id) => this.spec(id).clientAddress);
  }

  /** client returns a new ApiClient over every member (closed with the cluster). */
  client(options: Partial<ClientOptions> & { endpoints?: readonly string[] } = {}): ApiClient {
    const withTls = this.clientCredentials !== undefined && options.credentials === undefined ? { ...options, credentials: this.clientCredentials } : options;
    const withToken = this.rootToken !== null && !('token' in options) ? { ...withTls, token: this.rootToken } : withTls;
    const c = new ApiClient(options.endpoints ?? this.addresses(), withToken);
    this.clients.push(c);
    return c;
  }

  /** clientFor returns an ApiClient pinned to one member: it retries there but never follows a redirect. */
  clientFor(id: string, options: Partial<ClientOptions> = {}): ApiClient {
    return this.client({ ...options, endpoints: [this.spec(id).clientAddress], followLeader: false });
  }

  // ---------------------------------------------------------------- status

  /** status asks one member for its own view. */
  async status(id: string, deadlineMs = 1_000): Promise<Status> {
    return parseStatus(await this.api.status(this.spec(id).clientAddress, deadlineMs));
  }

  /** statuses asks every running, unpaused member; members that do not answer are left out. */
  async statuses(): Promise<Map<string, Status>> {
    const out = new Map<string, Status>();
    await Promise.all(
      this.ids
        .filter((id) => this.member(id).alive && !this.member(id).paused)
        .map(async (id) => {
          try {
            out.set(id, await this.status(id, 500));
          } catch {
            // not answering: left out
          }
        }),
    );
    return out;
  }

  /** leader waits for a leader (see waitForLeader) and returns its id. */
  leader(wait: LeaderWait = {}): Promise<string> {
    return this.waitForLeader(wait);
  }

  /**
   * waitForLeader polls Cluster.Status until one member says it leads and a
   * majority of the cluster (itself included) names it leader in its term.
   */
  async waitForLeader(wait: LeaderWait = {}): Promise<string> {
    const timeoutMs = wait.timeoutMs ?? 20_000;
    let last = 'no member answered';
    const found = await pollUntil(async () => {
      this.assertNoneDiedUnexpectedly();
      const all = await this.statuses();
      last = [...all.values()].map((s) => `${s.id}:${s.role}@${s.term}(leader ${s.leader || '-'})`).join(' ') || 'no member answered';
      for (const s of all.values()) {
        if (s.role !== 'leader' || s.id === wait.notId) continue;
        const agree = [...all.values()].filter((o) => o.leader === s.id && o.term === s.term).length;
        if (agree > this.ids.length / 2) return s.id;
      }
      return null;
    }, timeoutMs, 50);
    if (found === null) throw new Error(`no leader${wait.notId !== undefined ? ` other than ${wait.notId}` : ''} within ${timeoutMs} ms; last statuses: ${last}`);
    return found;
  }

  /** waitCaughtUp waits until member `id` has applied everything the leader has committed (bounded). */
  async waitCaughtUp(id: string, timeoutMs = 20_000): Promise<{ node: Status; leader: Status }> {
    let last = '';
    const r = await pollUntil(async () => {
      const leaderId = await this.leader({ timeoutMs: Math.min(timeoutMs, 10_000) });
      const [leader, node] = [await this.status(leaderId), await this.status(id).catch(() => null)];
      last = `leader ${leader.id} commit ${leader.commitIndex} applied ${leader.appliedIndex}; ${id} ${node === null ? 'not answering' : `commit ${node.commitIndex} applied ${node.appliedIndex}`}`;
      if (node === null) return null;
      return node.appliedIndex >= leader.commitIndex && node.commitIndex >= leader.commitIndex ? { node, leader } : null;
    }, timeoutMs, 100);
    if (r === null) throw new Error(`${id} did not catch up within ${timeoutMs} ms: ${last}`);
    return r;
  }

  // ---------------------------------------------------------------- processes

  startAll(): void {
    for (const id of this.ids) this.spawn(id);
  }

  /** start spawns a member that is not running and waits (bounded) until it answers Cluster.Status. */
  async start(id: string, timeoutMs = 20_000): Promise<void> {
    this.spawn(id, { expectExit: false });
    await this.waitServing(id, timeoutMs);
  }

  /** restart SIGKILLs the member if it runs, then starts it again. */
  async restart(id: string, timeoutMs = 20_000): Promise<void> {
    if (this.member(id).alive) await this.kill(id);
    await this.start(id, timeoutMs);
  }

  /** kill SIGKILLs a member and waits for it to exit. */
  async kill(id: string): Promise<Exit> {
    const m = this.member(id);
    if (!m.alive || m.proc === null || m.exit === null) throw new Error(`kill ${id}: it is not running`);
    m.proc.kill('SIGKILL');
    m.paused = false;
    return m.exit;
  }

  /** killAll SIGKILLs every running member at once, then waits for them all to exit. */
  async killAll(): Promise<void> {
    const running = this.ids.map((id) => this.member(id)).filter((m) => m.alive);
    for (const m of running) m.proc?.kill('SIGKILL');
    await Promise.all(running.map((m) => m.exit));
    for (const m of running) m.paused = false;
  }

  /** pause SIGSTOPs a member; resume SIGCONTs it. */
  pause(id: string): void {
    const m = this.member(id);
    if (!m.alive || m.proc === null) throw new Error(`pause ${id}: it is not running`);
    m.proc.kill('SIGSTOP');
    m.paused = true;
  }

  resume(id: string): void {
    const m = this.member(id);
    if (!m.alive || m.proc === null) throw new Error(`resume ${id}: it is not running`);
    m.proc.kill('SIGCONT');
    m.paused = false;
  }

  /** stopNode sends SIGTERM (graceful) and waits; SIGKILL after graceMs. */
  async stopNode(id: string, graceMs = 10_000): Promise<Exit> {
    const m = this.member(id);
    if (!m.alive || m.proc === null || m.exit === null) throw new Error(`stop ${id}: it is not running`);
    if (m.paused) this.resume(id);
    m.proc.kill('SIGTERM');
    const timer = setTimeout(() => m.proc?.kill('SIGKILL'), graceMs);
    try {
      return await m.exit;
    } finally {
      clearTimeout(timer);
    }
  }

  /** stop stops every running member: SIGTERM, then SIGKILL after graceMs. */
  async stop(graceMs = 10_000): Promise<void> {
    await Promise.all(this.ids.filter((id) => this.member(id).alive).map((id) => this.stopNode(id, graceMs)));
  }

  /** exitOf resolves when the member's current process exits (bounded: rejects after timeoutMs). */
  async exitOf(id: string, timeoutMs = 20_000): Promise<Exit> {
    const m = this.member(id);
    if (m.exit === null) throw new Error(`${id} was never started`);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${id} did not exit within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return await Promise.race([m.exit, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** wipeData removes a stopped member's data dir: it starts again as a brand-new, empty member. */
  async wipeData(id: string): Promise<void> {
    if (this.member(id).alive) throw new Error(`wipeData ${id}: stop it first`);
    await rm(this.spec(id).dataDir, { recursive: true, force: true });
  }

  isRunning(id: string): boolean {
    return this.member(id).alive;
  }

  pid(id: string): number | null {
    return this.member(id).proc?.pid ?? null;
  }

  /**
   * addJoiner adds a node that is not an initial member to the config file
   * (nodes[] with "join": true, fresh free ports) without starting it; the
   * running members never re-read the file: they learn its addresses from
   * the add-learner entry (raftlock member add). With `fileNames`, the
   * joiner gets a config file of its own that names only those members and
   * itself (a file written before later members were added).
   */
  async addJoiner(id: string, o: { fileNames?: readonly string[] } = {}): Promise<MemberSpec> {
    if (this.members.has(id)) throw new Error(`addJoiner ${id}: the id is taken`);
    const [clientPort, peerPort] = await freePorts(2);
    const node = { id, clientAddress: `127.0.0.1:${clientPort}`, peerAddress: `127.0.0.1:${peerPort}`, join: true };
    (this.config.nodes as unknown[]).push(node);
    this.writeConfig(this.config);
    if (o.fileNames !== undefined) {
      const names = new Set([...o.fileNames, id]);
      const own = { ...this.config, nodes: (this.config.nodes as Array<{ id: string }>).filter((n) => names.has(n.id)) };
      const path = join(this.dir, `cluster-${id}.json`);
      writeFileSync(path, `${JSON.stringify(own, null, 2)}\n`);
      this.ownConfigPaths.set(id, path);
    }
    const spec = { ...node, dataDir: join(this.dir, 'data', id), logPath: join(this.dir, `${id}.log`) };
    this.members.set(id, new Member(spec));
    (this.ids as string[]).push(id);
    return spec;
  }

  /** writeConfig replaces the config file (e.g. to test a config error); members read it when they start. */
  writeConfig(config: unknown): void {
    writeFileSync(this.configPath, typeof config === 'string' ? config : `${JSON.stringify(config, null, 2)}\n`);
  }

  /** spawn starts a member's process with stdout and stderr appended to its log file. */
  spawn(id: string, o: { expectExit?: boolean } = {}): ChildProcess {
    if (this.destroyed) throw new Error('the cluster was destroyed');
    const m = this.member(id);
    if (m.alive) throw new Error(`spawn ${id}: it is already running (pid ${m.proc?.pid})`);
    m.starts++;
    m.expectExit = o.expectExit ?? false;
    const proc = spawnRaftlockNode({
      configPath: this.ownConfigPaths.get(id) ?? this.configPath,
      id,
      logPath: m.spec.logPath,
      startLine: `${START_MARK} #${m.starts} of ${id} (${new Date().toISOString()})`,
    });
    const pid = proc.pid;
    if (pid !== undefined) livePids.add(pid);
    m.proc = proc;
    m.exited = null;
    m.paused = false;
    m.exit = new Promise<Exit>((resolve) => {
      proc.once('exit', (code, signal) => {
        if (pid !== undefined) livePids.delete(pid);
        const e = { code, signal };
        if (m.proc === proc) m.exited = e;
        resolve(e);
      });
      proc.once('error', (err) => {
        if (pid !== undefined) livePids.delete(pid);
        const e = { code: -1, signal: null };
        if (m.proc === proc) m.exited = e;
        process.stderr.write(`raftlock harness: spawning ${id} failed: ${err.message}\n`);
        resolve(e);
      });
    });
    return proc;
  }

  // ---------------------------------------------------------------- logs

  /** logs returns a member's whole log (every start), or only its latest start's output. */
  logs(id: string, o: { latestStart?: boolean } = {}): string {
    const path = this.spec(id).logPath;
    if (!existsSync(path)) return '';
    const text = readFileSync(path, 'utf8');
    if (o.latestStart !== true) return text;
    const at = text.lastIndexOf(START_MARK);
    return at < 0 ? text : text.slice(text.indexOf('\n', at) + 1);
  }

  /** describe renders the tail of every member's log, for a failed test. */
  describe(lines = 40): string {
    const parts = [`\n===== raftlock cluster in ${this.dir} (config ${this.configPath}) =====\n`];
    for (const id of this.ids) {
      const m = this.member(id);
      const state = m.alive ? `running pid ${m.proc?.pid}${m.paused ? ' (paused)' : ''}` : m.exited !== null ? `exited ${JSON.stringify(m.exited)}` : 'not started';
      const tail = this.logs(id).split('\n').slice(-lines - 1).map((l) => (l.length > 600 ? `${l.slice(0, 600)}...` : l));
      parts.push(`----- ${id} ${this.spec(id).clientAddress} ${state}; last ${lines} log lines:\n${tail.join('\n')}\n`);
    }
    return parts.join('');
  }

  /** destroy SIGKILLs every process still alive, closes the clients and removes the temp dir. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    const running = [...this.members.values()].filter((m) => m.alive);
    for (const m of running) m.proc?.kill('SIGKILL');
    await Promise.all(running.map((m) => Promise.race([m.exit, sleep(5_000)])));
    await Promise.all(this.clients.map((c) => c.close().catch(() => undefined)));
    await rm(this.dir, { recursive: true, force: true, maxRetries: 3 });
  }

  // ---------------------------------------------------------------- internals

  private member(id: string): Member {
    const m = this.members.get(id);
    if (m === undefined) throw new Error(`unknown member ${id}; members: ${this.ids.join(', ')}`);
    return m;
  }

  /** waitServing waits until the member answers Cluster.Status; fails fast if it exits. */
  async waitServing(id: string, timeoutMs: number): Promise<void> {
    const m = this.member(id);
    const ok = await pollUntil(async () => {
      if (m.exited !== null) throw new Error(`${id} exited while starting (${JSON.stringify(m.exited)}):\n${this.logs(id, { latestStart: true }).slice(-3000)}`);
      try {
        await this.status(id, 500);
        return true;
      } catch {
        return null;
      }
    }, timeoutMs, 50);
    if (ok === null) throw new Error(`${id} did not answer Cluster.Status within ${timeoutMs} ms`);
  }

  /** assertNoneDiedUnexpectedly fails a wait at once when a member exited by itself (not by a signal we sent). */
  private assertNoneDiedUnexpectedly(): void {
    for (const id of this.ids) {
      const m = this.member(id);
      if (m.exited !== null && m.exited.signal === null && !m.expectExit) {
        throw new Error(`${id} exited by itself with code ${m.exited.code}:\n${this.logs(id, { latestStart: true }).slice(-3000)}`);
      }
    }
  }
}

const START_MARK = '===== raftlock harness: start';

export interface Status {
  readonly id: string;
  readonly role: string;
  readonly term: number;
  readonly leader: string;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly snapshotIndex: number;
  readonly members: StatusResponse['members'];
}

function parseStatus(s: StatusResponse): Status {
  return {
    id: s.id,
    role: s.role,
    term: Number(s.term),
    leader: s.leader,
    commitIndex: Number(s.commitIndex),
    appliedIndex: Number(s.appliedIndex),
    snapshotIndex: Number(s.snapshotIndex),
    members: s.members,
  };
}

/** eventually polls `probe` until it returns non-null and returns that, or throws `what` after timeoutMs. */
export async function eventually<T>(what: string, probe: () => Promise<T | null>, timeoutMs = 20_000, intervalMs = 50): Promise<T> {
  let lastErr: unknown = null;
  const v = await pollUntil(async () => {
    try {
      return await probe();
    } catch (err) {
      lastErr = err;
      return null;
    }
  }, timeoutMs, intervalMs);
  if (v === null) throw new Error(`${what}: not within ${timeoutMs} ms${lastErr !== null ? ` (last error: ${(lastErr as Error).message})` : ''}`);
  return v;
}

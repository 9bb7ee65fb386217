import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Connection } from '../../../src/client/connection.js';
import { connect, type RaftlockClient } from '../../../src/client/index.js';
import type { StatusResponse } from '../../../src/client/protocol.js';
import { maxElectionTimeoutMs, type TimingConfig } from '../../../src/node/clusterConfig.js';
import { freePorts } from '../../support/freePorts.js';
import { spawnRaftlockNode } from '../../support/raftlockNode.js';
import type { FinalState, HolderView } from '../history.js';
import { describeMode, FaultProxy, PASS, type LinkMode } from './faultProxy.js';
import { LinkDemux } from './linkDemux.js';
import { trackLocalSockets } from './localSockets.js';
import { now, Recorder } from './recorder.js';

/**
 * ChaosCluster: a cluster of real `raftlock node` processes on 127.0.0.1
 * where every path between two processes runs through a FaultProxy the
 * harness controls.
 *
 * Wiring (node ids n1..nN; i, j nodes; c a workload client):
 * - raft i->j: node i's config names proxy raft(i->j) as j's peerAddress. The
 *   transport opens one stream per directed link, so raft(i->j) carries
 *   exactly the messages i sends j; j's messages to i use raft(j->i).
 * - fwd i->j: node i's config names proxy fwd(i->j) as j's clientAddress, so
 *   a follower forwarding a call to leader j crosses a fault point too. The
 *   forwarding proxies refuse connections from the harness process (see
 *   localSockets.ts): clients must not bypass their own proxies by
 *   following a leader hint.
 * - client c->j: each workload client gets its own proxy to every node's
 *   real client port (clientEndpoints), so one client can be cut off alone.
 *
 * A directed link i->j (cut, blackhole, latency) sets raft(i->j) and
 * fwd(i->j) together: everything i initiates towards j. "Both ways" sets
 * j->i as well. Every fault and process action is recorded as a
 * NemesisEvent in the run's Recorder.
 *
 *   const c = await ChaosCluster.start({ nodes: 3, recorder });
 *   try {
 *     const leader = await c.leader();
 *     c.isolate(leader);            // both ways, refuse
 *     await sleep(2_000);
 *     c.healNetwork();
 *     const history = await c.finish(['lock-a']);   // final heal, restart all, read back
 *   } finally {
 *     await c.destroy();
 *   }
 *
 * Spares (membership changes): `spares: 2` adds nodes n4, n5 (after n1..n3)
 * that are not started and not members: each has its own config with
 * `"join": true`, so once started (startSpare) it waits to be added.
 * A spare's links to the config-file members are per-link proxies in its
 * config, as above. The other direction cannot be: every node reaches a
 * member added at run time at the one address of its `member add` entry.
 * That address (spareAddresses) is a LinkDemux, which finds which node
 * process opened each connection and hands it to raft(i->spare) or
 * fwd(i->spare), so every directed link to a spare is a fault point too.
 * `ids` are the nodes in play: the config-file members and the spares
 * started so far, minus the nodes retired after their removal.
 */

export const REPO = join(import.meta.dirname, '..', '..', '..');

/** CHAOS_TIMING: ticks of 20 ms, elections in 200-400 ms, heartbeats every 40 ms. */
export const CHAOS_TIMING: TimingConfig = Object.freeze({ tickMs: 20, electionTicks: 10, heartbeatTicks: 2 });
/** CHAOS_MIN_TTL_MS: the config requires TTL >= the longest election timeout (400 ms here). */
export const CHAOS_MIN_TTL_MS = 500;

export interface ChaosClusterOptions {
  readonly nodes: 3 | 5;
  readonly recorder: Recorder;
  readonly timing?: TimingConfig;
  /** logLevel of the nodes (default 'info'); their logs go to `<dir>/<id>.log`. */
  readonly logLevel?: string;
  /** leaderTimeoutMs bounds the wait for the first leader (default 30 s). */
  readonly leaderTimeoutMs?: number;
  /** snapshotEveryEntries: take snapshots often to exercise them under faults (default 2000). */
  readonly snapshotEveryEntries?: number;
  /** spares: nodes beyond `nodes`, started later (startSpare) and added with the Members service (default 0, at most 4). */
  readonly spares?: number;
}

/** MemberView: a member and its role as one node sees the configuration. */
export interface MemberView {
  readonly id: string;
  readonly role: string;
}

/** NodeStatus: one node's answer to Cluster.Status. */
export interface NodeStatus {
  readonly id: string;
  readonly role: string;
  readonly term: number;
  readonly leader: string;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  /** members: the configuration this node has applied (empty on a spare waiting to be added). */
  readonly members: readonly MemberView[];
}

interface NodeProc {
  readonly id: string;
  readonly clientAddress: string;
  readonly peerAddress: string;
  readonly configPath: string;
  readonly logPath: string;
  proc: ChildProcess | null;
  exited: Promise<void> | null;
  alive: boolean;
  paused: boolean;
  starts: number;
}

/** Every pid any ChaosCluster spawned in this process and not yet seen exit: killed if the process exits. */
const livePids = new Set<number>();
process.on('exit', () => {
  for (const pid of livePids) {
    try {
      process.kill(pid, 'SIGCONT');
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

const START_MARK = '===== chaos harness: start';

/**
 * START_TIMEOUT_MS bounds a node's start until it answers Status. Generous:
 * on a loaded 2-core machine a node's start (tsx, gRPC, LevelDB) has taken
 * close to 20 s.
 */
const START_TIMEOUT_MS = 90_000;

export class ChaosCluster {
  /** allIds: every node the harness can run: the config-file members, then the spares. */
  readonly allIds: readonly string[];
  /** initialIds: the members of the config files. */
  readonly initialIds: readonly string[];
  readonly recorder: Recorder;
  readonly timing: TimingConfig;
  private readonly nodes = new Map<string, NodeProc>();
  /** raft(i->j) and fwd(i->j) proxies, by "i->j". */
  private readonly raftProxies = new Map<string, FaultProxy>();
  private readonly fwdProxies = new Map<string, FaultProxy>();
  /** Per spare: the demultiplexers at its advertised peer and client addresses. */
  private readonly demuxes = new Map<string, { raft: LinkDemux; fwd: LinkDemux }>();
  /** Spares not started yet, and nodes retired after their removal: not in `ids`. */
  private readonly standby = new Set<string>();
  private readonly retired = new Set<string>();
  /** Per workload client: its proxy to each node, by node id. */
  private readonly clientProxies = new Map<string, Map<string, FaultProxy>>();
  private readonly admin: Connection;
  private admins: RaftlockClient | null = null;
  private servedAgainMs: number | null = null;
  private observer: NodeJS.Timeout | null = null;
  private readonly lastSeen = new Map<string, string>();
  private destroyed = false;

  private constructor(readonly dir: string, initialIds: readonly string[], spareIds: readonly string[], recorder: Recorder, timing: TimingConfig) {
    this.initialIds = initialIds;
    this.allIds = [...initialIds, ...spareIds];
    for (const id of spareIds) this.standby.add(id);
    this.recorder = recorder;
    this.timing = timing;
    this.admin = new Connection({ endpoints: [], attemptTimeoutMs: 1_000, requestTimeoutMs: 1_000, backoff: { initialMs: 25, maxMs: 200, multiplier: 2 }, discoverMembers: false });
  }

  /**
   * start picks ports, opens every proxy, writes one config per node (its own
   * listeners real, everyone else's behind its proxies), spawns the nodes and
   * waits (bounded) for a leader. On failure everything started is destroyed.
   */
  static async start(options: ChaosClusterOptions): Promise<ChaosCluster> {
    trackLocalSockets();
    const size = options.nodes;
    if (size !== 3 && size !== 5) throw new Error(`nodes must be 3 or 5, got ${String(size)}`);
    const timing = options.timing ?? CHAOS_TIMING;
    const spares = options.spares ?? 0;
    if (!Number.isInteger(spares) || spares < 0 || spares > 4) throw new Error(`spares must be an integer from 0 to 4, got ${String(spares)}`);
    const ids = Array.from({ length: size }, (_, i) => `n${i + 1}`);
    const spareIds = Array.from({ length: spares }, (_, i) => `n${size + i + 1}`);
    // A port picked for a node can be taken by another process before the node binds it:
    // a start that fails with EADDRINUSE is retried from scratch with new ports (bounded).
    for (let attempt = 1; ; attempt++) {
      const dir = mkdtempSync(join(tmpdir(), 'raftlock-chaos-'));
      const cluster = new ChaosCluster(dir, ids, spareIds, options.recorder, timing);
      try {
        await cluster.setUp(options);
        await cluster.leader({ timeoutMs: options.leaderTimeoutMs ?? 60_000 });
        return cluster;
      } catch (err) {
        const clash = ids.some((id) => cluster.nodes.has(id) && /EADDRINUSE/.test(cluster.logs(id)));
        await cluster.destroy();
        if (!clash || attempt >= 3) throw err;
        process.stderr.write(`chaos harness: a node's port was taken before it bound it; starting again with new ports (attempt ${attempt + 1})\n`);
      }
    }
  }

  /** ids: the nodes in play: config-file members and started spares, minus retired nodes. */
  get ids(): readonly string[] {
    return this.allIds.filter((id) => !this.standby.has(id) && !this.retired.has(id));
  }

  /** electionTimeoutMs: the longest election timeout of the run's timing. */
  get electionTimeoutMs(): number {
    return maxElectionTimeoutMs(this.timing);
  }

  // ================================================================ network faults

  /**
   * setLink puts the directed link from->to (raft and forwarding proxies) in
   * `mode`; with `bothWays` also to->from. Recorded as a nemesis event.
   */
  setLink(from: string, to: string, mode: LinkMode, o: { bothWays?: boolean } = {}): void {
    this.applyLink(from, to, mode);
    if (o.bothWays === true) this.applyLink(to, from, mode);
    this.recorder.nemesis(mode.kind === 'pass' ? 'heal' : mode.kind === 'latency' ? 'latency' : 'partition', `${from}${o.bothWays === true ? '<->' : '->'}${to} ${describeMode(mode)}`, [from, to]);
  }

  /** cut: refuse (default) or black-hole the link from->to, one way unless bothWays. */
  cut(from: string, to: string, o: { bothWays?: boolean; blackhole?: boolean } = {}): void {
    this.setLink(from, to, o.blackhole === true ? { kind: 'blackhole' } : { kind: 'refuse' }, o);
  }

  /** latency delays what `from` sends `to` by delayMs (one way unless bothWays). */
  latency(from: string, to: string, delayMs: number, o: { bothWays?: boolean } = {}): void {
    this.setLink(from, to, { kind: 'latency', delayMs }, o);
  }

  /**
   * partition: every link between nodes of different groups in `mode`
   * (refuse by default), both ways; links inside a group pass. Nodes in no
   * group are cut from everyone.
   */
  partition(groups: readonly (readonly string[])[], mode: LinkMode = { kind: 'refuse' }): void {
    const groupOf = new Map<string, number>();
    groups.forEach((g, k) => g.forEach((id) => groupOf.set(id, k)));
    this.topology((a, b) => groupOf.has(a) && groupOf.get(a) === groupOf.get(b), mode, `groups ${groups.map((g) => `[${g.join(',')}]`).join(' ')}`);
  }

  /** isolate cuts `id` from every other node, both ways. */
  isolate(id: string, mode: LinkMode = { kind: 'refuse' }): void {
    this.topology((a, b) => a !== id && b !== id, mode, `isolate ${id}`);
  }

  /**
   * topology: the directed link a->b passes when canReach(a, b), else is in
   * `mode` — the general form of partitions, bridges and rings.
   */
  topology(canReach: (from: string, to: string) => boolean, mode: LinkMode = { kind: 'refuse' }, label = 'topology'): void {
    const cut: string[] = [];
    for (const a of this.ids) {
      for (const b of this.ids) {
        if (a === b) continue;
        const reach = canReach(a, b);
        this.applyLink(a, b, reach ? PASS : mode);
        if (!reach) cut.push(`${a}->${b}`);
      }
    }
    this.recorder.nemesis('partition', `${label}: ${describeMode(mode)} ${cut.join(' ')}`, this.ids);
  }

  /** healNetwork puts every node-to-node link back to pass. */
  healNetwork(): void {
    for (const p of [...this.raftProxies.values(), ...this.fwdProxies.values()]) p.setMode(PASS);
    this.recorder.nemesis('heal', 'every node link passes', this.ids);
  }

  /** linkMode reports the mode of the directed raft link from->to. */
  linkMode(from: string, to: string): LinkMode {
    return this.proxy(this.raftProxies, from, to).mode;
  }

  // ================================================================ clients' paths

  /**
   * clientEndpoints opens (once per name) a proxy from client `name` to every
   * node and returns their addresses, for `connect({ endpoints })`. Use with
   * `discoverMembers: false` so the client never learns the nodes' other
   * addresses (RecordedClient does this).
   */
  async clientEndpoints(name: string): Promise<string[]> {
    let proxies = this.clientProxies.get(name);
    if (proxies === undefined) {
      proxies = new Map();
      this.clientProxies.set(name, proxies);
      for (const id of this.ids) {
        const p = new FaultProxy({ name: `client ${name}->${id}`, target: this.node(id).clientAddress });
        await p.listen();
        proxies.set(id, p);
      }
    }
    return this.ids.map((id) => proxies.get(id)!.address);
  }

  /**
   * cutClient puts client `name`'s path to the given nodes (default: all) in
   * `mode` (refuse by default; blackhole to look like a silent network).
   */
  cutClient(name: string, mode: LinkMode = { kind: 'refuse' }, nodes: readonly string[] = this.ids): void {
    const proxies = this.clientProxies.get(name);
    if (proxies === undefined) throw new Error(`no client ${name}: create it with clientEndpoints(name) first`);
    for (const id of nodes) {
      const p = proxies.get(id);
      // A client opened before a spare was started has no path to it (it reaches it only through forwarding).
      if (p === undefined && nodes !== this.ids) throw new Error(`client ${name} has no path to ${id}: it was opened before ${id} started`);
      p?.setMode(mode);
    }
    this.recorder.nemesis(mode.kind === 'pass' ? 'heal-client' : 'cut-client', `client ${name} -> ${nodes.join(',')} ${describeMode(mode)}`, nodes);
  }

  /** healClient lets client `name` reach every node again. */
  healClient(name: string): void {
    this.cutClient(name, PASS);
  }

  /** healClients lets every client reach every node. */
  healClients(): void {
    for (const proxies of this.clientProxies.values()) for (const p of proxies.values()) p.setMode(PASS);
    this.recorder.nemesis('heal-client', 'every client reaches every node', this.ids);
  }

  // ================================================================ processes

  /** kill SIGKILLs a running node and waits for it to exit. */
  async kill(id: string): Promise<void> {
    const n = this.node(id);
    if (!n.alive || n.proc === null) throw new Error(`kill ${id}: it is not running`);
    this.recorder.nemesis('kill', `SIGKILL ${id} (pid ${n.proc.pid})`, [id]);
    n.proc.kill('SIGKILL');
    await n.exited;
    n.paused = false;
  }

  /** killAll SIGKILLs every running node at once and waits for them to exit. */
  async killAll(): Promise<void> {
    const running = [...this.nodes.values()].filter((n) => n.alive);
    this.recorder.nemesis('kill', `SIGKILL ${running.map((n) => n.id).join(',')}`, running.map((n) => n.id));
    for (const n of running) n.proc?.kill('SIGKILL');
    await Promise.all(running.map((n) => n.exited));
    for (const n of running) n.paused = false;
  }

  /** restart starts a node that is not running (SIGKILLs it first if it is) from its data dir; waits until it answers Status. */
  async restart(id: string, timeoutMs = START_TIMEOUT_MS): Promise<void> {
    const n = this.node(id);
    if (n.alive) await this.kill(id);
    this.recorder.nemesis('restart', `start ${id}`, [id]);
    this.spawn(n);
    await this.waitServing(id, timeoutMs);
  }

  /** restartAll starts every node that is not running (in parallel). */
  async restartAll(timeoutMs = START_TIMEOUT_MS): Promise<void> {
    await Promise.all(this.ids.filter((id) => !this.node(id).alive).map((id) => this.restart(id, timeoutMs)));
  }

  /** pause SIGSTOPs a running node (its sockets stay open, it answers nothing). */
  pause(id: string): void {
    const n = this.node(id);
    if (!n.alive || n.proc === null) throw new Error(`pause ${id}: it is not running`);
    n.proc.kill('SIGSTOP');
    n.paused = true;
    this.recorder.nemesis('pause', `SIGSTOP ${id}`, [id]);
  }

  /** resume SIGCONTs a paused node. */
  resume(id: string): void {
    const n = this.node(id);
    if (!n.alive || n.proc === null) throw new Error(`resume ${id}: it is not running`);
    n.proc.kill('SIGCONT');
    n.paused = false;
    this.recorder.nemesis('resume', `SIGCONT ${id}`, [id]);
  }

  // ================================================================ membership

  /** spareAddresses: the addresses to `member add` a spare with (its LinkDemuxes: one fault point per link). */
  spareAddresses(id: string): { clientAddress: string; peerAddress: string } {
    const d = this.demuxes.get(id);
    if (d === undefined) throw new Error(`${id} is not a spare; spares are ${[...this.demuxes.keys()].join(', ') || 'none (start the cluster with spares)'}`);
    return { clientAddress: d.fwd.address, peerAddress: d.raft.address };
  }

  /** startSpare starts a spare (it waits to be added) and puts it in play (`ids`); waits until it answers Status. */
  async startSpare(id: string, timeoutMs = START_TIMEOUT_MS): Promise<void> {
    if (!this.standby.has(id)) throw new Error(`startSpare ${id}: not a spare waiting to start (spares: ${[...this.demuxes.keys()].join(', ') || 'none'})`);
    this.standby.delete(id);
    this.recorder.nemesis('restart', `start spare ${id} (joining)`, [id]);
    this.spawn(this.node(id));
    await this.waitServing(id, timeoutMs);
  }

  /**
   * retire takes a node out of play after its removal committed: SIGKILLs it
   * if it runs (a removed node refuses to start again anyway) and leaves it
   * out of `ids`, heal() and finish().
   */
  async retire(id: string): Promise<void> {
    if (this.node(id).alive) await this.kill(id);
    this.retired.add(id);
    this.recorder.nemesis('retire', `${id} was removed from the cluster: out of play`, [id]);
  }

  /**
   * memberClient: a library client straight to the real client ports of the
   * nodes in play (no fault point), for the operator's Members calls; the
   * caller closes it. Membership calls are the operator's, not the workload's.
   */
  async memberClient(o: { requestTimeoutMs?: number } = {}): Promise<RaftlockClient> {
    return connect({ endpoints: this.ids.map((id) => this.node(id).clientAddress), discoverMembers: false, requestTimeoutMs: o.requestTimeoutMs ?? 10_000, attemptTimeoutMs: 1_000, connectTimeoutMs: 30_000 });
  }

  isRunning(id: string): boolean {
    return this.node(id).alive;
  }

  isPaused(id: string): boolean {
    return this.node(id).paused;
  }

  pid(id: string): number | null {
    return this.node(id).proc?.pid ?? null;
  }

  // ================================================================ status

  /** status asks one node directly (no proxy, no fault) for Cluster.Status. */
  async status(id: string, timeoutMs = 500): Promise<NodeStatus> {
    const s = await this.admin.statusOf(this.node(id).clientAddress, timeoutMs);
    return parseStatus(s);
  }

  /** statuses: every running, unpaused node that answers. */
  async statuses(timeoutMs = 500): Promise<Map<string, NodeStatus>> {
    const out = new Map<string, NodeStatus>();
    await Promise.all(
      this.ids
        .filter((id) => this.node(id).alive && !this.node(id).paused)
        .map(async (id) => {
          try {
            out.set(id, await this.status(id, timeoutMs));
          } catch {
            // not answering: left out
          }
        }),
    );
    return out;
  }

  /**
   * currentLeader: the node a majority of the cluster (itself included)
   * names leader in its term, right now, or null. Partitions make "the
   * leader" a matter of opinion; this is the one that can commit.
   */
  async currentLeader(): Promise<string | null> {
    const all = await this.statuses();
    for (const s of all.values()) {
      if (s.role !== 'leader') continue;
      // A majority of the voters of the leader's own configuration (learners and spares do not count).
      const voters = s.members.length > 0 ? s.members.filter((m) => m.role === 'voter').map((m) => m.id) : this.initialIds;
      const agree = [...all.values()].filter((o) => voters.includes(o.id) && o.leader === s.id && o.term === s.term).length;
      if (agree > voters.length / 2) return s.id;
    }
    return null;
  }

  /** leader waits (bounded) for currentLeader to name one, optionally other than `notId`. */
  async leader(o: { timeoutMs?: number; notId?: string } = {}): Promise<string> {
    const timeoutMs = o.timeoutMs ?? 20_000;
    const deadline = now() + timeoutMs;
    for (;;) {
      const id = await this.currentLeader();
      if (id !== null && id !== o.notId) return id;
      if (now() >= deadline) {
        const all = await this.statuses();
        const seen = [...all.values()].map((s) => `${s.id}:${s.role}@${s.term}(leader ${s.leader || '-'})`).join(' ') || 'no node answered';
        throw new Error(`no leader${o.notId !== undefined ? ` other than ${o.notId}` : ''} within ${timeoutMs} ms; statuses: ${seen}`);
      }
      await sleep(50);
    }
  }

  /**
   * observe polls every node's Status every intervalMs and records a
   * NodeObservation whenever a node's role, term, leader or up/down changes
   * (for the timeline). Stopped by finish() and destroy().
   */
  observe(intervalMs = 250): void {
    if (this.observer !== null) return;
    let busy = false;
    this.observer = setInterval(() => {
      if (busy) return;
      busy = true;
      void this.pollOnce().finally(() => {
        busy = false;
      });
    }, intervalMs);
  }

  stopObserving(): void {
    if (this.observer !== null) clearInterval(this.observer);
    this.observer = null;
  }

  // ================================================================ end of a run

  /**
   * heal ends every fault: every link and client path passes, paused nodes
   * resume, dead ones start (history.healedMs is stamped once they answer
   * Status); then it waits (bounded, 60 s) for the cluster to serve a
   * linearizable read and keeps that time as FinalState.servedAgainMs.
   */
  async heal(): Promise<void> {
    this.healNetwork();
    this.healClients();
    for (const id of this.ids) if (this.node(id).paused) this.resume(id);
    await this.restartAll();
    this.recorder.markHealed();
    this.servedAgainMs = await this.probeServing(60_000);
  }

  /**
   * finish ends a run: heal() (unless already done: skipHeal), then SIGKILL
   * and restart every node from its data dir, wait for them, and read back
   * the FinalState (every lease, and the given locks) directly from the
   * cluster. Returns the finished History. Stop the workload clients between
   * heal() and finish() so their pending ops can complete (runChaos does).
   */
  async finish(lockNames: readonly string[], o: { skipHeal?: boolean } = {}): Promise<ReturnType<Recorder['finish']>> {
    if (o.skipHeal !== true || this.recorder.history.healedMs === null) await this.heal();
    await this.killAll();
    for (const id of this.ids) {
      this.recorder.nemesis('restart', `final restart of ${id}`, [id]);
      this.spawn(this.node(id));
    }
    await Promise.all(this.ids.map((id) => this.waitServing(id, START_TIMEOUT_MS)));
    const final = await this.readFinalState(lockNames);
    this.recorder.setFinal(final);
    this.stopObserving();
    return this.recorder.finish();
  }

  /**
   * readFinalState: leases and locks as the cluster answers them now
   * (waiting, bounded, until it serves); servedAgainMs is the time heal()
   * measured, or now if heal() was not called.
   */
  async readFinalState(lockNames: readonly string[]): Promise<FinalState> {
    const client = await this.adminClient();
    const servedNowMs = await this.probeServing(60_000);
    const leases = (await client.leases()).map((l) => ({ leaseId: l.id, ttlMs: l.ttlMs }));
    const locks: Record<string, { holders: HolderView[]; waiters: string[] }> = {};
    for (const name of lockNames) {
      const s = await client.get(name);
      locks[name] = {
        holders: s.holders.map((h) => ({ leaseId: h.leaseId, token: h.token.toString(), mode: h.mode })),
        waiters: s.waiters.map((w) => w.leaseId),
      };
    }
    return { atMs: now(), leases, locks, servedAgainMs: this.servedAgainMs ?? servedNowMs };
  }

  /** probeServing: when (run clock) the cluster first answers a linearizable Get, polling every 50 ms; throws after timeoutMs. */
  async probeServing(timeoutMs: number): Promise<number> {
    const client = await this.adminClient();
    const deadline = now() + timeoutMs;
    let lastErr = '';
    while (now() < deadline) {
      try {
        await client.get('chaos-probe');
        return now();
      } catch (err) {
        lastErr = (err as Error).message;
        await sleep(50);
      }
    }
    throw new Error(`the cluster did not serve a linearizable read within ${timeoutMs} ms: ${lastErr}`);
  }

  /** adminClient: a library client straight to the nodes' real client ports (no fault point), for probes and read-back. */
  private async adminClient(): Promise<RaftlockClient> {
    if (this.admins === null) {
      this.admins = await connect({ endpoints: this.ids.map((id) => this.node(id).clientAddress), discoverMembers: false, requestTimeoutMs: 2_000, attemptTimeoutMs: 500, connectTimeoutMs: 30_000 });
    }
    return this.admins;
  }

  // ================================================================ logs and cleanup

  /** logs: a node's whole log (every start). */
  logs(id: string): string {
    const path = this.node(id).logPath;
    return existsSync(path) ? readFileSync(path, 'utf8') : '';
  }

  /** describe: the tail of every node's log and the state of every proxy, for a failure report. */
  describe(lines = 30): string {
    const parts = [`\n===== chaos cluster in ${this.dir} =====\n`];
    for (const id of this.allIds.filter((x) => !this.standby.has(x))) {
      const n = this.node(id);
      const tail = this.logs(id).split('\n').slice(-lines - 1).map((l) => (l.length > 400 ? `${l.slice(0, 400)}...` : l));
      parts.push(`----- ${id} ${n.alive ? `running pid ${n.proc?.pid}${n.paused ? ' (paused)' : ''}` : 'down'}; last ${lines} log lines:\n${tail.join('\n')}\n`);
    }
    return parts.join('');
  }

  /** destroy SIGKILLs every node, closes every proxy and client, removes the temp dir (unless keepDir). */
  async destroy(o: { keepDir?: boolean } = {}): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    this.stopObserving();
    const running = [...this.nodes.values()].filter((n) => n.alive);
    for (const n of running) {
      n.proc?.kill('SIGCONT');
      n.proc?.kill('SIGKILL');
    }
    await Promise.all(running.map((n) => Promise.race([n.exited, sleep(5_000)])));
    await this.admins?.close().catch(() => undefined);
    this.admin.close();
    const proxies = [...this.raftProxies.values(), ...this.fwdProxies.values(), ...[...this.clientProxies.values()].flatMap((m) => [...m.values()])];
    await Promise.all(proxies.map((p) => p.close()));
    await Promise.all([...this.demuxes.values()].flatMap((d) => [d.raft.close(), d.fwd.close()]));
    if (o.keepDir !== true) await rm(this.dir, { recursive: true, force: true, maxRetries: 3 });
  }

  // ================================================================ internals

  private async setUp(options: ChaosClusterOptions): Promise<void> {
    const spares = this.allIds.filter((id) => !this.initialIds.includes(id));
    // Proxies first (bound, so the port picking below cannot hand out theirs), targets once the ports are picked.
    // Links to a spare are not listened on: its LinkDemux hands them their connections.
    for (const a of this.allIds) {
      for (const b of this.allIds) {
        if (a === b) continue;
        const raft = new FaultProxy({ name: `raft ${a}->${b}`, target: '127.0.0.1:1' });
        const fwd = new FaultProxy({ name: `fwd ${a}->${b}`, target: '127.0.0.1:1', refuseOwnProcess: true });
        this.raftProxies.set(`${a}->${b}`, raft);
        this.fwdProxies.set(`${a}->${b}`, fwd);
        if (spares.includes(b)) continue;
        await raft.listen();
        await fwd.listen();
      }
    }
    for (const s of spares) {
      const raft = new LinkDemux(`raft *->${s}`, () => this.nodePids(), (from) => this.raftProxies.get(`${from}->${s}`));
      const fwd = new LinkDemux(`fwd *->${s}`, () => this.nodePids(), (from) => this.fwdProxies.get(`${from}->${s}`));
      this.demuxes.set(s, { raft, fwd });
      await raft.listen();
      await fwd.listen();
    }
    const ports = await freePorts(2 * this.allIds.length);
    const real = new Map(this.allIds.map((id, k) => [id, { client: `127.0.0.1:${ports[2 * k]}`, peer: `127.0.0.1:${ports[2 * k + 1]}` }] as const));
    for (const a of this.allIds) {
      for (const b of this.allIds) {
        if (a === b) continue;
        this.raftProxies.get(`${a}->${b}`)!.setTarget(real.get(b)!.peer);
        this.fwdProxies.get(`${a}->${b}`)!.setTarget(real.get(b)!.client);
      }
    }
    const everyEntries = options.snapshotEveryEntries ?? 2_000;
    for (const id of this.allIds) {
      // A config-file member lists the config-file members; a spare lists them too, plus itself to join
      // ("join": true), and not the other spares: a spare added later must hear a leader that was itself
      // added at run time and that its file does not name (the transport learns it from its stream).
      const listed = this.initialIds.includes(id) ? this.initialIds : [...this.initialIds, id];
      const addressesOf = (other: string): { client: string; peer: string } => {
        if (other === id) return real.get(id)!;
        if (this.initialIds.includes(other)) return { client: this.fwdProxies.get(`${id}->${other}`)!.address, peer: this.raftProxies.get(`${id}->${other}`)!.address };
        const d = this.demuxes.get(other)!;
        return { client: d.fwd.address, peer: d.raft.address };
      };
      const config = {
        clusterId: 'raftlock-chaos',
        nodes: listed.map((other) => ({
          id: other,
          clientAddress: addressesOf(other).client,
          peerAddress: addressesOf(other).peer,
          dataDir: join(this.dir, 'data', other),
          ...(this.initialIds.includes(other) ? {} : { join: true }),
        })),
        timing: this.timing,
        snapshot: { everyEntries, trailingEntries: Math.floor(everyEntries / 4) },
        limits: { minTtlMs: Math.max(CHAOS_MIN_TTL_MS, maxElectionTimeoutMs(this.timing)) },
        logLevel: options.logLevel ?? 'info',
      };
      const configPath = join(this.dir, `cluster-${id}.json`);
      writeFileSync(configPath, `${JSON.stringify(config, null, 2)}\n`);
      const r = real.get(id)!;
      this.nodes.set(id, { id, clientAddress: r.client, peerAddress: r.peer, configPath, logPath: join(this.dir, `${id}.log`), proc: null, exited: null, alive: false, paused: false, starts: 0 });
    }
    for (const id of this.initialIds) this.spawn(this.node(id));
    await Promise.all(this.initialIds.map((id) => this.waitServing(id, START_TIMEOUT_MS)));
    this.lastSeen.clear();
  }

  /** nodePids: the pid of every node process running now, by id (the LinkDemuxes' candidates). */
  private nodePids(): Map<string, number> {
    const out = new Map<string, number>();
    for (const n of this.nodes.values()) if (n.alive && n.proc?.pid !== undefined) out.set(n.id, n.proc.pid);
    return out;
  }

  private applyLink(from: string, to: string, mode: LinkMode): void {
    this.proxy(this.raftProxies, from, to).setMode(mode);
    this.proxy(this.fwdProxies, from, to).setMode(mode);
  }

  private proxy(map: Map<string, FaultProxy>, from: string, to: string): FaultProxy {
    const p = map.get(`${from}->${to}`);
    if (p === undefined) throw new Error(`no link ${from}->${to}; nodes are ${this.ids.join(', ')} (and a node has no link to itself)`);
    return p;
  }

  private node(id: string): NodeProc {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`unknown node ${id}; nodes are ${this.ids.join(', ')}`);
    return n;
  }

  private spawn(n: NodeProc): void {
    if (this.destroyed) throw new Error('the cluster was destroyed');
    if (n.alive) throw new Error(`spawn ${n.id}: already running`);
    n.starts++;
    const proc = spawnRaftlockNode({ configPath: n.configPath, id: n.id, logPath: n.logPath, startLine: `${START_MARK} #${n.starts} of ${n.id}` });
    const pid = proc.pid;
    if (pid !== undefined) livePids.add(pid);
    n.proc = proc;
    n.alive = true;
    n.paused = false;
    n.exited = new Promise<void>((resolve) => {
      const done = (): void => {
        if (pid !== undefined) livePids.delete(pid);
        if (n.proc === proc) {
          n.alive = false;
          n.paused = false;
        }
        resolve();
      };
      proc.once('exit', done);
      proc.once('error', done);
    });
  }

  /** waitServing: until the node answers Status (bounded); fails at once if it exits. */
  private async waitServing(id: string, timeoutMs: number): Promise<void> {
    const n = this.node(id);
    const deadline = now() + timeoutMs;
    for (;;) {
      if (!n.alive) throw new Error(`${id} exited while starting:\n${this.logs(id).slice(-3000)}`);
      try {
        await this.status(id, 500);
        return;
      } catch {
        if (now() >= deadline) throw new Error(`${id} did not answer Cluster.Status within ${timeoutMs} ms`);
        await sleep(50);
      }
    }
  }

  private async pollOnce(): Promise<void> {
    const all = await this.statuses(300);
    const atMs = now();
    for (const id of this.allIds.filter((x) => !this.standby.has(x))) {
      const s = all.get(id);
      const key = s === undefined ? 'down' : `${s.role}|${s.term}|${s.leader}`;
      if (this.lastSeen.get(id) === key) continue;
      this.lastSeen.set(id, key);
      this.recorder.observe(
        s === undefined
          ? { atMs, node: id, up: false }
          : { atMs, node: id, up: true, role: s.role, term: s.term, leader: s.leader, commitIndex: s.commitIndex },
      );
    }
  }
}

function parseStatus(s: StatusResponse): NodeStatus {
  return {
    id: s.id, role: s.role, term: Number(s.term), leader: s.leader, commitIndex: Number(s.commitIndex), appliedIndex: Number(s.appliedIndex),
    members: s.members.map((m) => ({ id: m.id, role: m.role })),
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

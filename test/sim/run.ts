import { defaultRaftConfig, type RaftConfig } from '../../src/raft/config.js';
import { isMember, type ConfChange, type Membership } from '../../src/raft/membership.js';
import { SeededRng } from '../../src/raft/prng.js';
import type { ApplyResult } from '../../src/lock/results.js';
import type { Entry, Message, NodeId, ProposeResult, ReadState, Ready, Snapshot } from '../../src/raft/types.js';
import { SimFailure, check, fail } from './assert.js';
import { Checker } from './checker.js';
import { EventQueue } from './eventQueue.js';
import { EventKind, EventPool, type SimEvent } from './events.js';
import { type ClientHost, Clients } from './lockClient.js';
import { LockChecker } from './lockChecker.js';
import { Network } from './network.js';
import { type NodeHost, SimNode } from './node.js';
import type { ClientReply, ClientRequest, Packet, ReplyBody } from './packets.js';
import { applyPartition } from './partitions.js';
import { emptyStats, type SimStats } from './stats.js';
import { describeProfile, swarmProfile, type SwarmProfile } from './swarm.js';
import { Trace } from './trace.js';

export interface SimOptions {
  readonly nodes?: 3 | 5;
  /** Print every trace record as it happens. */
  readonly trace?: boolean;
  /** Where live trace lines go (default console.log). */
  readonly print?: (line: string) => void;
}

export interface SimResult {
  readonly seed: number;
  readonly ok: boolean;
  /** What failed, when !ok. */
  readonly failure: string;
  /** The swarm profile, then the last trace records (only when !ok). */
  readonly trace: string;
  readonly profile: string;
  readonly stats: SimStats;
}

const EVENT_BUDGET = 4_000_000;
const EVENT_QUEUE_MAX = 1_000_000;
const TRACE_RECORDS = 400;
const LIVENESS_CHECK_MS = 25;
const EVENT_POOL_MAX = 100_000;
/** A leader pause lasts the longest TTL plus up to this much (election timeouts are 100..200 ms). */
const LEADER_PAUSE_BEYOND_MS = 1_500;

/** runSeed runs one seed: a safety phase with swarm faults, then a healed liveness phase. */
export function runSeed(seed: number, opts: SimOptions = {}): SimResult {
  return new Simulation(seed, opts).run();
}

/** replayCommand is the one command that replays a seed. */
export function replayCommand(seed: number, nodes?: 3 | 5): string {
  return `npm run sim -- --seed ${seed}${nodes === undefined ? '' : ` --nodes ${nodes}`}`;
}

class Simulation implements NodeHost, ClientHost {
  private readonly queue = new EventQueue<SimEvent>(EVENT_QUEUE_MAX);
  private readonly pool = new EventPool(EVENT_POOL_MAX);
  readonly nodes: SimNode[] = [];
  readonly nodeIds: readonly NodeId[];
  private readonly profile: SwarmProfile;
  private readonly network: Network;
  private readonly checker: Checker;
  private readonly lockChecker: LockChecker;
  private readonly clients: Clients;
  private readonly trace: Trace;
  private readonly faultRng: SeededRng;
  private readonly idxById = new Map<string, number>();
  /** Outbound links cut to keep a doomed new leader's appends on a minority, restored when it crashes. */
  private readonly minorityCuts = new Map<number, number[]>();
  private readonly stats: SimStats;
  /**
   * Membership changes (add a learner, promote, remove — the leader too) run
   * on their own PRNG fork, drawn after every other, so that seeds without
   * them replay exactly as before they existed.
   */
  private readonly memberRng: SeededRng;
  private readonly membershipIntervalMs: number;
  /** How many identities each node slot has had (a removed node comes back under a new one). */
  private readonly generations: number[];
  private liveness = false;
  private livenessStartMs = 0;
  private done = false;

  constructor(private readonly seed: number, opts: SimOptions) {
    const root = new SeededRng(seed);
    this.profile = swarmProfile(root.fork(), opts.nodes === undefined ? {} : { nodes: opts.nodes });
    const p = this.profile;
    const netRng = root.fork();
    const clientRng = root.fork();
    this.faultRng = root.fork();
    const ids: string[] = [];
    for (let i = 0; i < p.nodeCount; i++) ids.push(`n${i + 1}`);
    ids.forEach((id, i) => this.idxById.set(id, i));
    this.nodeIds = ids;
    this.stats = emptyStats(p.nodeCount);
    const clientNames = Array.from({ length: p.lock.clientCount }, (_, c) => `c${c}`);
    this.trace = new Trace(TRACE_RECORDS, opts.trace === true, [...ids, ...clientNames], opts.print);
    for (let i = 0; i < p.nodeCount; i++) {
      const config: RaftConfig = { ...defaultRaftConfig(ids[i] as string, ids), ...p.raft, electionTicks: 10, heartbeatTicks: 1 };
      this.nodes.push(new SimNode(i, config, p, p.lockLimits, root.fork(), this));
    }
    this.network = new Network(
      p.nodeCount,
      p.lock.clientCount,
      { lossRate: p.lossRate, dupRate: p.dupRate, delayMinMs: p.delayMinMs, delayMaxMs: p.delayMaxMs },
      netRng,
      (atMs, from, to, msg) => this.queue.push(atMs, this.pool.take(EventKind.deliver, to, from, msg)),
      (from, to, msg, reason) => this.onDrop(from, to, msg, reason),
    );
    this.checker = new Checker(
      this.nodes,
      (node, text) => this.note(node, text),
      (node) => this.onNewLeader(node),
    );
    this.lockChecker = new LockChecker(this.nodes, this.checker, () => this.nowMs);
    this.clients = new Clients(p.lock, clientRng, this);
    this.memberRng = root.fork();
    this.membershipIntervalMs = this.memberRng.chance(0.6) ? 300 + this.memberRng.nextFloat() * 3_000 : 0;
    this.generations = ids.map(() => 1);
  }

  get nowMs(): number {
    return this.queue.nowMs;
  }

  run(): SimResult {
    let failure = '';
    try {
      this.trace.note(0, -1, `seed ${this.seed}\n${this.describeProfile()}`);
      this.start();
      this.loop();
      this.finalChecks();
    } catch (e) {
      failure = e instanceof SimFailure ? e.message : e instanceof Error ? `thrown: ${e.stack ?? `${e.name}: ${e.message}`}` : `thrown: ${String(e)}`;
      this.trace.note(this.nowMs, -1, `FAILURE: ${failure}`);
    }
    this.collectStats();
    const ok = failure === '';
    return {
      seed: this.seed,
      ok,
      failure,
      trace: ok ? '' : `${this.describeProfile()}\n--- last ${TRACE_RECORDS} trace records ---\n${this.trace.dump()}`,
      profile: this.describeProfile(),
      stats: this.stats,
    };
  }

  private start(): void {
    const p = this.profile;
    for (const node of this.nodes) {
      node.start();
      this.checker.nodeStarted(node);
      node.maybeReady();
      this.schedule(this.faultRng.nextFloat() * (p.tickMsByNode[node.idx] as number), EventKind.tick, node.idx, 0);
    }
    this.clients.start();
    if (p.partitionMode !== 'none') this.scheduleFault(EventKind.partition, p.partitionIntervalMs);
    if (p.crashIntervalMs > 0) this.scheduleFault(EventKind.crash, p.crashIntervalMs);
    if (p.pauseIntervalMs > 0) this.scheduleFault(EventKind.pause, p.pauseIntervalMs);
    if (p.leaderPauseIntervalMs > 0) this.scheduleFault(EventKind.leaderPause, p.leaderPauseIntervalMs);
    if (p.transferIntervalMs > 0) this.scheduleFault(EventKind.transfer, p.transferIntervalMs);
    if (this.membershipIntervalMs > 0) this.scheduleMembership();
    this.schedule(p.safetyMs, EventKind.livenessStart, -1, 0);
  }

  private loop(): void {
    while (!this.done) {
      if (this.stats.events >= EVENT_BUDGET) fail(`event budget of ${EVENT_BUDGET} exhausted at ${this.nowMs.toFixed(1)}ms (livelock or message storm)`);
      check(this.queue.size > 0, 'event queue ran dry');
      const ev = this.queue.pop();
      this.stats.events++;
      this.dispatch(ev);
      if (!ev.held) this.pool.give(ev);
    }
  }

  private dispatch(ev: SimEvent): void {
    switch (ev.kind) {
      case EventKind.tick: return this.onTick(ev);
      case EventKind.deliver: return this.onDeliver(ev);
      case EventKind.persistDone: return this.onPersistDone(ev);
      case EventKind.client: return this.onClient(ev);
      case EventKind.crash: return ev.node < 0 ? this.onCrash() : this.onLeaderCrash(ev);
      case EventKind.restart: return this.onRestart(ev);
      case EventKind.pause: return this.onPause();
      case EventKind.leaderPause: return this.onLeaderPause();
      case EventKind.resume: return this.onResume(ev);
      case EventKind.partition: return this.onPartition();
      case EventKind.heal: return this.onHeal();
      case EventKind.transfer: return this.onTransfer();
      case EventKind.membership: return this.onMembership();
      case EventKind.livenessStart: return this.onLivenessStart();
      case EventKind.livenessCheck: return this.onLivenessCheck();
    }
  }

  // --- node events -------------------------------------------------------

  private onTick(ev: SimEvent): void {
    const node = this.nodes[ev.node] as SimNode;
    this.schedule(this.nowMs + (this.profile.tickMsByNode[node.idx] as number), EventKind.tick, node.idx, 0);
    if (!node.up || node.paused) return;
    node.tick();
    this.check(node);
  }

  private onDeliver(ev: SimEvent): void {
    const pkt = ev.msg as Packet;
    if (!this.network.arrive(ev.arg, ev.node, pkt)) return;
    if (ev.node >= this.nodes.length) return this.deliverToClient(ev.node, pkt as ClientReply);
    const node = this.nodes[ev.node] as SimNode;
    if (!node.up) return this.trace.drop(this.nowMs, ev.node, pkt, 'node down');
    if (node.paused) return this.holdForPaused(node, ev);
    this.deliverNow(node, pkt);
  }

  private deliverNow(node: SimNode, pkt: Packet): void {
    this.trace.deliver(this.nowMs, node.idx, pkt);
    switch (pkt.type) {
      case 'client-request':
        node.handleRequest(pkt);
        break;
      case 'forward':
        node.handleForward(pkt.data);
        break;
      case 'client-reply':
        fail(`${node.id}: delivered a client reply`);
      default:
        // A message for an identity this slot had before it was wiped: that node is gone.
        if (pkt.to !== node.id) return this.trace.drop(this.nowMs, node.idx, pkt, 'identity retired');
        if (pkt.type === 'snapshot' && pkt.offset + pkt.chunk.length === pkt.totalBytes) this.stats.snapshotsReceived++;
        node.step(pkt);
    }
    this.check(node);
  }

  private deliverToClient(endpoint: number, reply: ClientReply): void {
    this.trace.deliver(this.nowMs, endpoint, reply);
    this.clients.onReply(reply);
  }

  private onPersistDone(ev: SimEvent): void {
    const node = this.nodes[ev.node] as SimNode;
    if (!node.up || ev.arg !== node.incarnation) return; // the fsync of a crashed incarnation: lost
    if (node.paused) return this.holdForPaused(node, ev);
    node.persistDone();
    this.check(node);
  }

  private holdForPaused(node: SimNode, ev: SimEvent): void {
    if (node.queue(ev)) {
      ev.held = true;
      return;
    }
    this.stats.faults.backlogDrops++;
    this.trace.drop(this.nowMs, node.idx, ev.msg as Packet, 'paused backlog full');
  }

  private onClient(ev: SimEvent): void {
    this.clients.wake(ev.node, this.nowMs);
  }

  // --- faults ------------------------------------------------------------

  private onCrash(): void {
    if (this.liveness) return;
    this.scheduleFault(EventKind.crash, this.profile.crashIntervalMs);
    const victim = this.pickNode((n) => n.up);
    if (victim !== null) this.crash(victim);
  }

  /**
   * onNewLeader may doom a new leader to crash shortly, and often first lets
   * its appends reach only one follower: the schedules of the Raft paper's
   * Figure 8, where entries of old terms sit on a minority while leaders churn.
   */
  private onNewLeader(node: SimNode): void {
    if (this.liveness || this.profile.leaderCrashChance === 0 || !this.faultRng.chance(this.profile.leaderCrashChance)) return;
    const atMs = this.nowMs + this.faultRng.nextFloat() * this.profile.leaderCrashDelayMaxMs;
    if (this.faultRng.chance(0.6)) this.cutToMinority(node);
    this.schedule(atMs, EventKind.crash, node.idx, node.incarnation);
  }

  /** cutToMinority lets a leader's messages reach too few followers to form a quorum with it. */
  private cutToMinority(node: SimNode): void {
    const n = this.nodes.length;
    const keepCount = this.faultRng.nextInt(Math.floor(n / 2)); // 3 nodes: 0; 5 nodes: 0 or 1
    const keep = new Set<number>();
    while (keep.size < keepCount) keep.add((node.idx + 1 + this.faultRng.nextInt(n - 1)) % n);
    const cuts: number[] = [];
    for (let other = 0; other < n; other++) {
      if (other === node.idx || keep.has(other) || this.network.isCut(node.idx, other)) continue;
      this.network.setCut(node.idx, other, true);
      cuts.push(other);
    }
    this.minorityCuts.set(node.idx, cuts);
    this.note(node.idx, `MINORITY leader reaches only {${[...keep].map((k) => `n${k + 1}`).join(',')}}`);
  }

  private onLeaderCrash(ev: SimEvent): void {
    const node = this.nodes[ev.node] as SimNode;
    if (this.liveness || !node.up || node.incarnation !== ev.arg) return;
    this.stats.faults.leaderCrashes++;
    // The doomed leader's links come back for its next life.
    for (const other of this.minorityCuts.get(node.idx) ?? []) this.network.setCut(node.idx, other, false);
    this.minorityCuts.delete(node.idx);
    this.crash(node);
  }

  private crash(victim: SimNode): void {
    this.stats.faults.crashes++;
    this.note(victim.idx, `CRASH (outstanding Ready ${victim.outstanding === null ? 'none' : 'lost'})`);
    this.checker.nodeCrashed(victim);
    this.lockChecker.nodeCrashed(victim);
    victim.crash();
    const restartMs = this.nowMs + this.faultRng.nextFloat() * this.profile.restartDelayMaxMs;
    this.schedule(restartMs, EventKind.restart, victim.idx, victim.incarnation);
  }

  private onRestart(ev: SimEvent): void {
    const node = this.nodes[ev.node] as SimNode;
    if (node.up || node.incarnation !== ev.arg) return;
    this.restart(node);
  }

  private restart(node: SimNode): void {
    this.stats.faults.restarts++;
    const hs = node.storage.hardState;
    this.note(node.idx, `RESTART from t${hs.term} vote=${hs.vote || '-'} commit=${hs.commit} snapshot=${node.storage.snapshotIndex} last=${node.storage.lastIndex()}`);
    node.start();
    this.checker.nodeStarted(node);
    node.maybeReady();
  }

  /** onPause pauses a random node for a while. */
  private onPause(): void {
    if (this.liveness) return;
    this.scheduleFault(EventKind.pause, this.profile.pauseIntervalMs);
    const victim = this.pickNode((n) => n.up && !n.paused);
    if (victim === null) return;
    this.pause(victim, this.faultRng.nextFloat() * this.profile.pauseDurationMaxMs, '');
  }

  /**
   * onLeaderPause pauses the leader, if its lease clock runs, for longer than
   * an election timeout and the longest TTL: it wakes believing every lease
   * lapsed, while a new leader has kept them alive.
   */
  private onLeaderPause(): void {
    if (this.liveness) return;
    this.scheduleFault(EventKind.leaderPause, this.profile.leaderPauseIntervalMs);
    const leader = this.currentLeader();
    const victim = leader < 0 ? null : (this.nodes[leader] as SimNode);
    if (victim === null || victim.paused || !victim.service.clock.isActive) return;
    this.stats.faults.leaderPauses++;
    this.pause(victim, this.profile.lock.ttlMaxMs + LEADER_PAUSE_BEYOND_MS * (0.1 + this.faultRng.nextFloat()), ' (leader, past election timeout and TTL)');
  }

  private pause(victim: SimNode, durationMs: number, what: string): void {
    this.stats.faults.pauses++;
    victim.paused = true;
    this.note(victim.idx, `PAUSE${what} for ${durationMs.toFixed(1)}ms`);
    this.schedule(this.nowMs + durationMs, EventKind.resume, victim.idx, victim.incarnation);
  }

  private onResume(ev: SimEvent): void {
    const node = this.nodes[ev.node] as SimNode;
    if (!node.up || !node.paused || node.incarnation !== ev.arg) return;
    this.resume(node);
  }

  /**
   * resume unpauses a node and lets it work through its backlog as a woken
   * process does: each connection (a sender; the disk) in order, but the
   * connections interleaved at random, and its overdue timer firing at a
   * random point among them. So a leader may tick on its stale view of time
   * before it hears of a newer term; or after its core has stepped down while
   * its service, waiting for the fsync that reports it, still believes it
   * leads; and clients' keepalives sent to it during the pause may come before
   * or after either.
   */
  private resume(node: SimNode): void {
    node.paused = false;
    const backlog = node.backlog.splice(0, node.backlog.length);
    const bySource = new Map<number, SimEvent[]>();
    for (const ev of backlog) {
      const source = ev.kind === EventKind.deliver ? ev.arg : -1;
      const q = bySource.get(source);
      if (q === undefined) bySource.set(source, [ev]);
      else q.push(ev);
    }
    const queues = [...bySource.values()];
    const tickAt = this.faultRng.nextInt(backlog.length + 1);
    this.note(node.idx, `RESUME with ${backlog.length} queued events from ${queues.length} connections, ticking after ${tickAt}`);
    for (let done = 0; done <= backlog.length; done++) {
      if (done === tickAt) this.wakeTick(node);
      if (done === backlog.length) break;
      const k = this.faultRng.nextInt(queues.length);
      const q = queues[k] as SimEvent[];
      this.replay(node, q.shift() as SimEvent);
      if (q.length === 0) queues.splice(k, 1);
    }
  }

  /** replay handles one event a paused node queued, now that it runs again. */
  private replay(node: SimNode, ev: SimEvent): void {
    ev.held = false;
    if (node.up && !node.paused) {
      if (ev.kind === EventKind.deliver) this.deliverNow(node, ev.msg as Packet);
      else if (ev.arg === node.incarnation) {
        node.persistDone();
        this.check(node);
      }
    }
    this.pool.give(ev);
  }

  private wakeTick(node: SimNode): void {
    if (!node.up || node.paused) return;
    node.tick();
    this.check(node);
  }

  private onPartition(): void {
    if (this.liveness) return;
    this.stats.faults.partitions++;
    const what = applyPartition(this.profile.partitionMode, this.network, this.faultRng, this.currentLeader());
    this.note(-1, `PARTITION ${what}`);
    this.schedule(this.nowMs + this.faultRng.nextFloat() * this.profile.partitionDurationMaxMs, EventKind.heal, -1, 0);
  }

  private onHeal(): void {
    if (this.liveness) return;
    this.network.healAll();
    this.note(-1, 'HEAL all links');
    this.scheduleFault(EventKind.partition, this.profile.partitionIntervalMs);
  }

  private onTransfer(): void {
    if (this.liveness) return;
    this.scheduleFault(EventKind.transfer, this.profile.transferIntervalMs);
    const leader = this.currentLeader();
    if (leader < 0) return;
    const node = this.nodes[leader] as SimNode;
    if (node.paused) return;
    const to = (leader + 1 + this.faultRng.nextInt(this.nodes.length - 1)) % this.nodes.length;
    const ok = node.transferLeadership((this.nodes[to] as SimNode).id);
    this.stats.faults.transfers++;
    this.note(leader, `TRANSFER leadership to n${to + 1}: ${ok ? 'started' : 'refused'}`);
    this.check(node);
  }

  // --- membership ---------------------------------------------------------

  private scheduleMembership(): void {
    this.schedule(this.nowMs + this.membershipIntervalMs * (0.5 + this.memberRng.nextFloat()), EventKind.membership, -1, 0);
  }

  /**
   * onMembership asks the leader for one change: promote a learner, bring a
   * removed node back (wiped, under a new identity, as a learner), or remove a
   * member — the leader itself included — down to a minimum of voters. The
   * leader may refuse (a change in progress, a learner behind, its term's
   * first entry not committed); faults keep running meanwhile.
   */
  private onMembership(): void {
    if (this.liveness) return;
    this.scheduleMembership();
    // Sometimes a second change right behind the first: the leader must refuse it while the first is uncommitted.
    const attempts = this.memberRng.chance(0.3) ? 2 : 1;
    for (let k = 0; k < attempts; k++) this.changeMembership();
  }

  private changeMembership(): void {
    const leaderIdx = this.currentLeader();
    if (leaderIdx < 0) return;
    const leader = this.nodes[leaderIdx] as SimNode;
    if (leader.paused) return;
    const core = leader.core();
    const m = core.membership();
    const settled = core.membershipAt(core.status().commit);
    const outside = this.nodes.filter((n) => !isMember(m, n.id) && !isMember(settled, n.id));
    const minVoters = this.nodes.length === 3 ? 2 : 3;
    const roll = this.memberRng.nextFloat();
    let cc: ConfChange | null = null;
    if (m.learners.length > 0 && roll < 0.6) {
      cc = { type: 'promote', node: pick(this.memberRng, m.learners), context: new Uint8Array(0) };
    } else if (m.learners.length > 0 && roll < 0.7) {
      cc = { type: 'remove', node: pick(this.memberRng, m.learners), context: new Uint8Array(0) };
    } else if (outside.length > 0 && (roll < 0.9 || m.voters.length <= minVoters)) {
      const node = pick(this.memberRng, outside);
      cc = { type: 'add-learner', node: this.rejoin(node), context: new Uint8Array([node.idx]) };
    } else if (m.voters.length > minVoters) {
      cc = { type: 'remove', node: pick(this.memberRng, m.voters), context: new Uint8Array(0) };
    }
    if (cc === null || !leader.up) return;
    // Check the commit the core may have moved under the configuration about to be replaced (its Ready
    // may still be outstanding): the commit-quorum invariant judges each commit by the configuration in force.
    this.checker.afterEvent(leader);
    const res = leader.proposeConfChange(cc);
    if (res.ok) this.stats.faults.memberChanges++;
    if (res.ok && cc.type === 'remove' && cc.node === leader.id) this.stats.faults.leaderRemovals++;
    else if (!res.ok) this.stats.faults.memberChangesRefused++;
    this.note(leaderIdx, `MEMBERSHIP ${cc.type} ${cc.node}: ${res.ok ? `appended at ${res.index}` : `refused (${res.reason})`}`);
    this.check(leader);
  }

  /** rejoin crashes a removed node, wipes its disk and starts it empty under a new identity in join mode. */
  private rejoin(node: SimNode): NodeId {
    if (node.up) this.crash(node);
    const gen = ++(this.generations[node.idx] as number);
    const newId = `n${node.idx + 1}g${gen}`;
    this.idxById.set(newId, node.idx);
    this.stats.faults.rejoins++;
    this.note(node.idx, `WIPE ${node.id}: starts empty as ${newId} in join mode`);
    node.wipe(newId);
    node.start();
    this.checker.nodeStarted(node);
    node.maybeReady();
    return newId;
  }

  private describeProfile(): string {
    const every = this.membershipIntervalMs > 0 ? `every~${this.membershipIntervalMs.toFixed(1)}ms` : 'off';
    return `${describeProfile(this.profile)}\nmembership changes: ${every}`;
  }

  // --- liveness ----------------------------------------------------------

  private onLivenessStart(): void {
    this.liveness = true;
    this.livenessStartMs = this.nowMs;
    this.network.healAll();
    this.network.stopFaults();
    this.note(-1, 'LIVENESS: healed all links, stopped loss/duplication, restarting and resuming everyone');
    for (const node of this.nodes) {
      if (!node.up) this.restart(node);
      else if (node.paused) this.resume(node);
    }
    this.clients.startLiveness();
    this.schedule(this.nowMs + LIVENESS_CHECK_MS, EventKind.livenessCheck, -1, 0);
  }

  private onLivenessCheck(): void {
    const why = this.notConverged();
    if (why === '') {
      this.stats.convergeMs = this.nowMs - this.livenessStartMs;
      this.note(-1, `CONVERGED after ${this.stats.convergeMs.toFixed(1)}ms`);
      this.done = true;
      return;
    }
    if (this.nowMs - this.livenessStartMs >= this.profile.livenessMs) fail(`liveness: no convergence ${this.profile.livenessMs}ms after healing: ${why}\n${this.describeNodes()}`);
    this.schedule(this.nowMs + LIVENESS_CHECK_MS, EventKind.livenessCheck, -1, 0);
  }

  /** notConverged returns why the cluster has not converged yet, or '' when it has. */
  private notConverged(): string {
    const leaders = this.nodes.filter((n) => n.up && n.core().status().role === 'leader');
    if (leaders.length !== 1) return `${leaders.length} leaders`;
    const lead = (leaders[0] as SimNode).core().status();
    for (const node of this.members((leaders[0] as SimNode).core().membership())) {
      const st = node.core().status();
      if (st.leader !== lead.id || st.term !== lead.term) return `${node.id} follows ${st.leader ?? '-'} in t${st.term}`;
      if (st.commit !== lead.lastIndex || st.applied !== lead.lastIndex) return `${node.id} at commit ${st.commit} applied ${st.applied}, leader last ${lead.lastIndex}`;
    }
    return this.clients.livenessPending();
  }

  /** members are the nodes a configuration names; removed nodes are left out of convergence and the final comparison. */
  private members(m: Membership): SimNode[] {
    return this.nodes.filter((n) => isMember(m, n.id));
  }

  private finalChecks(): void {
    const leader = this.nodes[this.currentLeader()] as SimNode;
    const members = this.members(leader.core().membership());
    const first = members[0] as SimNode;
    const applied = first.service.lastApplied;
    const digest = first.service.digest();
    for (const node of members) {
      if (!(node.service.lastApplied === applied && node.service.digest() === digest)) fail(`state machine safety: ${node.id} (applied ${node.service.lastApplied}) and ${first.id} (applied ${applied}) differ at the end`);
    }
    for (const ack of this.lockChecker.acks) {
      const at = this.checker.appliedAt(ack.index);
      if (!(at !== undefined && at.term === ack.term && at.hash === ack.hash)) fail(`durability: acknowledged ${ack.what} at ${ack.index}@t${ack.term} but ${at === undefined ? 'nothing' : `${ack.index}@t${at.term}`} was applied there`);
      const committed = this.checker.committedTermAt(ack.index);
      if (!(committed === undefined || committed === ack.term)) fail(`durability: acknowledged ${ack.what} at ${ack.index}@t${ack.term} but t${String(committed)} is committed there`);
      if (applied < ack.index) fail(`durability: acknowledged ${ack.what} at ${ack.index} beyond the final applied ${applied}`);
    }
  }

  // --- NodeHost ----------------------------------------------------------

  schedulePersistDone(node: SimNode, atMs: number): void {
    this.schedule(atMs, EventKind.persistDone, node.idx, node.incarnation);
  }

  send(node: SimNode, msg: Message): void {
    this.checker.messageSent(node, msg);
    const to = this.idxById.get(msg.to);
    if (to === undefined) fail(`${node.id}: sends ${msg.type} to unknown node '${msg.to}'`);
    if (msg.type === 'snapshot') {
      this.stats.snapshotChunksSent++;
      if (msg.offset === 0) this.stats.snapshotsSent++;
    }
    if (this.profile.freezeMessages) freezeMessage(msg);
    this.network.send(this.nowMs, node.idx, to, msg);
  }

  onProposed(_node: SimNode, res: ProposeResult): void {
    if (res.ok) this.stats.proposals++;
    else this.stats.proposalsRefused++;
  }

  reply(node: SimNode, req: ClientRequest, body: ReplyBody): void {
    this.lockChecker.replySent(node, req, body);
    const reply: ClientReply = { type: 'client-reply', client: req.client, reqId: req.reqId, attempt: req.attempt, from: node.id, body };
    this.network.send(this.nowMs, node.idx, this.network.clientEndpoint(req.client), reply);
  }

  forward(node: SimNode, to: NodeId, data: Uint8Array): void {
    const idx = this.idxById.get(to);
    if (idx === undefined) fail(`${node.id}: forwards a proposal to unknown node '${to}'`);
    this.stats.forwardedProposals++;
    this.network.send(this.nowMs, node.idx, idx, { type: 'forward', from: node.id, to, data });
  }

  onPersisted(node: SimNode, rd: Ready): void {
    this.trace.persist(this.nowMs, node.idx, rd);
    this.checker.readyPersisted(node, rd);
    if (rd.snapshot !== null) this.stats.snapshotsInstalled++;
  }

  onSnapshotRestored(node: SimNode, snapshot: Snapshot): void {
    this.checker.snapshotRestored(node, snapshot);
  }

  onApplied(node: SimNode, entry: Entry, result: ApplyResult | null): void {
    this.checker.entryApplied(node, entry);
    this.lockChecker.applied(node, entry, result);
  }

  onReadIssued(node: SimNode, ctx: number): void {
    this.stats.readsIssued++;
    this.lockChecker.readIssued(node, ctx);
  }

  onReadServed(node: SimNode, rs: ReadState): void {
    this.stats.readsServed++;
    this.lockChecker.readServed(node, rs);
  }

  onReadDropped(node: SimNode, ctx: number): void {
    this.stats.readsFailed++;
    this.lockChecker.readDropped(node, ctx);
  }

  onCompacted(node: SimNode, snapshot: Snapshot, firstIndex: number): void {
    this.stats.compactions++;
    this.checker.snapshotTaken(node, snapshot);
    this.note(node.idx, `compacted to snapshot ${snapshot.meta.index}@t${snapshot.meta.term}, log from ${firstIndex}`);
  }

  onCompactionDeferred(node: SimNode): void {
    this.stats.compactionsDeferred++;
    this.note(node.idx, 'compaction deferred: a received snapshot is pending');
  }

  onCompactedOverRewrite(node: SimNode): void {
    this.stats.compactionsOverRewrite++;
    this.note(node.idx, 'compacted over entries of a Ready the core rewrote while it was outstanding');
  }

  // --- ClientHost ----------------------------------------------------------

  sendRequest(client: number, node: number, req: ClientRequest): void {
    this.network.send(this.nowMs, this.network.clientEndpoint(client), node, req);
  }

  scheduleClient(client: number, atMs: number): void {
    this.schedule(atMs, EventKind.client, client, 0);
  }

  noteClient(client: number, text: string): void {
    this.trace.note(this.nowMs, this.nodes.length + client, text);
  }

  note(node: number, text: string): void {
    this.trace.note(this.nowMs, node, text);
  }

  // --- helpers -------------------------------------------------------------

  /** check runs the checker on a node whose observable state may have changed. */
  private check(node: SimNode): void {
    if (!node.needsCheck) return;
    node.needsCheck = false;
    this.checker.afterEvent(node);
  }

  private schedule(atMs: number, kind: EventKind, node: number, arg: number): void {
    this.queue.push(atMs, this.pool.take(kind, node, arg, null));
  }

  /** scheduleFault schedules the next fault of a kind after a jittered mean interval. */
  private scheduleFault(kind: EventKind, meanMs: number): void {
    this.schedule(this.nowMs + meanMs * (0.5 + this.faultRng.nextFloat()), kind, -1, 0);
  }

  private pickNode(pred: (n: SimNode) => boolean): SimNode | null {
    const candidates = this.nodes.filter(pred);
    return candidates.length === 0 ? null : (candidates[this.faultRng.nextInt(candidates.length)] as SimNode);
  }

  /** currentLeader returns the live leader with the highest term, or -1. */
  private currentLeader(): number {
    let best = -1;
    let bestTerm = -1;
    for (const node of this.nodes) {
      if (!node.up) continue;
      const st = node.core().status();
      if (st.role === 'leader' && st.term > bestTerm) {
        best = node.idx;
        bestTerm = st.term;
      }
    }
    return best;
  }

  private onDrop(from: number, to: number, msg: Packet, reason: string): void {
    const f = this.stats.faults;
    if (reason === 'lost') f.lost++;
    else if (reason === 'link full') f.linkFullDrops++;
    else f.cutDrops++;
    this.trace.drop(this.nowMs, from < this.nodes.length ? from : to, msg, reason);
  }

  private describeNodes(): string {
    return this.nodes.map((n) => {
      if (!n.up) return `  ${n.id}: down`;
      const st = n.core().status();
      return `  ${n.id}: ${st.role} t${st.term} voters=${st.voters.join(',')} learners=${st.learners.join(',') || '-'}${st.joinPending ? ' JOINING' : ''} leader=${st.leader ?? '-'} vote=${st.vote || '-'} commit=${st.commit} applied=${st.applied} log=[${st.firstIndex}..${st.lastIndex}] snap=${st.snapshotIndex}@t${st.snapshotTerm}${n.paused ? ' PAUSED' : ''}${n.outstanding ? ' (Ready outstanding)' : ''}`;
    }).join('\n');
  }

  private collectStats(): void {
    const s = this.stats;
    s.virtualTimeMs = this.nowMs;
    s.faults.duplicated = this.network.stats.duplicated;
    s.messagesSent = this.network.stats.sent;
    s.messagesDelivered = this.network.stats.delivered;
    s.elections = this.checker.stats.elections;
    s.leaderChanges = this.checker.stats.leaderChanges;
    s.lock = { ...this.lockChecker.stats };
    s.clients = { ...this.clients.stats };
  }
}

function pick<T>(rng: SeededRng, items: readonly T[]): T {
  return items[rng.nextInt(items.length)] as T;
}

/** freezeMessage makes a message and its entry list immutable (payload bytes cannot be frozen). */
function freezeMessage(msg: Message): void {
  Object.freeze(msg);
  if (msg.type === 'append') {
    Object.freeze(msg.entries);
    for (const e of msg.entries) Object.freeze(e);
  } else if (msg.type === 'snapshot') {
    Object.freeze(msg.meta);
  }
}

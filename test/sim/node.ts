import type { RaftConfig } from '../../src/raft/config.js';
import type { SeededRng } from '../../src/raft/prng.js';
import { Raft } from '../../src/raft/raft.js';
import type { Entry, Message, ProposeResult, ReadState, Ready, Snapshot } from '../../src/raft/types.js';
import { fail } from './assert.js';
import { EventKind, type SimEvent } from './events.js';
import { CounterStateMachine, type SimStateMachine } from './stateMachine.js';
import { SimStorage } from './storage.js';

/** NodeHost is what a SimNode needs from the simulation around it. */
export interface NodeHost {
  readonly nowMs: number;
  schedulePersistDone(node: SimNode, atMs: number): void;
  send(node: SimNode, msg: Message): void;
  onPersisted(node: SimNode, rd: Ready): void;
  onSnapshotRestored(node: SimNode, snapshot: Snapshot): void;
  onApplied(node: SimNode, entry: Entry): void;
  onReadServed(node: SimNode, rs: ReadState): void;
  onReadDropped(node: SimNode, ctx: number): void;
  onCompacted(node: SimNode, snapshot: Snapshot, firstIndex: number): void;
}

export interface NodePolicy {
  readonly fsyncDelayMinMs: number;
  readonly fsyncDelayMaxMs: number;
  readonly snapshotThreshold: number;
  readonly snapshotTrailing: number;
  readonly syncVolatileReadies: boolean;
}

const PENDING_READS_MAX = 1_024;
const BACKLOG_MAX = 2_048;
const READY_ROUNDS_MAX = 1_000;

/**
 * SimNode is one cluster member: the pure Raft core plus the shell loop of the
 * Ready contract, with storage and a state machine. Persistence is
 * asynchronous: a Ready is taken, an fsync is scheduled, and only when it
 * completes are its parts persisted, its messages sent, its entries applied and
 * the Ready advanced. Meanwhile the core keeps stepping messages and ticking.
 *
 * A crash discards the core, the state machine and any outstanding Ready
 * (nothing of it was persisted or sent: unsynced writes are lost); storage
 * survives. A paused node processes nothing: the run loop queues its events in
 * `backlog` (bounded) and skips its ticks.
 */
export class SimNode {
  readonly storage: SimStorage;
  raft: Raft | null = null;
  sm: SimStateMachine = new CounterStateMachine();
  /** incarnation increases on every crash; stale timers carry the old value and are ignored. */
  incarnation = 0;
  paused = false;
  readonly backlog: SimEvent[] = [];
  outstanding: Ready | null = null;
  /**
   * needsCheck says the node's observable state (role, term, vote, commit,
   * applied) may have changed since the checker last looked: set when a Ready
   * carries soft or hard state, or when one applied entries. Any such change
   * surfaces in the next Ready, so checking only then sees every change.
   */
  needsCheck = true;
  private readonly pendingReads: ReadState[] = [];

  constructor(
    readonly idx: number,
    readonly config: RaftConfig,
    private readonly policy: NodePolicy,
    private readonly rng: SeededRng,
    private readonly host: NodeHost,
  ) {
    this.storage = new SimStorage(config.id);
  }

  get id(): string {
    return this.config.id;
  }

  get up(): boolean {
    return this.raft !== null;
  }

  /** core returns the live Raft; calling it on a crashed node is a simulator bug. */
  core(): Raft {
    if (this.raft === null) fail(`${this.id}: used while crashed`);
    return this.raft;
  }

  /** start builds a fresh core from durable state and restores the state machine from the stored snapshot. */
  start(): void {
    if (this.raft !== null) fail(`${this.id}: started while running`);
    this.sm = new CounterStateMachine();
    const snap = this.storage.snapshot;
    if (snap !== null) {
      this.sm.restore(snap.data);
      if (this.sm.lastApplied !== snap.meta.index) fail(`${this.id}: stored snapshot ${snap.meta.index} restores a state machine at ${this.sm.lastApplied}`);
    }
    this.raft = new Raft(this.config, this.rng.fork(), this.storage.restoredState());
    this.needsCheck = true;
    this.maybeReady();
  }

  crash(): void {
    if (this.raft === null) fail(`${this.id}: crashed while down`);
    this.raft = null;
    this.outstanding = null;
    this.pendingReads.length = 0;
    this.backlog.length = 0;
    this.paused = false;
    this.incarnation++;
  }

  /**
   * queue holds an event for a paused node; returns false when the backlog is
   * full and the event (a message: persist completions always fit, there is at
   * most one) is lost.
   */
  queue(ev: SimEvent): boolean {
    if (!this.paused) fail(`${this.id}: queueing while not paused`);
    if (ev.kind === EventKind.deliver && this.backlog.length >= BACKLOG_MAX) return false;
    this.backlog.push(ev);
    return true;
  }

  tick(): void {
    this.core().tick();
    this.maybeReady();
  }

  step(msg: Message): void {
    if (msg.to !== this.id) fail(`${this.id}: delivered a message for ${msg.to}`);
    this.core().step(msg);
    this.maybeReady();
  }

  propose(data: Uint8Array): ProposeResult {
    const res = this.core().propose(data);
    this.maybeReady();
    return res;
  }

  readIndex(ctx: number): boolean {
    const ok = this.core().readIndex(ctx);
    this.maybeReady();
    return ok;
  }

  transferLeadership(to: string): boolean {
    const ok = this.core().transferLeadership(to);
    this.maybeReady();
    return ok;
  }

  /** persistDone completes the outstanding Ready's fsync, runs the rest of the Ready contract, and takes the next. */
  persistDone(): void {
    this.completeReady();
    this.maybeReady();
  }

  /**
   * maybeReady takes the next Ready when none is outstanding. A Ready with
   * something durable (hard state, entries, snapshot) waits for an fsync
   * scheduled after a random delay; one without (messages, entries to apply,
   * read states) needs no fsync, and with `syncVolatileReadies` it is handled
   * at once, as a real shell would.
   */
  maybeReady(): void {
    for (let round = 0; round < READY_ROUNDS_MAX; round++) {
      const raft = this.raft;
      if (raft === null || this.outstanding !== null || !raft.hasReady()) return;
      const rd = raft.ready();
      this.outstanding = rd;
      if (rd.softState !== null || rd.hardState !== null) this.needsCheck = true;
      const durable = rd.hardState !== null || rd.entries.length > 0 || rd.snapshot !== null;
      if (durable || !this.policy.syncVolatileReadies) {
        const { fsyncDelayMinMs, fsyncDelayMaxMs } = this.policy;
        const delayMs = fsyncDelayMinMs + this.rng.nextFloat() * (fsyncDelayMaxMs - fsyncDelayMinMs);
        this.host.schedulePersistDone(this, this.host.nowMs + delayMs);
        return;
      }
      this.completeReady();
    }
    fail(`${this.id}: the core produced more than ${READY_ROUNDS_MAX} Readies in a row without new input`);
  }

  /** completeReady persists the outstanding Ready, sends its messages, applies, and advances the core. */
  private completeReady(): void {
    const raft = this.core();
    const rd = this.outstanding;
    if (rd === null) fail(`${this.id}: persist completion without an outstanding Ready`);
    this.outstanding = null;
    this.storage.persist(rd);
    this.host.onPersisted(this, rd);
    for (const m of rd.messages) this.host.send(this, m);
    if (rd.snapshot !== null) this.restoreSnapshot(rd.snapshot);
    for (const e of rd.committedEntries) this.applyEntry(e);
    for (const rs of rd.readStates) {
      if (this.pendingReads.length >= PENDING_READS_MAX) fail(`${this.id}: more than ${PENDING_READS_MAX} reads waiting to be applied`);
      this.pendingReads.push(rs);
    }
    this.serveReads();
    for (const ctx of rd.droppedReads) this.host.onReadDropped(this, ctx);
    raft.advance(rd);
    if (rd.committedEntries.length > 0 || rd.snapshot !== null) this.needsCheck = true;
    this.maybeCompact();
  }

  private restoreSnapshot(snap: Snapshot): void {
    if (snap.meta.index <= this.sm.lastApplied) fail(`${this.id}: snapshot ${snap.meta.index} would take the state machine back from ${this.sm.lastApplied}`);
    this.sm.restore(snap.data);
    if (this.sm.lastApplied !== snap.meta.index) fail(`${this.id}: snapshot ${snap.meta.index}@t${snap.meta.term} holds a state machine at ${this.sm.lastApplied}`);
    this.host.onSnapshotRestored(this, snap);
  }

  private applyEntry(e: Entry): void {
    const stored = this.storage.termAt(e.index);
    if (stored !== e.term) fail(`${this.id}: applying ${e.index}@t${e.term} but storage holds t${String(stored)} there`);
    this.sm.apply(e);
    this.host.onApplied(this, e);
  }

  private serveReads(): void {
    let served = 0;
    while (served < this.pendingReads.length && (this.pendingReads[served] as ReadState).index <= this.sm.lastApplied) {
      this.host.onReadServed(this, this.pendingReads[served] as ReadState);
      served++;
    }
    if (served > 0) this.pendingReads.splice(0, served);
  }

  private maybeCompact(): void {
    const raft = this.core();
    const index = this.sm.lastApplied;
    if (index - this.storage.snapshotIndex < this.policy.snapshotThreshold) return;
    const term = this.storage.termAt(index);
    if (term === undefined) fail(`${this.id}: applied entry ${index} is not in storage`);
    const coreTerm = raft.termAt(index);
    if (!(coreTerm === undefined || coreTerm === term)) fail(`${this.id}: core term ${coreTerm} at applied ${index}, storage t${term}`);
    const data = this.sm.snapshot();
    const compacted = raft.compact(index, data, this.policy.snapshotTrailing);
    if (compacted === null) return;
    const { snapshot, firstIndex } = compacted;
    if (snapshot.meta.index !== index || snapshot.meta.term !== term) {
      fail(`${this.id}: compact(${index}) made snapshot ${snapshot.meta.index}@t${snapshot.meta.term}, storage has t${term}`);
    }
    this.storage.compact(snapshot, firstIndex);
    this.host.onCompacted(this, snapshot, firstIndex);
  }
}

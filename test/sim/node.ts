import type { LockLimits } from '../../src/lock/limits.js';
import type { ApplyResult } from '../../src/lock/results.js';
import type { RaftConfig } from '../../src/raft/config.js';
import type { SeededRng } from '../../src/raft/prng.js';
import type { ConfChange } from '../../src/raft/membership.js';
import { Raft, type ConfChangeResult } from '../../src/raft/raft.js';
import type { Entry, Message, NodeId, ProposeResult, ReadState, Ready, Snapshot } from '../../src/raft/types.js';
import { fail } from './assert.js';
import { EventKind, type SimEvent } from './events.js';
import { LockService, type ServicePort } from './lockService.js';
import type { ClientRequest, ReplyBody } from './packets.js';
import { SimStorage } from './storage.js';

/** NodeHost is what a SimNode needs from the simulation around it. */
export interface NodeHost {
  readonly nowMs: number;
  schedulePersistDone(node: SimNode, atMs: number): void;
  send(node: SimNode, msg: Message): void;
  reply(node: SimNode, req: ClientRequest, body: ReplyBody): void;
  forward(node: SimNode, to: NodeId, data: Uint8Array): void;
  onProposed(node: SimNode, res: ProposeResult): void;
  onPersisted(node: SimNode, rd: Ready): void;
  onSnapshotRestored(node: SimNode, snapshot: Snapshot): void;
  onApplied(node: SimNode, entry: Entry, result: ApplyResult | null): void;
  onReadIssued(node: SimNode, ctx: number): void;
  onReadServed(node: SimNode, rs: ReadState): void;
  onReadDropped(node: SimNode, ctx: number): void;
  onCompacted(node: SimNode, snapshot: Snapshot, firstIndex: number): void;
  onCompactionDeferred(node: SimNode): void;
  onCompactedOverRewrite(node: SimNode): void;
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
 * Ready contract, with storage and the lock service (state machine, lease
 * clock, client bookkeeping: lockService.ts), whose port it is. Persistence is
 * asynchronous: a Ready is taken, an fsync is scheduled, and only when it
 * completes are its parts persisted, its messages sent, its entries applied and
 * the Ready advanced — except, as in the node, a leader's messages (sent when
 * the Ready is taken, in parallel with its fsync) and committed entries already
 * durable from earlier Readies (applied when the Ready is taken). Meanwhile the core keeps stepping messages and ticking.
 *
 * The service sees the Ready's soft state when the Ready completes, so after
 * the core steps down it may act as leader for up to an fsync longer, as a
 * real shell may.
 *
 * A crash discards the core, the service and any outstanding Ready (nothing
 * of it was persisted or sent: unsynced writes are lost); storage survives.
 * A paused node processes nothing: the run loop queues its events in
 * `backlog` (bounded) and skips its ticks.
 */
export class SimNode implements ServicePort {
  storage: SimStorage;
  raft: Raft | null = null;
  service: LockService;
  /** incarnation increases on every crash; stale timers carry the old value and are ignored. */
  incarnation = 0;
  paused = false;
  readonly backlog: SimEvent[] = [];
  outstanding: Ready | null = null;
  /** sentEarly: the outstanding Ready's messages were sent when it was taken (a leader's), not after its fsync. */
  private sentEarly = false;
  /** appliedEarly: how many of the outstanding Ready's committed entries were applied when it was taken. */
  private appliedEarly = 0;
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
    public config: RaftConfig,
    private readonly policy: NodePolicy,
    private readonly limits: Partial<LockLimits>,
    private readonly rng: SeededRng,
    private readonly host: NodeHost,
  ) {
    this.storage = new SimStorage(config.id);
    this.service = new LockService(limits, this, null);
  }

  get id(): string {
    return this.config.id;
  }

  get nowMs(): number {
    return this.host.nowMs;
  }

  get up(): boolean {
    return this.raft !== null;
  }

  /** core returns the live Raft; calling it on a crashed node is a simulator bug. */
  core(): Raft {
    if (this.raft === null) fail(`${this.id}: used while crashed`);
    return this.raft;
  }

  /** start builds a fresh core from durable state and a fresh service from the stored snapshot; call maybeReady next. */
  start(): void {
    if (this.raft !== null) fail(`${this.id}: started while running`);
    const snap = this.storage.snapshot;
    this.service = new LockService(this.limits, this, snap);
    if (snap !== null && this.service.lastApplied !== snap.meta.index) {
      fail(`${this.id}: stored snapshot ${snap.meta.index} restores a state machine at ${this.service.lastApplied}`);
    }
    this.raft = new Raft(this.config, this.rng.fork(), this.storage.restoredState());
    this.needsCheck = true;
    // The caller takes the first Ready (maybeReady) once the checker has seen the restored state:
    // that Ready may apply durable committed entries at once.
  }

  crash(): void {
    if (this.raft === null) fail(`${this.id}: crashed while down`);
    this.raft = null;
    this.outstanding = null;
    this.sentEarly = false;
    this.appliedEarly = 0;
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

  /** tick advances the core's clock, then lets the service act on time (lease expiries). */
  tick(): void {
    this.core().tick();
    this.maybeReady();
    this.service.tick();
  }

  step(msg: Message): void {
    if (msg.to !== this.id) fail(`${this.id}: delivered a message for ${msg.to}`);
    this.core().step(msg);
    this.maybeReady();
  }

  handleRequest(req: ClientRequest): void {
    this.service.handleRequest(req);
  }

  handleForward(data: Uint8Array): void {
    this.service.handleForward(data);
  }

  // --- ServicePort ---------------------------------------------------------

  propose(data: Uint8Array): ProposeResult {
    const res = this.core().propose(data);
    this.host.onProposed(this, res);
    this.maybeReady();
    return res;
  }

  readIndex(ctx: number): boolean {
    const ok = this.core().readIndex(ctx);
    if (ok) this.host.onReadIssued(this, ctx);
    this.maybeReady();
    return ok;
  }

  reply(req: ClientRequest, body: ReplyBody): void {
    this.host.reply(this, req, body);
  }

  forward(to: NodeId, data: Uint8Array): void {
    this.host.forward(this, to, data);
  }

  transferLeadership(to: string): boolean {
    const ok = this.core().transferLeadership(to);
    this.maybeReady();
    return ok;
  }

  proposeConfChange(cc: ConfChange): ConfChangeResult {
    const res = this.core().proposeConfChange(cc);
    this.maybeReady();
    return res;
  }

  /**
   * wipe gives a crashed node an empty disk and a new identity, in join mode:
   * an operator replacing a removed member. (Reusing the old id with an empty
   * disk could vote twice in a term it voted in before.)
   */
  wipe(newId: NodeId): void {
    if (this.raft !== null) fail(`${this.id}: wiped while running`);
    this.storage = new SimStorage(newId);
    this.config = { ...this.config, id: newId, joining: true };
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
      this.sentEarly = raft.messagesMayPrecedePersist();
      // A leader's messages go out at once, in parallel with its own fsync (the node does the same).
      if (this.sentEarly) for (const m of rd.messages) this.host.send(this, m);
      // Committed entries durable from earlier Readies are applied (clients answered) before this fsync.
      this.appliedEarly = 0;
      if (rd.snapshot === null) {
        const firstNew = rd.entries[0]?.index ?? Infinity;
        for (const e of rd.committedEntries) {
          if (e.index >= firstNew) break;
          this.applyEntry(e);
          this.appliedEarly++;
        }
      }
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
    if (!this.sentEarly) for (const m of rd.messages) this.host.send(this, m);
    this.sentEarly = false;
    if (rd.softState !== null) this.service.onSoftState(rd.softState);
    if (rd.snapshot !== null) this.restoreSnapshot(rd.snapshot);
    for (const e of rd.committedEntries.slice(this.appliedEarly)) this.applyEntry(e);
    this.appliedEarly = 0;
    for (const rs of rd.readStates) {
      if (this.pendingReads.length >= PENDING_READS_MAX) fail(`${this.id}: more than ${PENDING_READS_MAX} reads waiting to be applied`);
      this.pendingReads.push(rs);
    }
    this.serveReads();
    for (const ctx of rd.droppedReads) {
      this.host.onReadDropped(this, ctx);
      this.service.onReadDropped(ctx);
    }
    // rewrittenFrom: the core rewrote the log inside this Ready while it was outstanding (a new leader's truncation).
    const first = rd.entries[0];
    const last = rd.entries[rd.entries.length - 1];
    const rewrittenFrom = first !== undefined && last !== undefined && raft.termAt(last.index) !== last.term ? first.index : Infinity;
    raft.advance(rd);
    if (rd.committedEntries.length > 0 || rd.snapshot !== null) this.needsCheck = true;
    this.maybeCompact(rewrittenFrom);
  }

  private restoreSnapshot(snap: Snapshot): void {
    const applied = this.service.lastApplied;
    if (snap.meta.index <= applied) fail(`${this.id}: snapshot ${snap.meta.index} would take the state machine back from ${applied}`);
    this.service.restoreSnapshot(snap);
    if (this.service.lastApplied !== snap.meta.index) fail(`${this.id}: snapshot ${snap.meta.index}@t${snap.meta.term} holds a state machine at ${this.service.lastApplied}`);
    this.host.onSnapshotRestored(this, snap);
  }

  private applyEntry(e: Entry): void {
    const stored = this.storage.termAt(e.index);
    if (stored !== e.term) fail(`${this.id}: applying ${e.index}@t${e.term} but storage holds t${String(stored)} there`);
    if (e.index !== this.service.lastApplied + 1) fail(`${this.id}: applying ${e.index} after ${this.service.lastApplied}`);
    if (e.type === 'empty' && e.data.length !== 0) fail(`${this.id}: empty entry ${e.index} carries ${e.data.length} bytes`);
    const result = this.service.applyEntry(e);
    this.host.onApplied(this, e, result);
    this.service.afterApply(e, result);
  }

  /** serveReads serves every read whose index is applied, in order: the checker first, then the service answers. */
  private serveReads(): void {
    let served = 0;
    while (served < this.pendingReads.length && (this.pendingReads[served] as ReadState).index <= this.service.lastApplied) {
      const rs = this.pendingReads[served] as ReadState;
      this.host.onReadServed(this, rs);
      this.service.onReadServed(rs);
      served++;
    }
    if (served > 0) this.pendingReads.splice(0, served);
  }

  /** maybeCompact takes a snapshot when enough was applied; `rewrittenFrom` is where the Ready just completed was rewritten, if it was. */
  private maybeCompact(rewrittenFrom: number): void {
    const raft = this.core();
    const index = this.service.lastApplied;
    if (index - this.storage.snapshotIndex < this.policy.snapshotThreshold) return;
    const term = this.storage.termAt(index);
    if (term === undefined) fail(`${this.id}: applied entry ${index} is not in storage`);
    const coreTerm = raft.termAt(index);
    if (!(coreTerm === undefined || coreTerm === term)) fail(`${this.id}: core term ${coreTerm} at applied ${index}, storage t${term}`);
    const data = this.service.snapshot();
    const compacted = raft.compact(index, data, this.policy.snapshotTrailing);
    if (compacted === null) {
      // The core holds a snapshot beyond `index`: one received from the leader, not yet durable (regression seeds 289, 1174).
      if (raft.status().snapshotIndex > index) this.host.onCompactionDeferred(this);
      return;
    }
    const { snapshot, firstIndex } = compacted;
    if (snapshot.meta.index !== index || snapshot.meta.term !== term) {
      fail(`${this.id}: compact(${index}) made snapshot ${snapshot.meta.index}@t${snapshot.meta.term}, storage has t${term}`);
    }
    this.storage.compact(snapshot, firstIndex);
    this.host.onCompacted(this, snapshot, firstIndex);
    // The schedule of the stableTo bug fixed in 5dbf341: a compaction over entries of a Ready rewritten while outstanding.
    if (index >= rewrittenFrom) this.host.onCompactedOverRewrite(this);
  }
}

/**
 * A tiny in-process network for the Raft core's unit tests, in the spirit of
 * etcd-io/raft's `network`: every node is a real `Raft`, every message is
 * delivered synchronously until the cluster is quiet, and links can be
 * dropped, cut or isolated. Each node follows the Ready contract exactly:
 * while hasReady(): rd = ready(); persist rd to an in-memory store; collect
 * rd.messages; apply rd.snapshot then rd.committedEntries; record
 * rd.readStates and rd.droppedReads; advance(rd).
 *
 * The network also checks two Raft invariants as it goes, so that every
 * scenario test checks them for free: at most one leader per term, and the
 * same entry is applied at an index on every node.
 */
import { defaultRaftConfig, type RaftConfig } from '../../../src/raft/config.js';
import { SeededRng } from '../../../src/raft/prng.js';
import { Raft, type RestoredState } from '../../../src/raft/raft.js';
import type {
  Entry, HardState, Message, NodeId, ProposeResult, ReadState, Ready, Snapshot,
} from '../../../src/raft/types.js';

// ---------------------------------------------------------------- data helpers

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function bytes(s: string): Uint8Array {
  return encoder.encode(s);
}

export function text(data: Uint8Array): string {
  return decoder.decode(data);
}

export function entry(index: number, term: number, data = ''): Entry {
  return { index, term, type: 'normal', data: bytes(data) };
}

/** entriesWithTerms builds entries first, first+1, ... with the given terms. */
export function entriesWithTerms(terms: readonly number[], first = 1): Entry[] {
  return terms.map((term, i) => entry(first + i, term, `e${first + i}`));
}

export const FRESH: RestoredState = { hardState: { term: 0, vote: '', commit: 0 }, snapshot: null, entries: [] };

/** restoredLog is the durable state of a node whose log holds entries 1.. with `terms`. */
export function restoredLog(terms: readonly number[], hard: Partial<HardState> = {}): RestoredState {
  const last = terms[terms.length - 1] ?? 0;
  return {
    hardState: { term: hard.term ?? last, vote: hard.vote ?? '', commit: hard.commit ?? 0 },
    snapshot: null,
    entries: entriesWithTerms(terms),
  };
}

export function config(id: NodeId, voters: readonly NodeId[], overrides: Partial<RaftConfig> = {}): RaftConfig {
  return { ...defaultRaftConfig(id, voters), ...overrides };
}

/** ids returns n1..nN. */
export function ids(n: number): NodeId[] {
  return Array.from({ length: n }, (_, i) => `n${i + 1}`);
}

/** logTerms lists the terms of a node's in-memory log from its first index. */
export function logTerms(raft: Raft): number[] {
  return raft.entriesFrom(raft.status().firstIndex).map((e) => e.term);
}

/** outbox drains a lone node (no network): the messages of every pending Ready, in order. */
export function outbox(raft: Raft): Message[] {
  const out: Message[] = [];
  for (let guard = 0; raft.hasReady(); guard++) {
    if (guard > 1000) throw new Error(`outbox: ${raft.id} never quiet`);
    const rd = raft.ready();
    out.push(...rd.messages);
    raft.advance(rd);
  }
  return out;
}

// ---------------------------------------------------------------- storage

/**
 * MemoryStore is a node's durable state. A received snapshot replaces the
 * whole log (the core dropped its entries too); Ready entries replace stored
 * entries from their first index on.
 */
export class MemoryStore {
  hardState: HardState;
  snapshot: Snapshot | null;
  entries: Entry[];

  constructor(restored: RestoredState) {
    this.hardState = restored.hardState;
    this.snapshot = restored.snapshot;
    this.entries = [...restored.entries];
  }

  persist(rd: Ready): void {
    if (rd.snapshot !== null) {
      this.snapshot = rd.snapshot;
      this.entries = [];
    }
    const first = rd.entries[0];
    if (first !== undefined) {
      this.entries = this.entries.filter((e) => e.index < first.index).concat(rd.entries);
    }
    if (rd.hardState !== null) this.hardState = rd.hardState;
  }

  /** compact records the node's own snapshot; entries stay (a restart sees entries older than the snapshot). */
  compact(snapshot: Snapshot): void {
    this.snapshot = snapshot;
  }

  restored(): RestoredState {
    return { hardState: this.hardState, snapshot: this.snapshot, entries: [...this.entries] };
  }
}

// ---------------------------------------------------------------- peers

export type Applied =
  | { readonly kind: 'snapshot'; readonly index: number; readonly term: number; readonly data: Uint8Array }
  | { readonly kind: 'entry'; readonly entry: Entry };

/** Peer is one node: its core, its store and everything its Readies handed out. */
export class Peer {
  readonly store: MemoryStore;
  /** applied is the state machine's history: snapshots restored and entries applied, in order. */
  readonly applied: Applied[] = [];
  readonly readStates: ReadState[] = [];
  readonly droppedReads: number[] = [];
  /** commits lists every distinct commit index this node persisted, in order. */
  readonly commits: number[] = [];

  constructor(
    readonly id: NodeId,
    public raft: Raft,
    restored: RestoredState,
  ) {
    this.store = new MemoryStore(restored);
  }

  appliedEntries(): Entry[] {
    return this.applied.flatMap((a) => (a.kind === 'entry' ? [a.entry] : []));
  }
}

// ---------------------------------------------------------------- network

export interface NetworkOptions {
  readonly overrides?: Partial<RaftConfig>;
  /** Per-node overrides on top of `overrides`. */
  readonly perNode?: Readonly<Record<NodeId, Partial<RaftConfig>>>;
  /** Durable state each node starts from (FRESH when missing). */
  readonly restored?: Readonly<Record<NodeId, RestoredState>>;
  readonly seed?: number;
}

const MAX_DELIVERIES = 200_000;

export class Network {
  readonly peers = new Map<NodeId, Peer>();
  /** sent is every message a node handed out, in order, whether delivered or not. */
  readonly sent: Message[] = [];
  /** delivered is every message stepped into its target, after the hook. */
  readonly delivered: Message[] = [];
  /**
   * hook sees every message that passes the link filter: return it (possibly
   * rewritten) to deliver it, or null to drop it.
   */
  hook: ((m: Message) => Message | null) | null = null;

  private readonly blocked = new Set<string>();
  private readonly queue: Message[] = [];
  private readonly leaderOfTerm = new Map<number, NodeId>();
  private readonly appliedAt = new Map<number, string>();

  /** ids lists every node on the network: the initial members, then any added with addPeer. */
  readonly ids: NodeId[];

  constructor(private readonly initialIds: readonly NodeId[], private readonly opts: NetworkOptions = {}) {
    this.ids = [...initialIds];
    initialIds.forEach((id, i) => {
      const restored = opts.restored?.[id] ?? FRESH;
      const raft = new Raft(this.configFor(id), new SeededRng((opts.seed ?? 1) * 1000 + i), restored);
      this.peers.set(id, new Peer(id, raft, restored));
    });
  }

  static create(ids: readonly NodeId[], opts: NetworkOptions = {}): Network {
    return new Network(ids, opts);
  }

  configFor(id: NodeId): RaftConfig {
    return config(id, this.initialIds, { ...this.opts.overrides, ...this.opts.perNode?.[id], ...this.added.get(id) });
  }

  private readonly added = new Map<NodeId, Partial<RaftConfig>>();

  /**
   * addPeer starts a new, empty node on the network, as an operator starts a
   * member to add: its configuration names the initial members, and by
   * default it runs in join mode.
   */
  addPeer(id: NodeId, overrides: Partial<RaftConfig> = { joining: true }, restored: RestoredState = FRESH): Peer {
    this.added.set(id, overrides);
    this.ids.push(id);
    const raft = new Raft(this.configFor(id), new SeededRng(7_000 + this.ids.length), restored);
    const peer = new Peer(id, raft, restored);
    this.peers.set(id, peer);
    return peer;
  }

  peer(id: NodeId): Peer {
    const p = this.peers.get(id);
    if (p === undefined) throw new Error(`no node ${id}`);
    return p;
  }

  raft(id: NodeId): Raft {
    return this.peer(id).raft;
  }

  // ---------------------------------------------------------- faults

  /** drop blocks the one-way link from -> to. */
  drop(from: NodeId, to: NodeId): void {
    this.blocked.add(`${from}->${to}`);
  }

  /** cut blocks both directions between a and b. */
  cut(a: NodeId, b: NodeId): void {
    this.drop(a, b);
    this.drop(b, a);
  }

  /** isolate cuts `id` off from every other node. */
  isolate(id: NodeId): void {
    for (const other of this.ids) if (other !== id) this.cut(id, other);
  }

  /** recover heals every link (the hook stays). */
  recover(): void {
    this.blocked.clear();
  }

  /** restart rebuilds a node's core from its store, as after a crash (volatile state is lost). */
  restart(id: NodeId, seed = 99): Raft {
    const p = this.peer(id);
    p.raft = new Raft(this.configFor(id), new SeededRng(seed), p.store.restored());
    return p.raft;
  }

  // ---------------------------------------------------------- driving

  /** stabilize runs every node's Ready loop and delivers messages until the cluster is quiet. */
  stabilize(): void {
    for (const id of this.ids) this.drain(id);
    for (let n = 0; this.queue.length > 0; n++) {
      if (n > MAX_DELIVERIES) throw new Error('network: no quiescence after many deliveries');
      const m = this.queue.shift() as Message;
      if (this.blocked.has(`${m.from}->${m.to}`)) continue;
      const out = this.hook === null ? m : this.hook(m);
      if (out === null) continue;
      this.delivered.push(out);
      this.raft(out.to).step(out);
      this.drain(out.to);
    }
  }

  /** send injects messages (as if a node had sent them) and stabilizes. */
  send(...msgs: Message[]): void {
    this.queue.push(...msgs);
    this.stabilize();
  }

  /** tick advances the given nodes (all by default) by `times` ticks, stabilizing after each round. */
  tick(times = 1, only: readonly NodeId[] = this.ids): void {
    for (let t = 0; t < times; t++) {
      for (const id of only) this.raft(id).tick();
      this.stabilize();
    }
  }

  /** tickUntil ticks until `done` holds; returns the ticks it took, or throws after `max`. */
  tickUntil(done: () => boolean, max: number, only: readonly NodeId[] = this.ids): number {
    for (let t = 0; t <= max; t++) {
      if (done()) return t;
      this.tick(1, only);
    }
    throw new Error(`tickUntil: condition not reached in ${max} ticks`);
  }

  campaign(id: NodeId): void {
    this.raft(id).campaign();
    this.stabilize();
  }

  propose(id: NodeId, data: string | Uint8Array): ProposeResult {
    const result = this.raft(id).propose(typeof data === 'string' ? bytes(data) : data);
    this.stabilize();
    return result;
  }

  /** compact takes node `id`'s snapshot at `index`, as its shell would, and stores it. */
  compact(id: NodeId, index: number, data: Uint8Array, trailingEntries: number): number {
    const raft = this.raft(id);
    const compacted = raft.compact(index, data, trailingEntries);
    if (compacted === null) throw new Error(`compact(${index}) on ${id} did nothing: a snapshot at or beyond it exists`);
    this.peer(id).store.compact(compacted.snapshot);
    return compacted.firstIndex;
  }

  // ---------------------------------------------------------- views

  leaders(): NodeId[] {
    return this.ids.filter((id) => this.raft(id).status().role === 'leader');
  }

  // ---------------------------------------------------------- Ready loop

  private drain(id: NodeId): void {
    const p = this.peer(id);
    for (let guard = 0; p.raft.hasReady(); guard++) {
      if (guard > 10_000) throw new Error(`network: ${id} never runs out of Ready`);
      const rd = p.raft.ready();
      p.store.persist(rd);
      if (rd.hardState !== null && rd.hardState.commit !== p.commits[p.commits.length - 1]) {
        p.commits.push(rd.hardState.commit);
      }
      if (rd.softState?.role === 'leader') this.noteLeader(rd.softState.term, id);
      if (rd.snapshot !== null) {
        const { index, term } = rd.snapshot.meta;
        p.applied.push({ kind: 'snapshot', index, term, data: rd.snapshot.data });
      }
      for (const e of rd.committedEntries) {
        this.noteApplied(id, e);
        p.applied.push({ kind: 'entry', entry: e });
      }
      p.readStates.push(...rd.readStates);
      p.droppedReads.push(...rd.droppedReads);
      this.sent.push(...rd.messages);
      this.queue.push(...rd.messages);
      p.raft.advance(rd);
    }
  }

  /** Invariant: at most one leader per term. */
  private noteLeader(term: number, id: NodeId): void {
    const other = this.leaderOfTerm.get(term);
    if (other !== undefined && other !== id) throw new Error(`invariant: two leaders in term ${term}: ${other} and ${id}`);
    this.leaderOfTerm.set(term, id);
  }

  /** Invariant: the same entry is applied at an index on every node. */
  private noteApplied(id: NodeId, e: Entry): void {
    const key = `${e.term}/${e.type}/${text(e.data)}`;
    const seen = this.appliedAt.get(e.index);
    if (seen !== undefined && seen !== key) throw new Error(`invariant: ${id} applied ${key} at ${e.index}, another node applied ${seen}`);
    this.appliedAt.set(e.index, key);
  }
}

import type { SeededRng } from '../../src/raft/prng.js';
import type { Entry, ReadState, Snapshot } from '../../src/raft/types.js';
import { check, fail } from './assert.js';
import { fnv1a32 } from './hash.js';
import type { SimNode } from './node.js';

/**
 * Clients simulates a few clients. Each proposes unique payloads (`c1-17`)
 * to the node it believes leads, and sometimes issues a linearizable read.
 *
 * A proposal is ACKNOWLEDGED only when the proposing node applies an entry at
 * the returned index with the returned term. It FAILS (and the client retries
 * with a new payload) if that node applies another term there, crashes, loses
 * leadership, skips the index by installing a snapshot, or times out; a failed
 * proposal may still commit later, which is fine: its outcome is unknown.
 *
 * A read registered by readIndex(ctx) is served when the node has applied the
 * ReadState's index; it must then reflect every proposal acknowledged before
 * the read was issued (index at least the highest acknowledged index, and the
 * state machine's count of applied commands at least the number acknowledged).
 */

export interface ClientHost {
  readonly nowMs: number;
  readonly nodes: readonly SimNode[];
  scheduleClient(client: number, atMs: number): void;
  note(node: number, text: string): void;
}

export interface ClientProfile {
  readonly clientCount: number;
  readonly proposalIntervalMs: number;
  readonly readChance: number;
  readonly payloadPadMaxBytes: number;
}

export interface Ack {
  readonly payload: string;
  readonly dataHash: number;
  readonly index: number;
  readonly term: number;
  readonly node: number;
  readonly ackedMs: number;
}

export interface ClientStats {
  proposed: number;
  refused: number;
  acked: number;
  failed: number;
  readsIssued: number;
  readsServed: number;
  readsFailed: number;
}

interface Proposal {
  readonly payload: string;
  readonly dataHash: number;
  readonly node: number;
  readonly incarnation: number;
  readonly index: number;
  readonly term: number;
  readonly issuedMs: number;
}

interface Read {
  readonly client: number;
  readonly ctx: number;
  readonly node: number;
  readonly incarnation: number;
  readonly issuedMs: number;
  /** The highest acknowledged index and the number of acknowledgements when the read was issued. */
  readonly minIndex: number;
  readonly minCount: number;
}

class Client {
  target: number;
  seqNext = 0;
  proposal: Proposal | null = null;
  readCtx = -1;
  constructor(readonly idx: number, target: number) {
    this.target = target;
  }
}

const TIMEOUT_MS = 2_000;
const READS_OUTSTANDING_MAX = 4_096;
const PAD = 'abcdefghijklmnopqrstuvwxyz0123456789';

export class Clients {
  readonly acks: Ack[] = [];
  readonly stats: ClientStats = { proposed: 0, refused: 0, acked: 0, failed: 0, readsIssued: 0, readsServed: 0, readsFailed: 0 };
  maxAckedIndex = 0;
  /** Set in the liveness phase: only client 0 proposes, until one of its new proposals is acknowledged. */
  private livenessFromMs = Infinity;
  livenessAcked = false;
  private readonly clients: Client[] = [];
  /** Every read the cores may still answer, by ctx (clients may have given up on some). */
  private readonly reads = new Map<number, Read>();
  private ctxNext = 1;
  private readonly idxById = new Map<string, number>();

  constructor(private readonly profile: ClientProfile, private readonly rng: SeededRng, private readonly host: ClientHost) {
    for (const n of host.nodes) this.idxById.set(n.id, n.idx);
    for (let c = 0; c < profile.clientCount; c++) this.clients.push(new Client(c, rng.nextInt(host.nodes.length)));
  }

  start(): void {
    for (const c of this.clients) this.host.scheduleClient(c.idx, this.host.nowMs + this.rng.nextFloat() * this.profile.proposalIntervalMs);
  }

  startLiveness(): void {
    this.livenessFromMs = this.host.nowMs;
  }

  /** wake runs one client step: expire, maybe propose, maybe read, and schedule the next step. */
  wake(c: number): void {
    const client = this.clients[c] as Client;
    const now = this.host.nowMs;
    if (client.proposal !== null && now - client.proposal.issuedMs > TIMEOUT_MS) this.failProposal(client, 'timeout');
    if (client.readCtx >= 0) {
      const read = this.reads.get(client.readCtx);
      if (read === undefined || now - read.issuedMs > TIMEOUT_MS) client.readCtx = -1;
    }
    const liveness = now >= this.livenessFromMs;
    const active = !liveness || (c === 0 && !this.livenessAcked);
    if (active && client.proposal === null) this.propose(client);
    if (!liveness && client.readCtx < 0 && this.profile.readChance > 0 && this.rng.chance(this.profile.readChance)) this.read(client);
    if (active || client.proposal !== null) {
      this.host.scheduleClient(c, now + this.profile.proposalIntervalMs * (0.5 + this.rng.nextFloat()));
    }
  }

  onApplied(node: SimNode, entry: Entry): void {
    for (const client of this.clients) {
      const p = client.proposal;
      if (p === null || p.node !== node.idx || p.index !== entry.index || p.incarnation !== node.incarnation) continue;
      if (entry.term !== p.term) {
        this.failProposal(client, `overwritten by t${entry.term}`);
        continue;
      }
      const dataHash = fnv1a32(entry.data);
      if (!(dataHash === p.dataHash && entry.type === 'normal')) fail(`client ${client.idx}: ${node.id} applied ${entry.index}@t${entry.term} but it is not proposal ${p.payload}`);
      const ack: Ack = { payload: p.payload, dataHash, index: p.index, term: p.term, node: node.idx, ackedMs: this.host.nowMs };
      this.acks.push(ack);
      this.stats.acked++;
      if (p.index > this.maxAckedIndex) this.maxAckedIndex = p.index;
      if (p.issuedMs >= this.livenessFromMs) this.livenessAcked = true;
      client.proposal = null;
      this.host.note(node.idx, `client ${client.idx} acked ${p.payload} at ${p.index}@t${p.term}`);
    }
  }

  onSnapshotRestored(node: SimNode, snap: Snapshot): void {
    for (const client of this.clients) {
      const p = client.proposal;
      if (p !== null && p.node === node.idx && p.index <= snap.meta.index) this.failProposal(client, 'skipped by snapshot');
    }
  }

  onLeadershipLost(node: SimNode): void {
    for (const client of this.clients) {
      if (client.proposal !== null && client.proposal.node === node.idx) this.failProposal(client, 'leadership lost');
    }
  }

  onNodeDown(node: SimNode): void {
    this.onLeadershipLost(node);
    for (const [ctx, read] of this.reads) {
      if (read.node === node.idx) this.failRead(ctx, 'node down');
    }
  }

  onReadServed(node: SimNode, rs: ReadState): void {
    const read = this.reads.get(rs.ctx);
    if (read === undefined) fail(`${node.id}: served read ctx ${rs.ctx} that nobody issued (or it was already answered)`);
    if (!(read.node === node.idx && read.incarnation === node.incarnation)) fail(`${node.id}: served read ctx ${rs.ctx} issued to ${this.host.nodes[read.node]?.id} incarnation ${read.incarnation}`);
    this.reads.delete(rs.ctx);
    const sm = node.sm;
    if (rs.index < read.minIndex) fail(`linearizability: read ${rs.ctx} on ${node.id} served at index ${rs.index}, below acknowledged index ${read.minIndex} (acked before the read was issued)`);
    if (sm.lastApplied < rs.index) fail(`${node.id}: read ${rs.ctx} served at applied ${sm.lastApplied} < read index ${rs.index}`);
    if (sm.appliedCount < read.minCount) fail(`linearizability: read ${rs.ctx} on ${node.id} sees ${sm.appliedCount} commands, but ${read.minCount} were acknowledged before it was issued`);
    this.stats.readsServed++;
    const client = this.clients[read.client] as Client;
    if (client.readCtx === rs.ctx) client.readCtx = -1;
  }

  onReadDropped(node: SimNode, ctx: number): void {
    const read = this.reads.get(ctx);
    if (!(read !== undefined && read.node === node.idx)) fail(`${node.id}: dropped read ctx ${ctx} it was never asked`);
    this.failRead(ctx, 'dropped');
  }

  private propose(client: Client): void {
    const node = this.host.nodes[client.target] as SimNode;
    if (!node.up || node.paused) {
      // Connection refused, or no answer in time: try someone else next time.
      client.target = this.rng.nextInt(this.host.nodes.length);
      return;
    }
    const payload = this.payload(client);
    const data = asciiBytes(payload);
    const res = node.propose(data);
    if (!res.ok) {
      this.stats.refused++;
      const hinted = res.leader === null ? undefined : this.idxById.get(res.leader);
      client.target = hinted ?? this.rng.nextInt(this.host.nodes.length);
      return;
    }
    this.stats.proposed++;
    client.proposal = {
      payload, dataHash: fnv1a32(data), node: node.idx, incarnation: node.incarnation,
      index: res.index, term: res.term, issuedMs: this.host.nowMs,
    };
    this.host.note(node.idx, `client ${client.idx} proposed ${payload} -> ${res.index}@t${res.term}`);
  }

  private read(client: Client): void {
    const node = this.host.nodes[client.target] as SimNode;
    if (!node.up || node.paused) return;
    if (this.reads.size >= READS_OUTSTANDING_MAX) fail(`clients: more than ${READS_OUTSTANDING_MAX} reads outstanding`);
    const ctx = this.ctxNext++;
    const read: Read = {
      client: client.idx, ctx, node: node.idx, incarnation: node.incarnation, issuedMs: this.host.nowMs,
      minIndex: this.maxAckedIndex, minCount: this.acks.length,
    };
    this.reads.set(ctx, read);
    if (!node.readIndex(ctx)) {
      this.reads.delete(ctx);
      return;
    }
    this.stats.readsIssued++;
    client.readCtx = ctx;
  }

  private payload(client: Client): string {
    let s = `c${client.idx}-${client.seqNext++}`;
    const pad = this.profile.payloadPadMaxBytes > 0 ? this.rng.nextInt(this.profile.payloadPadMaxBytes + 1) : 0;
    if (pad > 0) {
      s += ':';
      for (let i = 0; i < pad; i++) s += PAD[this.rng.nextInt(PAD.length)];
    }
    return s;
  }

  private failProposal(client: Client, reason: string): void {
    const p = client.proposal;
    check(p !== null, 'clients: failing a proposal that is not pending');
    this.stats.failed++;
    client.proposal = null;
    this.host.note(p.node, `client ${client.idx} proposal ${p.payload} at ${p.index}@t${p.term} failed: ${reason}`);
  }

  private failRead(ctx: number, reason: string): void {
    const read = this.reads.get(ctx);
    check(read !== undefined, 'clients: failing an unknown read');
    this.reads.delete(ctx);
    this.stats.readsFailed++;
    const client = this.clients[read.client] as Client;
    if (client.readCtx === ctx) client.readCtx = -1;
    this.host.note(read.node, `read ${ctx} failed: ${reason}`);
  }
}

/** asciiBytes encodes an ASCII payload (cheaper than TextEncoder for tiny strings). */
function asciiBytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f) fail(`clients: payload '${s}' is not ASCII`);
    out[i] = c;
  }
  return out;
}

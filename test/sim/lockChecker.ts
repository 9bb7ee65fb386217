import type { ApplyResult, CommandResult } from '../../src/lock/results.js';
import type { Entry, ReadState } from '../../src/raft/types.js';
import { fail } from './assert.js';
import type { Checker } from './checker.js';
import type { SimNode } from './node.js';
import { formatOp, type ClientRequest, type LoggedOp, type ReplyBody } from './packets.js';

/**
 * LockChecker holds the lock service's invariants, checked as they become
 * observable: on every apply on every node, and on every reply a node sends
 * (what a node tells a client is what the client will act on, whether or not
 * the reply arrives).
 *
 * On every apply:
 * - the state machine's own invariants (checkInvariants), and independently:
 *   no lock it touched has two exclusive holders, or exclusive plus shared;
 * - the same entry gives the same ApplyResult on every node;
 * - every new grant (granted, promoted) has token = the entry's index, above
 *   every token that node granted before; a retried grant names a grant
 *   some entry really made;
 * - no grant or promotion to a lease outside its lifetime (between the entry
 *   that created it and the one that removed it; ids are never reused by
 *   clients, but a retried grant delayed past the lease's expiry may create
 *   the id again, and is counted);
 * - LEASE SAFETY: an ExpireLease that takes effect is applied no earlier than
 *   protectedUntilMs = max over acknowledged keepalives and the acknowledged
 *   grant of (client send time + ttl). Revokes by the owner do not count.
 *
 * On every reply:
 * - a result names the entry (index, term) the client's own command was
 *   applied at (the acknowledged-proposal check, kept for the final
 *   durability check);
 * - a grant a client is told about (granted, promoted, or a withdraw that
 *   found the lock held) was made by the entry at its token, which is applied
 *   and stays in the committed log;
 * - an acknowledged keepalive or grant extends its lease's protection, and
 *   must not come after the lease was already expired within it.
 *
 * Reads (ReadIndex rounds confirming keepalives) are linearizable: served at
 * an index at least the highest one acknowledged before the read was issued.
 */

export interface LockStats {
  /** Leases created (not idempotent retries), and ids created again by a late retry. */
  leasesGranted: number;
  leasesRecreated: number;
  /** Locks granted by an Acquire, and waiters granted by a Release, Expire, Revoke or Withdraw. */
  grants: number;
  promotions: number;
  expiries: number;
  staleExpiries: number;
  /** Stale expiries that would have cut a protected lease short, had the state machine not ignored them. */
  staleExpiriesGuarded: number;
  revokes: number;
  waitsWithdrawn: number;
  keepalivesAcked: number;
  /** Replies that carried a command's result (acknowledged proposals). */
  resultsAcked: number;
}

export function emptyLockStats(): LockStats {
  return {
    leasesGranted: 0, leasesRecreated: 0, grants: 0, promotions: 0, expiries: 0, staleExpiries: 0, staleExpiriesGuarded: 0,
    revokes: 0, waitsWithdrawn: 0, keepalivesAcked: 0, resultsAcked: 0,
  };
}

/** Ack is an entry a client was told about: it must stay applied at (index, term) with this content. */
export interface Ack {
  readonly index: number;
  readonly term: number;
  readonly hash: number;
  readonly what: string;
}

/** LeaseLife is one lifetime of a lease id, by the indexes of the entries that created and removed it. */
interface LeaseLife {
  readonly leaseId: number;
  readonly createdIndex: number;
  readonly ttlMs: number;
  /** removedIndex: Infinity while alive. */
  removedIndex: number;
  protectedUntilMs: number;
  /** protectedBy: which acknowledgement set protectedUntilMs, for the failure message. */
  protectedBy: string;
  /** expiredAtMs: the earliest time any node applied the expiry that removed it (Infinity if none). */
  expiredAtMs: number;
}

export class LockChecker {
  readonly stats: LockStats = emptyLockStats();
  readonly acks: Ack[] = [];
  maxAckedIndex = 0;
  /** index -> the ApplyResult there (the first node to apply it records it). */
  private readonly resultAt: ApplyResult[] = [];
  private readonly lives = new Map<number, LeaseLife[]>();
  /** token -> "leaseId/name" of every grant made by the entry at that index. */
  private readonly grantsAt = new Map<number, string[]>();
  /** Per node: the highest token granted by this incarnation. */
  private readonly lastToken: number[] = [];
  /** Per node: read ctx -> the highest acknowledged index when it was issued. */
  private readonly reads: Map<number, number>[] = [];

  constructor(
    nodes: readonly SimNode[],
    private readonly raft: Checker,
    private readonly now: () => number,
  ) {
    for (let i = 0; i < nodes.length; i++) {
      this.lastToken.push(0);
      this.reads.push(new Map());
    }
  }

  /** nodeCrashed forgets the node's volatile state: a restarted node re-applies entries after its snapshot. */
  nodeCrashed(node: SimNode): void {
    this.lastToken[node.idx] = 0;
    (this.reads[node.idx] as Map<number, number>).clear();
  }

  // ------------------------------------------------------------ applies

  applied(node: SimNode, e: Entry, r: ApplyResult | null): void {
    if (r === null) return;
    const first = this.sameResult(node, e, r);
    node.service.sm.checkInvariants();
    this.checkTouchedLocks(node, r);
    this.checkGrants(node, e, r, first);
    this.followLives(node, e, r, first);
    if (first) this.count(r);
  }

  /** sameResult compares the result with other nodes' at this index; true for the first node to apply it. */
  private sameResult(node: SimNode, e: Entry, r: ApplyResult): boolean {
    const known = this.resultAt[e.index];
    if (known === undefined) {
      this.resultAt[e.index] = r;
      return true;
    }
    if (!sameValue(known, r)) fail(`state machine safety: ${node.id} applied ${e.index}@t${e.term} with result ${JSON.stringify(r)}, another node had ${JSON.stringify(known)}`);
    return false;
  }

  private checkTouchedLocks(node: SimNode, r: ApplyResult): void {
    const res = r.result;
    if ('name' in res) this.checkExclusion(node, res.name);
    if (res.kind === 'lease-expired' || res.kind === 'lease-revoked') {
      for (const name of res.locksReleased) this.checkExclusion(node, name);
      for (const name of res.waitsCancelled) this.checkExclusion(node, name);
    }
    for (const p of r.promoted) this.checkExclusion(node, p.name);
  }

  /** checkExclusion: one exclusive holder, or only shared ones; waiters only behind holders. */
  private checkExclusion(node: SimNode, name: string): void {
    const lock = node.service.sm.getLock(name);
    if (lock === null) return;
    let exclusive = 0;
    for (const h of lock.holders) if (h.mode === 'exclusive') exclusive++;
    if (exclusive > 0 && lock.holders.length > 1) {
      fail(`mutual exclusion: on ${node.id} lock ${JSON.stringify(name)} is held by ${lock.holders.map((h) => `L${h.leaseId}(${h.mode}, token ${h.token})`).join(', ')}`);
    }
    if (lock.holders.length === 0 && lock.waiters.length > 0) fail(`on ${node.id} lock ${JSON.stringify(name)} has waiters but no holder`);
  }

  private checkGrants(node: SimNode, e: Entry, r: ApplyResult, first: boolean): void {
    const res = r.result;
    const before = this.lastToken[node.idx] as number;
    let granted = false;
    if (res.kind === 'granted') {
      if (res.existing) {
        if (!(res.token < e.index && this.hasGrant(res.token, res.leaseId, res.name))) {
          fail(`${node.id} at ${e.index}: a retried Acquire returned token ${res.token} for L${res.leaseId} on ${res.name}, which no entry granted`);
        }
      } else {
        this.newGrant(node, e, res.leaseId, res.name, res.token, before, first);
        granted = true;
      }
    }
    for (const p of r.promoted) {
      this.newGrant(node, e, p.leaseId, p.name, p.token, before, first);
      granted = true;
    }
    if (granted) this.lastToken[node.idx] = e.index;
    if (res.kind === 'not-waiting' && res.heldToken !== null && !this.hasGrant(res.heldToken, res.leaseId, res.name)) {
      fail(`${node.id} at ${e.index}: withdraw found L${res.leaseId} holding ${res.name} with token ${res.heldToken}, which no entry granted`);
    }
  }

  private newGrant(node: SimNode, e: Entry, leaseId: number, name: string, token: number, before: number, first: boolean): void {
    if (token !== e.index) fail(`fencing: ${node.id} granted ${name} to L${leaseId} with token ${token} at entry ${e.index}`);
    if (token <= before) fail(`fencing: ${node.id} granted ${name} with token ${token}, not above its earlier grant ${before}`);
    const life = this.lifeAt(leaseId, e.index);
    if (life === null) fail(`${node.id} at ${e.index}: granted ${name} to L${leaseId} outside its lifetime (${this.describeLives(leaseId)})`);
    if (!first) return;
    const key = `${leaseId}/${name}`;
    const at = this.grantsAt.get(token);
    if (at === undefined) this.grantsAt.set(token, [key]);
    else at.push(key);
  }

  private hasGrant(token: number, leaseId: number, name: string): boolean {
    return this.grantsAt.get(token)?.includes(`${leaseId}/${name}`) === true;
  }

  private followLives(node: SimNode, e: Entry, r: ApplyResult, first: boolean): void {
    const res = r.result;
    switch (res.kind) {
      case 'lease-granted':
        if (!res.existing && first) this.openLife(node, res.leaseId, e.index, res.ttlMs);
        return;
      case 'lease-expired':
        return this.leaseExpired(node, e, res.leaseId);
      case 'lease-revoked':
        this.closeLife(node, e, res.leaseId);
        return;
      case 'stale-expiry':
        if (first && this.wouldCutShort(res.leaseId, e.index)) this.stats.staleExpiriesGuarded++;
        return;
      default:
        return;
    }
  }

  /** wouldCutShort: had it taken effect, an expiry applied now would have violated lease safety (the term guard mattered). */
  private wouldCutShort(leaseId: number, index: number): boolean {
    const life = this.lifeAt(leaseId, index);
    return life !== null && this.now() < life.protectedUntilMs;
  }

  private openLife(node: SimNode, leaseId: number, index: number, ttlMs: number): void {
    let lives = this.lives.get(leaseId);
    if (lives === undefined) {
      lives = [];
      this.lives.set(leaseId, lives);
    }
    const last = lives[lives.length - 1];
    if (last !== undefined) {
      if (last.removedIndex === Infinity) fail(`${node.id} at ${index}: created L${leaseId}, which already exists since ${last.createdIndex}`);
      this.stats.leasesRecreated++;
    }
    lives.push({ leaseId, createdIndex: index, ttlMs, removedIndex: Infinity, protectedUntilMs: -Infinity, protectedBy: 'nothing', expiredAtMs: Infinity });
  }

  /** closeLife finds the life the entry at e.index removes, and marks it removed there. */
  private closeLife(node: SimNode, e: Entry, leaseId: number): LeaseLife {
    const life = this.lives.get(leaseId)?.find((l) => l.createdIndex < e.index && (l.removedIndex === Infinity || l.removedIndex === e.index));
    if (life === undefined) fail(`${node.id} at ${e.index}: removed L${leaseId}, which is not alive there (${this.describeLives(leaseId)})`);
    life.removedIndex = e.index;
    return life;
  }

  /** leaseExpired is the LEASE SAFETY check: an expiry takes effect only after every acknowledged protection. */
  private leaseExpired(node: SimNode, e: Entry, leaseId: number): void {
    const life = this.closeLife(node, e, leaseId);
    const now = this.now();
    if (now < life.protectedUntilMs) {
      fail(`lease safety: ${node.id} applied the expiry of L${leaseId} (ttl ${life.ttlMs}ms) at ${now.toFixed(3)}ms (entry ${e.index}@t${e.term}), ` +
        `but it is protected until ${life.protectedUntilMs.toFixed(3)}ms by ${life.protectedBy}`);
    }
    if (now < life.expiredAtMs) life.expiredAtMs = now;
  }

  /** lifeAt returns the life of the lease that is alive at `index`, or null. */
  private lifeAt(leaseId: number, index: number): LeaseLife | null {
    const lives = this.lives.get(leaseId);
    if (lives === undefined) return null;
    for (const l of lives) if (l.createdIndex < index && index < l.removedIndex) return l;
    return null;
  }

  private describeLives(leaseId: number): string {
    const lives = this.lives.get(leaseId) ?? [];
    if (lives.length === 0) return 'never created';
    return lives.map((l) => `created ${l.createdIndex}, removed ${l.removedIndex === Infinity ? '-' : l.removedIndex}`).join('; ');
  }

  private count(r: ApplyResult): void {
    const s = this.stats;
    const res = r.result;
    if (res.kind === 'granted' && !res.existing) s.grants++;
    s.promotions += r.promoted.length;
    switch (res.kind) {
      case 'lease-granted': if (!res.existing) s.leasesGranted++; return;
      case 'lease-expired': s.expiries++; return;
      case 'lease-revoked': s.revokes++; return;
      case 'stale-expiry': s.staleExpiries++; return;
      case 'withdrawn': s.waitsWithdrawn++; return;
      default: return;
    }
  }

  // ------------------------------------------------------------ replies

  /** replySent checks what a node tells a client, as it is sent. */
  replySent(node: SimNode, req: ClientRequest, body: ReplyBody): void {
    switch (body.kind) {
      case 'result':
        return this.resultAcked(node, req, body);
      case 'keepalive-ok':
        this.stats.keepalivesAcked++;
        return this.protect(node, req.op.leaseId, body.grantedIndex, req.countFromMs + body.ttlMs, `a keepalive sent at ${req.countFromMs.toFixed(3)}ms (c${req.client}#${req.reqId}, acked by ${node.id})`);
      case 'promoted':
        return this.grantTold(node, body.leaseId, body.name, body.token);
      default:
        return;
    }
  }

  /** resultAcked: the reply names the entry the client's own command was applied at, with the result every node got there. */
  private resultAcked(node: SimNode, req: ClientRequest, body: Extract<ReplyBody, { kind: 'result' }>): void {
    const op = req.op;
    if (op.kind === 'keepalive') fail(`${node.id}: answered keepalive c${req.client}#${req.reqId} with a log result`);
    const applied = this.raft.appliedAt(body.index);
    const known = this.resultAt[body.index];
    const res = body.result;
    if (!(applied !== undefined && applied.term === body.term && known !== undefined && sameValue(known.result, res) && resultIsFor(op, res))) {
      fail(`${node.id}: answered c${req.client}#${req.reqId} (${formatOp(op)}) with ${body.index}@t${body.term}: ${JSON.stringify(res)}, ` +
        `but ${applied === undefined ? 'nothing' : `${body.index}@t${applied.term}`} was applied there with ${JSON.stringify(known?.result)}`);
    }
    this.ack(body.index, body.term, applied.hash, `c${req.client}#${req.reqId}`);
    this.stats.resultsAcked++;
    if (res.kind === 'lease-granted') {
      this.protect(node, res.leaseId, res.grantedIndex, req.countFromMs + res.ttlMs, `a grant first sent at ${req.countFromMs.toFixed(3)}ms (c${req.client}#${req.reqId}, acked by ${node.id})`);
    } else if (res.kind === 'granted') {
      this.grantTold(node, res.leaseId, res.name, res.token);
    } else if (res.kind === 'not-waiting' && res.heldToken !== null) {
      this.grantTold(node, res.leaseId, res.name, res.heldToken);
    }
  }

  /** grantTold: a grant a client hears of was made by the entry at its token, which is applied and committed. */
  private grantTold(node: SimNode, leaseId: number, name: string, token: number): void {
    if (!this.hasGrant(token, leaseId, name)) fail(`${node.id} told L${leaseId} it holds ${name} with token ${token}, but no applied entry granted that`);
    const applied = this.raft.appliedAt(token);
    const committed = this.raft.committedTermAt(token);
    if (applied === undefined || !(committed === undefined || committed === applied.term)) {
      fail(`${node.id} told L${leaseId} of its grant at ${token}, which is not in the committed log (applied t${String(applied?.term)}, committed t${String(committed)})`);
    }
    this.ack(token, applied.term, applied.hash, `grant of ${name} to L${leaseId}`);
  }

  /** protect records an acknowledged protection: none may come after the lease was already expired within it. */
  private protect(node: SimNode, leaseId: number, grantedIndex: number, untilMs: number, by: string): void {
    const life = this.lives.get(leaseId)?.find((l) => l.createdIndex === grantedIndex);
    if (life === undefined) fail(`${node.id} acknowledged ${by} for L${leaseId} granted at ${grantedIndex}, which no node applied`);
    if (life.expiredAtMs < untilMs) {
      fail(`lease safety: ${node.id} acknowledged ${by} for L${leaseId}, protecting it until ${untilMs.toFixed(3)}ms, but it was already expired at ${life.expiredAtMs.toFixed(3)}ms`);
    }
    if (untilMs > life.protectedUntilMs) {
      life.protectedUntilMs = untilMs;
      life.protectedBy = by;
    }
  }

  private ack(index: number, term: number, hash: number, what: string): void {
    this.acks.push({ index, term, hash, what });
    if (index > this.maxAckedIndex) this.maxAckedIndex = index;
  }

  // ------------------------------------------------------------ reads

  readIssued(node: SimNode, ctx: number): void {
    (this.reads[node.idx] as Map<number, number>).set(ctx, this.maxAckedIndex);
  }

  readServed(node: SimNode, rs: ReadState): void {
    const reads = this.reads[node.idx] as Map<number, number>;
    const minIndex = reads.get(rs.ctx);
    if (minIndex === undefined) fail(`${node.id}: served read ctx ${rs.ctx} that it never issued (or already answered)`);
    reads.delete(rs.ctx);
    if (rs.index < minIndex) fail(`linearizability: read ${rs.ctx} on ${node.id} served at index ${rs.index}, below ${minIndex}, acknowledged before the read was issued`);
    if (node.service.lastApplied < rs.index) fail(`${node.id}: read ${rs.ctx} served at applied ${node.service.lastApplied} < read index ${rs.index}`);
  }

  readDropped(node: SimNode, ctx: number): void {
    if (!(this.reads[node.idx] as Map<number, number>).delete(ctx)) fail(`${node.id}: dropped read ctx ${ctx} it never issued`);
  }
}

/** resultIsFor: a result of the kind the command can give, about the same lease (and lock). */
function resultIsFor(op: LoggedOp, res: CommandResult): boolean {
  if ('leaseId' in res && res.leaseId !== op.leaseId) return false;
  if ('name' in res && 'name' in op && res.name !== op.name) return false;
  switch (op.kind) {
    case 'grant': return res.kind === 'lease-granted' || res.kind === 'lease-id-conflict' || res.kind === 'invalid-ttl' || res.kind === 'limit-exceeded';
    case 'revoke': return res.kind === 'lease-revoked' || res.kind === 'lease-not-found';
    case 'release': return res.kind === 'released' || res.kind === 'not-holder' || res.kind === 'stale-token' || res.kind === 'lease-not-found';
    case 'withdraw': return res.kind === 'withdrawn' || res.kind === 'not-waiting';
    case 'acquire':
      return ['granted', 'queued', 'held', 'mode-mismatch', 'lease-not-found', 'limit-exceeded', 'invalid-name'].includes(res.kind);
  }
}

/** sameValue compares plain data (results are plain objects, arrays, strings, numbers, booleans, null) without allocating. */
function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameValue(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  let keys = 0;
  for (const k in x) {
    keys++;
    if (!sameValue(x[k], y[k])) return false;
  }
  for (const _ in y) keys--;
  return keys === 0;
}

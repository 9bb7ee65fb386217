import type { CheckResult, History, Op } from '../history.js';
import { describeOp } from './describe.js';
import {
  bindToken,
  describeModel,
  EMPTY_MODEL,
  enqueue,
  grant,
  grantableNow,
  heldBy,
  isDead,
  kill,
  matchGet,
  modelKey,
  promote,
  removeHolder,
  removeWaiter,
  settlePromotion,
  waitingBy,
  type ModelState,
} from './lockModel.js';
import { ALL_PENDING, DONE, markDone, PENDING, QUEUED, setStatus, statusKey, statusOf, type OpStatus } from './opStatus.js';

/**
 * Checker 1: acquire / release / get are linearizable against the lock model
 * (lockModel.ts), lock by lock. A Wing–Gong / Lowe style search with
 * memoisation (as Porcupine does): a depth-first walk over "which op takes
 * effect next", allowed only when no unfinished op completed before the next
 * one was invoked, and a memo of every (op statuses, model state) pair already
 * explored, so each configuration is expanded once. A budget on configurations
 * makes a pathological history answer "unknown" instead of hanging.
 *
 * What each outcome lets the search do:
 * - ok: takes effect exactly once between invoke and complete. A waiting
 *   acquire takes effect twice: it joins the queue, and it is granted by
 *   whatever frees the lock (a release, a withdrawal, an expiry) — both before
 *   it completes.
 * - unknown: may take effect at any time after invoke, or never.
 * - fail: nothing happened, but a refusal still says something: "held" needs
 *   the lock to be ungrantable for that lease at some point, "lease not
 *   found" needs the lease gone (or, for a wait, queued and then cancelled
 *   by the lease's death), and an acquire whose wait ran out may have queued
 *   and then withdrawn. Other failures carry no claim and are skipped.
 * - A lease may expire at any moment (its timing is checker 2's business):
 *   the search may kill any lease on the lock at any step, which drops its
 *   holds and queued waits and promotes the next waiters.
 */

export interface LinearizabilityOptions {
  /** Configurations a lock's search may expand before it answers "unknown". */
  readonly maxStatesPerLock: number;
  /** Configurations the search may carry across one cut before it answers "unknown". */
  readonly maxCarriedPerCut: number;
  /**
   * 'whole': one depth-first search a lock; 'segmented': cut at `cutPoints`
   * and carry every configuration across each cut; 'whole-then-segmented'
   * (default): the segmented search runs only when the whole one exhausts its
   * budget. Both searches are exact, so either one's verdict is the answer.
   */
  readonly strategy: SearchStrategy;
}

export type SearchStrategy = 'whole' | 'segmented' | 'whole-then-segmented';

export const DEFAULT_MAX_STATES_PER_LOCK = 200_000;
export const DEFAULT_MAX_CARRIED_PER_CUT = 10_000;

type Role =
  | 'acquire-ok'
  | 'acquire-held'
  | 'acquire-gone'
  | 'acquire-deadline'
  | 'acquire-unknown'
  | 'release-ok'
  | 'release-unknown'
  | 'get-ok'
  | 'revoke-ok';

interface LinOp {
  readonly op: Op;
  readonly role: Role;
  readonly lease: string;
  readonly invokeMs: number;
  /** completeMs for ops that must have taken effect; Infinity for unknown ones. */
  readonly deadlineMs: number;
  readonly obligated: boolean;
}

interface Config {
  readonly state: ModelState;
  readonly status: OpStatus;
}

/** A queued wait may be withdrawn (its wait ran out, or its client went away) unless its op says it was granted or ended by its lease's death. */
const WITHDRAWABLE: ReadonlySet<Role> = new Set(['acquire-unknown', 'acquire-deadline']);

const HELD_CODE = /held/i;
const GONE_CODE = /LeaseNotFound|NOT_FOUND/i;
const DEADLINE_CODE = /Deadline|DEADLINE_EXCEEDED/i;

function roleOf(op: Op): Role | null {
  const code = op.error?.code ?? '';
  switch (op.kind) {
    case 'acquire':
      if (op.outcome === 'unknown') return 'acquire-unknown';
      if (op.outcome === 'ok') return op.result?.token === undefined ? null : 'acquire-ok';
      if (HELD_CODE.test(code)) return 'acquire-held';
      if (GONE_CODE.test(code)) return 'acquire-gone';
      if (DEADLINE_CODE.test(code) && op.wait === true) return 'acquire-deadline';
      return null;
    case 'release':
      if (op.token === undefined) return null;
      return op.outcome === 'ok' ? 'release-ok' : op.outcome === 'unknown' ? 'release-unknown' : null;
    case 'get':
      return op.outcome === 'ok' ? 'get-ok' : null;
    case 'revoke':
      return op.outcome === 'ok' ? 'revoke-ok' : null;
    default:
      return null;
  }
}

function toLinOp(op: Op, role: Role): LinOp {
  const obligated = op.outcome !== 'unknown';
  return {
    op,
    role,
    lease: op.leaseId ?? '',
    invokeMs: op.invokeMs,
    deadlineMs: obligated && op.completeMs !== null ? op.completeMs : Infinity,
    obligated,
  };
}

/** opsByLock splits the history into one sub-history a lock, with the revokes of the leases it saw. */
function opsByLock(history: History): Map<string, LinOp[]> {
  const byLock = new Map<string, LinOp[]>();
  const leasesByLock = new Map<string, Set<string>>();
  for (const op of history.ops) {
    if (op.lock === undefined || (op.kind !== 'acquire' && op.kind !== 'release' && op.kind !== 'get')) continue;
    if (!byLock.has(op.lock)) byLock.set(op.lock, []);
    if (!leasesByLock.has(op.lock)) leasesByLock.set(op.lock, new Set());
    const role = roleOf(op);
    if (role !== null) byLock.get(op.lock)!.push(toLinOp(op, role));
    if (op.leaseId !== undefined) leasesByLock.get(op.lock)!.add(op.leaseId);
  }
  for (const op of history.ops) {
    const role = roleOf(op);
    if (role !== 'revoke-ok' || op.leaseId === undefined) continue;
    for (const [lock, leases] of leasesByLock) if (leases.has(op.leaseId)) byLock.get(lock)!.push(toLinOp(op, role));
  }
  for (const ops of byLock.values()) ops.sort((a, b) => a.invokeMs - b.invokeMs || a.op.id - b.op.id);
  return byLock;
}

/**
 * cutPoints answers the op indices where the search can be cut (ascending,
 * ending with ops.length): index k is a cut when every op that must have
 * taken effect and was invoked before op k completed strictly before op k
 * was invoked. Then no order may place op k or a later op while an earlier
 * obligated op is still unplaced (the frontier rule: nothing invoked after the
 * earliest unplaced deadline goes first), so every linearization passes
 * through a configuration where all obligated ops before k are done and
 * nothing from k on is placed. Ops of unknown outcome are no obstacle: they
 * stay open in the carried configurations (see `LockSearch.run`).
 */
export function cutPoints(ops: readonly { readonly invokeMs: number; readonly deadlineMs: number; readonly obligated: boolean }[]): number[] {
  const cuts: number[] = [];
  let latestDeadlineMs = -Infinity;
  for (let k = 0; k < ops.length; k++) {
    if (k > 0 && latestDeadlineMs < ops[k]!.invokeMs) cuts.push(k);
    if (ops[k]!.obligated) latestDeadlineMs = Math.max(latestDeadlineMs, ops[k]!.deadlineMs);
  }
  cuts.push(ops.length);
  return cuts;
}

export interface SearchBounds {
  /** Configurations one lock's search may expand (over all its segments). */
  readonly maxStates: number;
  /** Configurations the search may carry across one cut. */
  readonly maxCarried: number;
  /** Cut at `cutPoints`; false searches the lock as one segment (a plain depth-first search). */
  readonly segmented: boolean;
}

/** What one lock's search says, and the figures that say why it is trusted. */
export interface LockVerdict {
  readonly verdict: 'ok' | 'violation' | 'unknown';
  /** Why an 'unknown' is unknown. */
  readonly bound?: 'states' | 'carried';
  readonly segments: number;
  /** Segments fully searched (all of them for 'ok'; where it stopped otherwise). */
  readonly segmentsSearched: number;
  readonly largestSegmentOps: number;
  /** The most configurations carried across one cut. */
  readonly largestCarried: number;
  readonly explored: number;
}

/**
 * LockSearch explores one lock's sub-history, segment by segment.
 *
 * Why segmenting is sound (it answers exactly what one search over the whole
 * history would): the search is "is there a path of moves from the empty
 * model to a configuration where every obligated op is done". Split any such
 * path at the first move that places an op at or after a cut k: by the
 * frontier rule (see `cutPoints`) every obligated op before k is done there
 * and no op from k on has been placed, so that configuration is one of the
 * configurations the segment before k can reach and stop at. The search of a
 * segment therefore enumerates the *set of all* such configurations (model
 * state plus the statuses of the ops still open: unknown ops that may yet
 * take effect, queued waits that may yet be withdrawn), not one witness, and
 * the next segment starts from every one of them. Every move the whole search
 * could make from there (placing a later op, an earlier unknown op, a lease's
 * death, a withdrawal) is a move the next segment's search makes too, so a
 * path exists iff the last segment reaches a finished configuration from some
 * carried one. A violation is an empty set; a set larger than `maxCarried`
 * answers 'unknown', never 'ok'. What segmenting buys: each segment's memo
 * is dropped at the cut, and the work is a sum over segments instead of a
 * product of their choices in a depth-first walk.
 */
class LockSearch {
  private seen = new Set<string>();
  private best: Config;
  private bestDone = -1;
  explored = 0;
  /** obligatedBefore[i]: obligated ops among ops[0..i). */
  private readonly obligatedBefore: number[];
  /** minDeadlineFrom[i]: the earliest deadline among ops[i..]. */
  private readonly minDeadlineFrom: number[];
  /** lastUse: the highest op index naming each lease (see `compact`). */
  private readonly lastUse = new Map<string, number>();

  constructor(
    private readonly ops: readonly LinOp[],
    private readonly bounds: SearchBounds,
  ) {
    this.best = { state: EMPTY_MODEL, status: ALL_PENDING };
    this.obligatedBefore = [0];
    for (let i = 0; i < ops.length; i++) this.obligatedBefore.push(this.obligatedBefore[i]! + (ops[i]!.obligated ? 1 : 0));
    this.minDeadlineFrom = new Array<number>(ops.length + 1).fill(Infinity);
    for (let i = ops.length - 1; i >= 0; i--) this.minDeadlineFrom[i] = Math.min(ops[i]!.deadlineMs, this.minDeadlineFrom[i + 1]!);
    ops.forEach((op, i) => this.lastUse.set(op.lease, i));
  }

  /** run searches segment by segment, carrying every configuration reachable at each cut. */
  run(): LockVerdict {
    const cuts = this.bounds.segmented ? cutPoints(this.ops) : [this.ops.length];
    let carried: Config[] = [this.compact({ state: EMPTY_MODEL, status: ALL_PENDING })];
    let begin = 0;
    let largestSegmentOps = 0;
    let largestCarried = 1;
    let segmentsSearched = 0;
    const figures = (): Omit<LockVerdict, 'verdict'> => ({ segments: cuts.length, segmentsSearched, largestSegmentOps, largestCarried, explored: this.explored });
    for (const end of cuts) {
      largestSegmentOps = Math.max(largestSegmentOps, end - begin);
      const last = end === this.ops.length;
      const reached = this.searchSegment(carried, end, last);
      if (reached === 'unknown') return { verdict: 'unknown', bound: 'states', ...figures() };
      if (reached.length === 0) return { verdict: 'violation', ...figures() };
      segmentsSearched++;
      if (last) return { verdict: 'ok', ...figures() };
      carried = this.dropDominated(reached, end);
      largestCarried = Math.max(largestCarried, carried.length);
      if (carried.length > this.bounds.maxCarried) return { verdict: 'unknown', bound: 'carried', ...figures() };
      begin = end;
    }
    throw new Error('unreachable: the last cut is ops.length');
  }

  /**
   * dropDominated removes from the configurations reached at cut `end` each
   * one another dominates: the same model state, and every op still pending
   * in it also pending in the other. Sound because at a cut every op still
   * open before `end` is of unknown outcome (the obligated ones are done, and
   * queued waits are part of the model state, so equal states queue the same
   * ops) and such an op never has to take effect: every continuation from the
   * dominated configuration is a continuation from the dominating one that
   * leaves the extra ops unplaced. So the set keeps the same continuations.
   */
  private dropDominated(reached: readonly Config[], end: number): Config[] {
    const byModel = new Map<string, { config: Config; pending: Set<number> }[]>();
    for (const config of reached) {
      const pending = new Set<number>();
      config.status.open.forEach((i, k) => {
        if (config.status.openStatus[k] === PENDING) pending.add(i);
      });
      for (let i = config.status.hi; i < end; i++) pending.add(i);
      const key = modelKey(config.state);
      if (!byModel.has(key)) byModel.set(key, []);
      byModel.get(key)!.push({ config, pending });
    }
    const kept: Config[] = [];
    for (const group of byModel.values()) {
      // Larger pending sets first: a configuration can only be dominated by one at least as large.
      group.sort((a, b) => b.pending.size - a.pending.size);
      const survivors: typeof group = [];
      for (const entry of group) {
        const dominated = survivors.some((s) => [...entry.pending].every((i) => s.pending.has(i)));
        if (!dominated) survivors.push(entry);
      }
      for (const s of survivors) kept.push(s.config);
    }
    return kept;
  }

  /**
   * searchSegment answers every configuration reachable from `starts` in which
   * every obligated op before `end` is done (none is expanded further: the
   * next segment does that). With `last`, it stops at the first one found.
   */
  private searchSegment(starts: readonly Config[], end: number, last: boolean): Config[] | 'unknown' {
    this.seen = new Set<string>();
    const stack: Config[] = [];
    for (const start of starts) {
      const key = this.key(start);
      if (this.seen.has(key)) continue;
      this.seen.add(key);
      stack.push(start);
    }
    stack.reverse();
    const reached: Config[] = [];
    while (stack.length > 0) {
      const config = stack.pop()!;
      if (++this.explored > this.bounds.maxStates) return 'unknown';
      this.noteProgress(config);
      if (this.doneObligated(config.status) === this.obligatedBefore[end]) {
        reached.push(config);
        if (last) return reached;
        continue;
      }
      const next = this.successors(config);
      // Push in reverse so the first successor (the earliest op) is explored first.
      for (let i = next.length - 1; i >= 0; i--) {
        const compacted = this.compact(next[i]!);
        const key = this.key(compacted);
        if (this.seen.has(key)) continue;
        this.seen.add(key);
        stack.push(compacted);
      }
    }
    return reached;
  }

  /** explain names the op the deepest attempt could not place, and the model it met. */
  explain(history: History, lock: string): string {
    const { status, state } = this.best;
    let stuck: LinOp | undefined;
    for (let i = 0; i < this.ops.length; i++) {
      const op = this.ops[i]!;
      if (op.obligated && statusOf(status, i) !== DONE && (stuck === undefined || op.deadlineMs < stuck.deadlineMs)) stuck = op;
    }
    const what = stuck === undefined ? 'no op' : describeOp(history, stuck.op);
    return `lock ${JSON.stringify(lock)}: not linearizable; no order of effects explains ${what}; the furthest order reached (${this.bestDone} ops placed) left the lock at: ${describeModel(state)}`;
  }

  /**
   * compact forgets what can no longer matter, so configurations that differ
   * only there share one memo entry and memory stays in proportion to the ops
   * in flight:
   * - an op of unknown outcome whose lease is gone can never take effect any
   *   more, and whether it did earlier leaves no trace beyond the model state:
   *   it counts as done (the bulk of the states in histories with many
   *   timeouts and lapsed leases);
   * - a release of unknown outcome whose token is at or below the lock's
   *   highest token while its lease holds no grant that could carry that
   *   token can never take effect any more: a later grant to the lease gets a
   *   token above today's highest (a known one is checked against it, an
   *   unknown one is bound above it), so nothing can ever hold its token again;
   * - a gone lease that no op still to be placed names is dropped from the
   *   model's gone list (it holds and waits for nothing, and nothing left asks
   *   about it).
   */
  private compact(config: Config): Config {
    const { state } = config;
    const status = markDone(config.status, (i) => !this.ops[i]!.obligated && (isDead(state, this.ops[i]!.lease) || this.staleRelease(state, i)));
    const stillNamed = new Set<string>();
    for (const i of status.open) stillNamed.add(this.ops[i]!.lease);
    const keep = (lease: string): boolean => this.lastUse.get(lease)! >= status.hi || stillNamed.has(lease);
    const deadLeases = state.deadLeases.every(keep) ? state.deadLeases : state.deadLeases.filter(keep);
    return { state: deadLeases === state.deadLeases ? state : { ...state, deadLeases }, status };
  }

  /** staleRelease: op `i` is a release of unknown outcome that can never take effect from `state` on (see `compact`). */
  private staleRelease(state: ModelState, i: number): boolean {
    const linOp = this.ops[i]!;
    if (linOp.role !== 'release-unknown') return false;
    const token = BigInt(linOp.op.token!);
    if (state.lastToken < token) return false;
    return !state.holders.some((h) => h.lease === linOp.lease && (h.token === null ? h.aboveToken < token : h.token === token));
  }

  private key(config: Config): string {
    return `${statusKey(config.status)}#${modelKey(config.state)}`;
  }

  private doneObligated(status: OpStatus): number {
    let open = 0;
    for (const i of status.open) if (this.ops[i]!.obligated) open++;
    return this.obligatedBefore[status.hi]! - open;
  }

  private noteProgress(config: Config): void {
    const done = this.doneObligated(config.status);
    if (done > this.bestDone) {
      this.bestDone = done;
      this.best = config;
    }
  }

  /** frontierMs: no op invoked after the earliest deadline of an obligated op not yet placed may go before it. */
  private frontierMs(status: OpStatus): number {
    let frontierMs = this.minDeadlineFrom[status.hi]!;
    for (const i of status.open) {
      const op = this.ops[i]!;
      if (op.obligated && op.deadlineMs < frontierMs) frontierMs = op.deadlineMs;
    }
    return frontierMs;
  }

  /** candidates: the ops not done and invoked by the frontier, in index order. */
  private *candidates(status: OpStatus, frontierMs: number): Generator<number> {
    for (const i of status.open) if (this.ops[i]!.invokeMs <= frontierMs) yield i;
    for (let i = status.hi; i < this.ops.length && this.ops[i]!.invokeMs <= frontierMs; i++) yield i;
  }

  private successors(config: Config): Config[] {
    const frontierMs = this.frontierMs(config.status);
    const out: Config[] = [];
    for (const i of this.candidates(config.status, frontierMs)) {
      const s = statusOf(config.status, i);
      if (s === PENDING) this.apply(config, i, out);
      else if (s === QUEUED && WITHDRAWABLE.has(this.ops[i]!.role)) this.withdraw(config, i, out);
    }
    for (const lease of this.mortalLeases(config, frontierMs)) {
      const killed = this.removeLease(config.state, config.status, lease);
      const after = killed === null ? null : this.promoteAfter(killed.state, killed.status);
      if (after !== null) out.push(after);
    }
    return out;
  }

  /** mortalLeases: the leases whose expiry could matter now (on the lock, or needed gone by a refusal). */
  private mortalLeases(config: Config, frontierMs: number): string[] {
    const leases = new Set<string>();
    for (const h of config.state.holders) leases.add(h.lease);
    for (const w of config.state.waiters) leases.add(w.lease);
    for (const i of this.candidates(config.status, frontierMs)) {
      if (this.ops[i]!.role === 'acquire-gone' && statusOf(config.status, i) === PENDING) leases.add(this.ops[i]!.lease);
    }
    return [...leases].filter((lease) => !isDead(config.state, lease)).sort();
  }

  /** removeLease kills a lease; its queued acquire ends ungranted (told "lease not found"; fatal for one that reported a grant). */
  private removeLease(state: ModelState, status: OpStatus, lease: string): Config | null {
    const waiter = waitingBy(state, lease);
    if (waiter !== undefined) {
      if (this.ops[waiter.opIndex]!.role === 'acquire-ok') return null;
      status = setStatus(status, waiter.opIndex, DONE);
    }
    return { state: kill(state, lease), status };
  }

  /**
   * promoteAfter grants whatever a removal made grantable and settles the
   * promoted acquires: those that reported a grant must agree on one token
   * above every earlier one; one that reported failure rules the branch out.
   */
  private promoteAfter(state: ModelState, status: OpStatus): Config | null {
    const promotion = promote(state);
    let token: bigint | null = null;
    for (const waiter of promotion.promoted) {
      const op = this.ops[waiter.opIndex]!;
      if (op.role === 'acquire-deadline' || op.role === 'acquire-gone') return null;
      status = setStatus(status, waiter.opIndex, DONE);
      if (op.role !== 'acquire-ok') continue;
      const told = BigInt(op.op.result!.token!);
      if (token !== null && told !== token) return null;
      if (told <= state.lastToken) return null;
      token = told;
    }
    return { state: settlePromotion(promotion, token), status };
  }

  private withdraw(config: Config, i: number, out: Config[]): void {
    const lease = this.ops[i]!.lease;
    const after = this.promoteAfter(removeWaiter(config.state, lease), setStatus(config.status, i, DONE));
    if (after !== null) out.push(after);
  }

  private apply(config: Config, i: number, out: Config[]): void {
    const { state, status } = config;
    const linOp = this.ops[i]!;
    const { op, lease } = linOp;
    const mode = op.mode ?? 'exclusive';
    const done = (next: ModelState): void => void out.push({ state: next, status: setStatus(status, i, DONE) });
    const queued = (next: ModelState): void => void out.push({ state: next, status: setStatus(status, i, QUEUED) });
    const dead = isDead(state, lease);
    const holder = heldBy(state, lease);
    const waiter = waitingBy(state, lease);
    switch (linOp.role) {
      case 'acquire-ok': {
        if (dead) return;
        const token = BigInt(op.result!.token!);
        if (holder !== undefined) {
          if (holder.mode !== mode) return;
          const bound = bindToken(state, lease, token);
          if (bound !== null) done(bound);
          return;
        }
        if (waiter !== undefined) {
          // A retry of an acquire whose own reply was lost: it takes over that wait.
          if (this.ops[waiter.opIndex]!.role !== 'acquire-unknown' || waiter.mode !== mode) return;
          const reordered = { ...state, waiters: state.waiters.map((w) => (w.lease === lease ? { ...w, opIndex: i } : w)) };
          out.push({ state: reordered, status: setStatus(setStatus(status, waiter.opIndex, DONE), i, QUEUED) });
          return;
        }
        if (grantableNow(state, mode)) {
          // existing=true here is a retry inside this same op whose first attempt was granted.
          if (token <= state.lastToken) return;
          done(grant(state, lease, mode, token));
        } else if (op.wait === true) {
          queued(enqueue(state, lease, mode, i));
        }
        return;
      }
      case 'acquire-held':
        if (!dead && holder === undefined && waiter === undefined && !grantableNow(state, mode)) done(state);
        return;
      case 'acquire-gone':
        // Gone already, or (a wait) queued and then cancelled when its lease died: see removeLease.
        if (dead) done(state);
        else if (op.wait === true && holder === undefined && waiter === undefined && !grantableNow(state, mode)) queued(enqueue(state, lease, mode, i));
        return;
      case 'acquire-deadline':
        done(state);
        if (!dead && holder === undefined && waiter === undefined && !grantableNow(state, mode)) queued(enqueue(state, lease, mode, i));
        return;
      case 'acquire-unknown':
        if (dead || holder !== undefined || waiter !== undefined) return;
        if (grantableNow(state, mode)) done(grant(state, lease, mode, null));
        else if (op.wait === true) queued(enqueue(state, lease, mode, i));
        return;
      case 'release-ok':
      case 'release-unknown': {
        if (dead || holder === undefined) return;
        const bound = bindToken(state, lease, BigInt(op.token!));
        if (bound === null) return;
        const after = this.promoteAfter(removeHolder(bound, lease), setStatus(status, i, DONE));
        if (after !== null) out.push(after);
        return;
      }
      case 'get-ok': {
        const matched = matchGet(state, op);
        if (matched !== null) done(matched);
        return;
      }
      case 'revoke-ok': {
        // The harness counts revoking a lease that is already gone as success.
        if (dead) return done(state);
        const killed = this.removeLease(state, setStatus(status, i, DONE), lease);
        const after = killed === null ? null : this.promoteAfter(killed.state, killed.status);
        if (after !== null) out.push(after);
        return;
      }
    }
  }
}

export function checkLinearizability(history: History, options: Partial<LinearizabilityOptions> = {}): CheckResult {
  const strategy = options.strategy ?? 'whole-then-segmented';
  const maxStates = options.maxStatesPerLock ?? DEFAULT_MAX_STATES_PER_LOCK;
  const maxCarried = options.maxCarriedPerCut ?? DEFAULT_MAX_CARRIED_PER_CUT;
  const violations: string[] = [];
  const stats: Record<string, number> = {};
  let explored = 0;
  let opsChecked = 0;
  let unknownLocks = 0;
  const byLock = opsByLock(history);
  for (const [lock, ops] of [...byLock].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const cuts = cutPoints(ops);
    stats[`${lock}.segments`] = cuts.length;
    stats[`${lock}.largestSegmentOps`] = Math.max(...cuts.map((end, k) => end - (k === 0 ? 0 : cuts[k - 1]!)));
    let search = new LockSearch(ops, { maxStates, maxCarried, segmented: strategy === 'segmented' });
    let v = search.run();
    let lockStates = v.explored;
    if (v.verdict === 'unknown' && strategy === 'whole-then-segmented') {
      stats[`${lock}.wholeStates`] = v.explored;
      search = new LockSearch(ops, { maxStates, maxCarried, segmented: true });
      v = search.run();
      lockStates += v.explored;
    }
    if (v.segments > 1) {
      stats[`${lock}.segmentsSearched`] = v.segmentsSearched;
      stats[`${lock}.largestCarried`] = v.largestCarried;
    }
    stats[`${lock}.states`] = lockStates;
    explored += lockStates;
    opsChecked += ops.length;
    if (v.verdict === 'violation') violations.push(search.explain(history, lock));
    if (v.verdict === 'unknown') {
      unknownLocks++;
      const why =
        v.bound === 'carried'
          ? `more than ${maxCarried} configurations reachable at one cut (after ${v.segmentsSearched} of ${v.segments} segments)`
          : `search budget exceeded (${maxStates} configurations over ${ops.length} ops${v.segments > 1 ? `; segmented: ${v.segmentsSearched} of ${v.segments} segments searched, up to ${v.largestCarried} configurations carried across a cut` : ''})`;
      violations.push(`lock ${JSON.stringify(lock)}: unknown: ${why}; neither verified nor refuted`);
    }
  }
  return {
    checker: 'linearizability',
    ok: violations.length === 0,
    violations,
    stats: { locks: byLock.size, opsChecked, statesExplored: explored, unknownLocks, ...stats },
  };
}

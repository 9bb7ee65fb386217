import type { HolderView, LockMode, Op } from '../history.js';

/**
 * The sequential specification of one lock, as the linearizability search
 * steps it: holders (one exclusive, or several shared), a FIFO queue of
 * waiters, the leases known to be gone, and the highest token granted so far.
 * It mirrors src/lock/ (grant now only when compatible and nobody is queued;
 * a release or an expiry promotes the head of the queue, or the run of
 * shared waiters at its head, all with one token) without importing it: the
 * checker must not share a bug with the thing it checks.
 *
 * Tokens are Raft indices, so the model cannot predict them: a grant's token
 * is whatever the client was told, and must exceed every token granted on the
 * lock before. A grant whose client never heard back holds an unknown token
 * (`null`), bound later if a Get shows it; `aboveToken` is the bound it must beat.
 *
 * States are immutable values: every step returns a new one, so the search can
 * branch and memoise on `modelKey`.
 */

export interface ModelHolder {
  readonly lease: string;
  readonly mode: LockMode;
  readonly token: bigint | null;
  readonly aboveToken: bigint;
}

export interface ModelWaiter {
  readonly lease: string;
  readonly mode: LockMode;
  /** The index (in the search's op array) of the acquire that queued it. */
  readonly opIndex: number;
}

export interface ModelState {
  readonly holders: readonly ModelHolder[];
  readonly waiters: readonly ModelWaiter[];
  /** Leases revoked or expired, sorted: a dead lease never comes back. */
  readonly deadLeases: readonly string[];
  /** The highest token known granted on this lock (-1 before any). */
  readonly lastToken: bigint;
}

export const EMPTY_MODEL: ModelState = { holders: [], waiters: [], deadLeases: [], lastToken: -1n };

export function modelKey(state: ModelState): string {
  const holders = state.holders.map((h) => `${h.lease}/${h.mode[0]}/${h.token ?? `?>${h.aboveToken}`}`).join(',');
  const waiters = state.waiters.map((w) => `${w.lease}/${w.mode[0]}/${w.opIndex}`).join(',');
  return `${holders}|${waiters}|${state.deadLeases.join(',')}|${state.lastToken}`;
}

export function isDead(state: ModelState, lease: string): boolean {
  return state.deadLeases.includes(lease);
}

export function heldBy(state: ModelState, lease: string): ModelHolder | undefined {
  return state.holders.find((h) => h.lease === lease);
}

export function waitingBy(state: ModelState, lease: string): ModelWaiter | undefined {
  return state.waiters.find((w) => w.lease === lease);
}

/** canJoin: `mode` is compatible with the holders, ignoring the queue. */
function canJoin(holders: readonly ModelHolder[], mode: LockMode): boolean {
  return holders.length === 0 || (mode === 'shared' && holders.every((h) => h.mode === 'shared'));
}

/** grantableNow: a new acquire in `mode` would be granted at once (nobody queued, compatible). */
export function grantableNow(state: ModelState, mode: LockMode): boolean {
  return state.waiters.length === 0 && canJoin(state.holders, mode);
}

/** grant adds a holder with `token` (null: unknown, above lastToken). Precondition: the token, if known, exceeds lastToken. */
export function grant(state: ModelState, lease: string, mode: LockMode, token: bigint | null): ModelState {
  const holder: ModelHolder = { lease, mode, token, aboveToken: state.lastToken };
  return { ...state, holders: [...state.holders, holder], lastToken: token ?? state.lastToken };
}

export function enqueue(state: ModelState, lease: string, mode: LockMode, opIndex: number): ModelState {
  return { ...state, waiters: [...state.waiters, { lease, mode, opIndex }] };
}

/** Promotion is the waiters a release, withdrawal or expiry granted, all under one (unknown) token. */
export interface Promotion {
  readonly state: ModelState;
  readonly promoted: readonly ModelWaiter[];
}

/**
 * promote grants the head of the queue while it is compatible with the
 * holders. The promoted grants share one token, which the caller fixes with
 * `settlePromotion` once it knows what the clients were told.
 */
export function promote(state: ModelState): Promotion {
  const holders = [...state.holders];
  const waiters = [...state.waiters];
  const promoted: ModelWaiter[] = [];
  while (waiters.length > 0 && canJoin(holders, waiters[0]!.mode)) {
    const head = waiters.shift()!;
    promoted.push(head);
    holders.push({ lease: head.lease, mode: head.mode, token: null, aboveToken: state.lastToken });
  }
  return { state: { ...state, holders, waiters }, promoted };
}

/** settlePromotion gives the promoted holders their shared token (if any client heard it). */
export function settlePromotion(promotion: Promotion, token: bigint | null): ModelState {
  const { state, promoted } = promotion;
  if (token === null || promoted.length === 0) return state;
  const leases = new Set(promoted.map((w) => w.lease));
  return {
    ...state,
    holders: state.holders.map((h) => (leases.has(h.lease) ? { ...h, token } : h)),
    lastToken: token > state.lastToken ? token : state.lastToken,
  };
}

/** removeHolder drops `lease`'s grant (a release). */
export function removeHolder(state: ModelState, lease: string): ModelState {
  return { ...state, holders: state.holders.filter((h) => h.lease !== lease) };
}

export function removeWaiter(state: ModelState, lease: string): ModelState {
  return { ...state, waiters: state.waiters.filter((w) => w.lease !== lease) };
}

/** kill removes a lease (expiry or revoke) from the holders and the queue, and remembers it is gone. */
export function kill(state: ModelState, lease: string): ModelState {
  const deadLeases = [...state.deadLeases, lease].sort();
  return {
    ...state,
    holders: state.holders.filter((h) => h.lease !== lease),
    waiters: state.waiters.filter((w) => w.lease !== lease),
    deadLeases,
  };
}

/**
 * bindToken checks a holder's token against what a client was told: equal if
 * known; if unknown, it becomes `token` when that is above its bound. Returns
 * the new state, or null when the claim contradicts the model.
 */
export function bindToken(state: ModelState, lease: string, token: bigint): ModelState | null {
  const holder = heldBy(state, lease);
  if (holder === undefined) return null;
  if (holder.token !== null) return holder.token === token ? state : null;
  if (token <= holder.aboveToken) return null;
  return {
    ...state,
    holders: state.holders.map((h) => (h.lease === lease ? { ...h, token } : h)),
    lastToken: token > state.lastToken ? token : state.lastToken,
  };
}

/**
 * matchGet checks a Get's answer against the model: the same holders (lease,
 * mode, token; unknown tokens get bound) and, when reported, the same queue in
 * the same order. Returns the state with tokens bound, or null.
 */
export function matchGet(state: ModelState, op: Op): ModelState | null {
  const holders: readonly HolderView[] = op.result?.holders ?? [];
  if (holders.length !== state.holders.length) return null;
  let next: ModelState | null = state;
  for (const view of holders) {
    const holder = heldBy(state, view.leaseId);
    if (holder === undefined || holder.mode !== view.mode) return null;
    next = bindToken(next, view.leaseId, BigInt(view.token));
    if (next === null) return null;
  }
  const waiters = op.result?.waiters;
  if (waiters !== undefined) {
    if (waiters.length !== state.waiters.length) return null;
    if (waiters.some((lease, i) => state.waiters[i]!.lease !== lease)) return null;
  }
  return next;
}

export function describeModel(state: ModelState): string {
  const holders = state.holders.map((h) => `${h.lease}(${h.mode}, token ${h.token ?? '?'})`).join(', ') || 'none';
  const waiters = state.waiters.map((w) => `${w.lease}(${w.mode})`).join(', ') || 'none';
  return `holders ${holders}; waiters ${waiters}; gone leases ${state.deadLeases.join(', ') || 'none'}`;
}

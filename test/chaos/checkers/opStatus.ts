/**
 * The status of every op in one configuration of the linearizability search
 * (not yet, queued, done), stored sparsely so a configuration costs memory in
 * proportion to the ops in flight, not to the length of the history.
 *
 * Ops are sorted by invocation and the search places them roughly in that
 * order, so a configuration looks like "everything before `hi` is done except
 * a few, everything from `hi` on is still pending". That is what is stored:
 * `hi` (one past the highest op that is not pending) and `open`, the sorted
 * indices below `hi` that are not done, each with its status. The form is
 * canonical (`hi` always follows a queued or done op), so two configurations
 * with the same statuses have the same `key`.
 *
 * A history of tens of thousands of ops used to give each configuration (and
 * each memo key) a string as long as the history; that is what ran a 30-minute
 * run's checker out of heap.
 */

export const PENDING = 0;
export const QUEUED = 1;
export const DONE = 2;
export type Status = typeof PENDING | typeof QUEUED | typeof DONE;

export interface OpStatus {
  /** Every op at or above `hi` is pending. */
  readonly hi: number;
  /** Sorted op indices below `hi` that are pending or queued. */
  readonly open: readonly number[];
  /** Parallel to `open`: PENDING or QUEUED. */
  readonly openStatus: readonly Status[];
}

export const ALL_PENDING: OpStatus = { hi: 0, open: [], openStatus: [] };

export function statusOf(s: OpStatus, i: number): Status {
  if (i >= s.hi) return PENDING;
  const at = indexIn(s.open, i);
  return at < 0 ? DONE : s.openStatus[at]!;
}

/** setStatus answers a new OpStatus with op `i` at `value`. */
export function setStatus(s: OpStatus, i: number, value: Status): OpStatus {
  const open = [...s.open];
  const openStatus = [...s.openStatus];
  let hi = s.hi;
  if (i >= hi) {
    if (value === PENDING) return s;
    // The ops between the old frontier and i are still pending: they become explicit.
    for (let j = hi; j < i; j++) {
      open.push(j);
      openStatus.push(PENDING);
    }
    hi = i + 1;
    if (value === QUEUED) {
      open.push(i);
      openStatus.push(QUEUED);
    }
    return { hi, open, openStatus };
  }
  const at = indexIn(open, i);
  if (value === DONE) {
    if (at >= 0) {
      open.splice(at, 1);
      openStatus.splice(at, 1);
    }
  } else if (at >= 0) {
    openStatus[at] = value;
  } else {
    const insertAt = -at - 1;
    open.splice(insertAt, 0, i);
    openStatus.splice(insertAt, 0, value);
  }
  return canonical({ hi, open, openStatus });
}

/** markDone answers `s` with every open op for which `drop` holds marked done (ops that can no longer matter). */
export function markDone(s: OpStatus, drop: (i: number) => boolean): OpStatus {
  if (!s.open.some(drop)) return s;
  const open: number[] = [];
  const openStatus: Status[] = [];
  for (let k = 0; k < s.open.length; k++) {
    if (drop(s.open[k]!)) continue;
    open.push(s.open[k]!);
    openStatus.push(s.openStatus[k]!);
  }
  return canonical({ hi: s.hi, open, openStatus });
}

export function statusKey(s: OpStatus): string {
  let key = `${s.hi}`;
  for (let k = 0; k < s.open.length; k++) key += `${s.openStatus[k] === QUEUED ? 'q' : ','}${s.open[k]}`;
  return key;
}

/** canonical lowers `hi` past trailing pending ops, so equal statuses have one form. */
function canonical(s: OpStatus): OpStatus {
  let { hi } = s;
  let n = s.open.length;
  while (n > 0 && s.open[n - 1] === hi - 1 && s.openStatus[n - 1] === PENDING) {
    n--;
    hi--;
  }
  return n === s.open.length ? s : { hi, open: s.open.slice(0, n), openStatus: s.openStatus.slice(0, n) };
}

/** indexIn: position of `i` in sorted `xs`, or -(insertion point) - 1. */
function indexIn(xs: readonly number[], i: number): number {
  let lo = 0;
  let hi = xs.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const x = xs[mid]!;
    if (x === i) return mid;
    if (x < i) lo = mid + 1;
    else hi = mid - 1;
  }
  return -lo - 1;
}

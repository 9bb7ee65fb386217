/**
 * LockInvariantError marks a broken invariant inside the lock state machine or
 * the lease clock: a programmer error, never an operating condition (those are
 * typed results). It is thrown loudly because a replica that carries on with
 * corrupt lock state would silently diverge from the others.
 */
export class LockInvariantError extends Error {
  override readonly name = 'LockInvariantError';
}

/** assert throws LockInvariantError when `condition` is false; pass a thunk to keep hot paths free of string building. */
export function assert(condition: boolean, message: string | (() => string)): asserts condition {
  if (!condition) throw new LockInvariantError(typeof message === 'string' ? message : message());
}

/** isSafeUint reports whether `n` is an integer in 0..2^53-1, the range every index, term, id and duration lives in. */
export function isSafeUint(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}

/**
 * InvariantError marks a broken invariant: a programmer error, never an
 * operating condition. It is thrown loudly so the process (or the simulator's
 * seed) fails instead of carrying on with corrupt state.
 */
export class InvariantError extends Error {
  override readonly name = 'InvariantError';
}

export function assert(condition: boolean, message: string | (() => string)): asserts condition {
  if (!condition) throw new InvariantError(typeof message === 'string' ? message : message());
}

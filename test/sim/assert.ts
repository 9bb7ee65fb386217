/**
 * SimFailure is a violated simulator invariant: a safety or liveness property
 * of the cluster, or a broken contract between the core and its shell. The run
 * loop catches it (and anything the core throws) and reports the seed as failed.
 */
export class SimFailure extends Error {
  override readonly name = 'SimFailure';
}

export function check(condition: boolean, message: string | (() => string)): asserts condition {
  if (!condition) throw new SimFailure(typeof message === 'string' ? message : message());
}

/** fail throws a SimFailure; hot paths use `if (!cond) fail(...)` so no message closure is allocated. */
export function fail(message: string): never {
  throw new SimFailure(message);
}

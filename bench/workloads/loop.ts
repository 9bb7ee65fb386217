import { sleep } from '../../test/support/poll.js';

/**
 * loop: runs `clients` concurrent client loops, each calling `step` until
 * the time bound or the shared count bound is reached. A failed step is
 * counted, not retried in place: the loop backs off briefly and goes on, and
 * too many failures end the run with the last error.
 */

export interface LoopBounds {
  readonly durationMs: number;
  /** maxOps bounds the successful steps over all clients. */
  readonly maxOps: number;
  /** maxErrors: failures tolerated before the run is abandoned. */
  readonly maxErrors?: number;
}

export interface LoopOutcome {
  readonly ops: number;
  readonly errors: number;
  readonly elapsedMs: number;
  /** latenciesMs: one per successful step. */
  readonly latenciesMs: number[];
  readonly lastError: unknown;
}

export async function runLoops(clients: number, bounds: LoopBounds, step: (client: number, seq: number) => Promise<void>): Promise<LoopOutcome> {
  const latenciesMs: number[] = [];
  let ops = 0;
  let errors = 0;
  let lastError: unknown = null;
  const maxErrors = bounds.maxErrors ?? 1_000;
  const start = performance.now();
  const end = start + bounds.durationMs;
  const one = async (client: number): Promise<void> => {
    for (let seq = 0; performance.now() < end && ops < bounds.maxOps && errors < maxErrors; seq++) {
      const t0 = performance.now();
      try {
        await step(client, seq);
        latenciesMs.push(performance.now() - t0);
        ops++;
      } catch (err) {
        errors++;
        lastError = err;
        await sleep(10);
      }
    }
  };
  await Promise.all(Array.from({ length: clients }, (_, i) => one(i)));
  const elapsedMs = performance.now() - start;
  if (errors >= maxErrors) throw new Error(`${errors} failed calls; the last: ${String((lastError as Error)?.message ?? lastError)}`);
  return { ops, errors, elapsedMs, latenciesMs, lastError };
}

/** inBatches runs task(i) for i in [0, count) with at most `concurrency` in flight; onProgress sees the count done. */
export async function inBatches(count: number, concurrency: number, task: (i: number) => Promise<void>, o: { onProgress?: (done: number) => void; deadlineAt?: number } = {}): Promise<number> {
  let next = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (next < count && (o.deadlineAt === undefined || performance.now() < o.deadlineAt)) {
      const i = next++;
      await task(i);
      done++;
      if (o.onProgress !== undefined && done % 1000 === 0) o.onProgress(done);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return done;
}

/** withRetry retries a call (bounded by attempts and total time), moving to the next member after each failure. */
export async function withRetry<T>(size: number, firstMember: number, attempts: number, call: (member: number) => Promise<T>): Promise<T> {
  let member = firstMember;
  let last: unknown = null;
  for (let a = 0; a < attempts; a++) {
    try {
      return await call(member);
    } catch (err) {
      last = err;
      member = (member + 1) % size;
      await sleep(Math.min(20 * 2 ** a, 500));
    }
  }
  throw last;
}

import { parentPort, workerData } from 'node:worker_threads';
import { runSeed } from './run.js';
import type { SimStats } from './stats.js';

/**
 * worker runs batches of seeds for cli.ts. It receives {start, count} batches
 * and answers each with the batch's failures and summed statistics.
 */

export interface WorkerInit {
  readonly nodes: 3 | 5 | undefined;
}

export interface Batch {
  readonly start: number;
  readonly count: number;
}

export interface SeedFailure {
  readonly seed: number;
  readonly failure: string;
}

export interface BatchResult {
  readonly count: number;
  readonly failures: SeedFailure[];
  readonly stats: SimStats[];
  /** Real time spent running the batch's seeds, and each seed's. */
  readonly busyMs: number;
  readonly seedMs: number[];
}

const init = workerData as WorkerInit;
const port = parentPort;
if (port === null) throw new Error('sim worker: must run inside worker_threads');

port.on('message', (batch: Batch | null) => {
  if (batch === null) {
    port.close();
    return;
  }
  const failures: SeedFailure[] = [];
  const stats: SimStats[] = [];
  const seedMs: number[] = [];
  const t0 = performance.now();
  for (let seed = batch.start; seed < batch.start + batch.count; seed++) {
    const s0 = performance.now();
    const r = runSeed(seed, init.nodes === undefined ? {} : { nodes: init.nodes });
    seedMs.push(performance.now() - s0);
    stats.push(r.stats);
    if (!r.ok) failures.push({ seed, failure: r.failure });
  }
  const result: BatchResult = { count: batch.count, failures, stats, busyMs: performance.now() - t0, seedMs };
  port.postMessage(result);
});

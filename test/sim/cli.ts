/**
 * cli — the deterministic cluster simulator's command line (`npm run sim`).
 *
 *   npm run sim -- --seed 42                 replay one seed: result, stats, and on failure the trace
 *   npm run sim -- --seed 42 --trace         ... printing every trace record as it happens
 *   npm run sim -- --seed 42 --nodes 5       ... forcing the cluster size (the profile depends on it)
 *   npm run sim -- --seeds 100000            run seeds 1..100000 on every core (worker_threads)
 *   npm run sim -- --seeds 5000 --start 9000000 --nodes 3 --workers 2
 *
 * Each seed runs a 3- or 5-node cluster with lock clients (leases, keepalives,
 * exclusive and shared locks, waits, releases, revokes, lapsing leases) over
 * a faulty network, and checks the Raft invariants and the lock service's —
 * mutual exclusion, fencing tokens, acknowledged grants in the committed log,
 * lease safety across failovers and pauses — after every event, then requires
 * the healed cluster and every client to finish within a bound.
 *
 * Each seed derives everything — cluster size, fault kinds and rates (swarm
 * testing), the clients' habits, and every event — from one PRNG, so a
 * failing seed replays exactly with the command printed next to it. A --seeds
 * run prints totals (faults, leases, locks, clients) and per-seed timing.
 * Exit code 1 on any failure.
 */
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import cliProgress from 'cli-progress';
import { Command, InvalidArgumentError } from 'commander';
import { replayCommand, runSeed } from './run.js';
import type { Batch, BatchResult, SeedFailure, WorkerInit } from './worker.js';

interface CliOptions {
  seed?: number;
  seeds?: number;
  start: number;
  nodes?: 3 | 5;
  trace?: boolean;
  workers?: number;
  batch: number;
}

function integer(name: string, min: number): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer >= ${min}, got '${v}'`);
    return n;
  };
}

function nodeCount(v: string): 3 | 5 {
  if (v === '3') return 3;
  if (v === '5') return 5;
  throw new InvalidArgumentError(`--nodes must be 3 or 5, got '${v}'`);
}

function main(): void {
  const program = new Command()
    .name('sim')
    .description('Deterministic simulator of a raftlock cluster and its lock clients, with swarm-randomised faults')
    .option('--seed <n>', 'replay one seed', integer('--seed', 0))
    .option('--seeds <count>', 'run this many seeds across all cores', integer('--seeds', 1))
    .option('--start <n>', 'first seed of a --seeds run', integer('--start', 0), 1)
    .option('--nodes <3|5>', 'force the cluster size (default: chosen by the seed)', nodeCount)
    .option('--trace', 'print every trace record as it happens (with --seed)')
    .option('--workers <n>', 'worker threads (default: available parallelism)', integer('--workers', 1))
    .option('--batch <n>', 'seeds per worker batch', integer('--batch', 1), 25)
    .showHelpAfterError();
  program.parse();
  const opts = program.opts<CliOptions>();
  if (opts.seed !== undefined && opts.seeds !== undefined) program.error('give either --seed or --seeds, not both');
  if (opts.seed !== undefined) return replay(opts.seed, opts);
  if (opts.seeds !== undefined) return void swarm(opts.seeds, opts);
  program.help();
}

function replay(seed: number, opts: CliOptions): void {
  const t0 = performance.now();
  const result = runSeed(seed, { ...(opts.nodes === undefined ? {} : { nodes: opts.nodes }), trace: opts.trace === true });
  const wallMs = performance.now() - t0;
  console.log(`seed ${seed}: ${result.ok ? 'OK' : 'FAILED'} in ${wallMs.toFixed(1)}ms real time`);
  console.log(result.profile);
  console.log(`stats: ${JSON.stringify(result.stats)}`);
  if (!result.ok) {
    if (opts.trace !== true) console.log(result.trace);
    console.log(`\nFAILURE: ${result.failure}`);
    console.log(`replay: ${replayCommand(seed, opts.nodes)}`);
    process.exitCode = 1;
  }
}

async function swarm(count: number, opts: CliOptions): Promise<void> {
  const workerCount = Math.min(opts.workers ?? os.availableParallelism(), Math.ceil(count / opts.batch));
  const end = opts.start + count;
  let next = opts.start;
  let done = 0;
  const failures: SeedFailure[] = [];
  const totals = new Totals();
  const t0 = performance.now();
  const bar = new cliProgress.SingleBar({
    format: 'sim [{bar}] {percentage}% | {value}/{total} seeds | {failures} failed | eta {eta_formatted}',
    etaBuffer: 200,
  }, cliProgress.Presets.shades_classic);
  bar.start(count, 0, { failures: 0 });

  const init: WorkerInit = { nodes: opts.nodes };
  const runWorker = (): Promise<void> => new Promise((resolve, reject) => {
    const worker = spawnWorker(init);
    const feed = (): void => {
      if (next >= end) {
        worker.postMessage(null);
        return;
      }
      const batch: Batch = { start: next, count: Math.min(opts.batch, end - next) };
      batchStart = batch.start;
      next += batch.count;
      worker.postMessage(batch);
    };
    let batchStart = 0;
    worker.on('message', (r: BatchResult) => {
      done += r.count;
      failures.push(...r.failures);
      totals.add(r, batchStart);
      bar.update(done, { failures: failures.length });
      feed();
    });
    worker.on('error', reject);
    worker.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`sim worker exited with code ${code}`))));
    feed();
  });
  await Promise.all(Array.from({ length: workerCount }, runWorker));
  bar.stop();
  const wallMs = performance.now() - t0;

  failures.sort((a, b) => a.seed - b.seed);
  console.log(totals.summary(count, failures.length, wallMs, workerCount));
  for (const f of failures) {
    console.log(`\nFAILED seed ${f.seed}: ${f.failure.split('\n')[0] ?? ''}`);
    console.log(`  replay: ${replayCommand(f.seed, opts.nodes)}`);
  }
  process.exitCode = failures.length > 0 ? 1 : 0;
}

/**
 * spawnWorker starts worker.ts under tsx. On Node 20 a Worker given a .ts entry
 * with execArgv ['--import', 'tsx'] fails (the entry is resolved before the
 * hooks are registered), so a tiny eval'd bootstrap registers tsx's ESM hooks
 * in the worker first and then imports the TypeScript entry.
 */
function spawnWorker(init: WorkerInit): Worker {
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./worker.ts', import.meta.url).href;
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(bootstrap, { eval: true, workerData: init });
}

const SLOWEST_SHOWN = 3;

/** Totals sums the statistics of every seed. */
class Totals {
  private readonly sums = new Map<string, number>();
  private busyMs = 0;
  private seeds = 0;
  private convergeMsMax = 0;
  /** Real time of each seed, and the slowest seeds. */
  private readonly seedMs: number[] = [];
  private slowest: Array<{ seed: number; ms: number; events: number }> = [];

  add(r: BatchResult, start: number): void {
    this.busyMs += r.busyMs;
    r.stats.forEach((s, i) => {
      this.seeds++;
      this.sum('', s as unknown as Record<string, unknown>);
      if (s.convergeMs > this.convergeMsMax) this.convergeMsMax = s.convergeMs;
      const ms = r.seedMs[i] as number;
      this.seedMs.push(ms);
      this.slowest.push({ seed: start + i, ms, events: s.events });
    });
    this.slowest.sort((a, b) => b.ms - a.ms);
    this.slowest.length = Math.min(this.slowest.length, SLOWEST_SHOWN);
  }

  private timing(): string {
    const sorted = this.seedMs.slice().sort((a, b) => a - b);
    const at = (q: number): string => (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0).toFixed(0);
    const slow = this.slowest.map((s) => `${s.seed} (${s.ms.toFixed(0)}ms, ${s.events} events)`).join(', ');
    return `per seed:         p50 ${at(0.5)}ms, p90 ${at(0.9)}ms, p99 ${at(0.99)}ms, max ${at(1)}ms; slowest: ${slow}`;
  }

  summary(count: number, failed: number, wallMs: number, workers: number): string {
    const g = (k: string): number => this.sums.get(k) ?? 0;
    const faults = [...this.sums.entries()].filter(([k]) => k.startsWith('faults.')).map(([k, v]) => `${k.slice(7)}=${v}`);
    const ms = (x: number): string => x.toFixed(2);
    return [
      '',
      `seeds run:        ${count} (${failed} failed)`,
      `wall time:        ${(wallMs / 1000).toFixed(1)}s on ${workers} workers = ${ms(wallMs / count)}ms/seed wall, ${ms(this.busyMs / this.seeds)}ms/seed per core`,
      this.timing(),
      `virtual time:     ${(g('virtualTimeMs') / 1000).toFixed(0)}s total, ${(g('events') / this.seeds).toFixed(0)} events/seed`,
      `faults:           ${faults.join(' ')}`,
      `elections:        ${g('elections')} (leader changes ${g('leaderChanges')})`,
      `snapshots:        sent ${g('snapshotsSent')} (${g('snapshotChunksSent')} chunks), received ${g('snapshotsReceived')}, installed ${g('snapshotsInstalled')}, compactions ${g('compactions')} (${g('compactionsDeferred')} deferred: a received snapshot pending, ${g('compactionsOverRewrite')} over a rewritten Ready)`,
      `proposals:        ${g('proposals')} appended, ${g('proposalsRefused')} refused, ${g('forwardedProposals')} forwarded; ${g('lock.resultsAcked')} results acknowledged to clients`,
      `read rounds:      ${g('readsIssued')} issued, ${g('readsServed')} served, ${g('readsFailed')} dropped`,
      `leases:           ${g('lock.leasesGranted')} granted (${g('lock.leasesRecreated')} ids re-created by late retries), ${g('lock.keepalivesAcked')} keepalives acked, ` +
        `${g('lock.expiries')} expiries, ${g('lock.staleExpiries')} stale expiries ignored (${g('lock.staleExpiriesGuarded')} would have cut a lease short), ${g('lock.revokes')} revokes`,
      `locks:            ${g('lock.grants')} grants, ${g('lock.promotions')} promotions, ${g('lock.waitsWithdrawn')} waits withdrawn`,
      `clients:          ${g('clients.requestsSent')} requests (${g('clients.keepalivesSent')} keepalives), ${g('clients.opsCompleted')} operations completed, ` +
        `${g('clients.acquiresGranted')} locks held, ${g('clients.acquiresRefused')} refused, ${g('clients.waitsTimedOut')} waits timed out, ` +
        `${g('clients.leasesLost')} leases lost, ${g('clients.grantsAbandoned')} grants abandoned`,
      `messages:         ${g('messagesSent')} sent, ${g('messagesDelivered')} delivered`,
      `convergence:      mean ${(g('convergeMs') / this.seeds).toFixed(0)}ms, max ${this.convergeMsMax.toFixed(0)}ms after healing`,
    ].join('\n');
  }

  private sum(prefix: string, obj: Record<string, unknown>): void {
    for (const [k, v] of Object.entries(obj)) {
      if (typeof v === 'number') this.sums.set(prefix + k, (this.sums.get(prefix + k) ?? 0) + v);
      else if (typeof v === 'object' && v !== null) this.sum(`${prefix}${k}.`, v as Record<string, unknown>);
    }
  }
}

main();

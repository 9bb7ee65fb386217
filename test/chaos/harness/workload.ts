import { SeededRng } from '../../../src/raft/prng.js';
import { sleep, type ChaosCluster } from './chaosCluster.js';
import type { FencedStore } from './fencedStore.js';
import { RecordedClient, type RecordedLease } from './recordedClient.js';

export interface WorkloadOptions {
  /** How many clients (default 8). */
  readonly clients?: number;
  /** The contended lock names (default lock-a, lock-b, lock-c). */
  readonly locks?: readonly string[];
  /** Lease TTLs the clients draw from (default 1, 1.5, 2 and 3 s). */
  readonly ttlsMs?: readonly number[];
  /** Seed of the clients' choices (each client derives its own). */
  readonly seed: number;
  /** log: one line for notable events (never per op). */
  readonly log?: (line: string) => void;
}

export const DEFAULT_LOCKS: readonly string[] = ['lock-a', 'lock-b', 'lock-c'];
export const DEFAULT_TTLS_MS: readonly number[] = [1_000, 1_500, 2_000, 3_000];

/** MAX_ERRORS_KEPT bounds the unexpected errors kept for the report. */
const MAX_ERRORS_KEPT = 20;

/** MAX_REVOKE_ATTEMPTS bounds the retries of a revoke whose outcome is unknown. */
const MAX_REVOKE_ATTEMPTS = 5;

/** REQUEST_TIMEOUT_MS: long enough for most ops to ride out a fault (fewer unknown outcomes), short enough to end. */
const REQUEST_TIMEOUT_MS = 10_000;

/** MAX_OPS_PER_CLIENT bounds each client's loop (a 30-minute run stays well below). */
const MAX_OPS_PER_CLIENT = 200_000;

/** What a client is doing now, for the nemesis (cut a holder off) and for the report. */
interface ClientRun {
  readonly client: RecordedClient;
  readonly rng: SeededRng;
  holding: string | null;
  ops: number;
  done: Promise<void>;
}

/**
 * Workload: clients that contend for a few locks through the real client
 * library, with short TTLs. Each client loops, one op at a time, choosing
 * with its seeded PRNG: wait for an exclusive lock, try once, take it
 * shared, read a lock, or let its lease lapse mid-hold. While it believes it
 * holds a lock it writes to the fenced store. Any op of unknown outcome that
 * could have left it holding something makes it revoke that lease (recorded)
 * and start over with a new one, so a client never carries a lock it does not
 * know about.
 *
 * stop() lets every client finish its current op (no new ones) and reports
 * the clients still busy after the bound: that is a liveness failure.
 */
export class Workload {
  private readonly runs: ClientRun[] = [];
  private stopping = false;
  readonly locks: readonly string[];
  /** Unexpected errors of the client loops (harness bugs), for the sanity report. */
  readonly errors: string[] = [];
  /** Counts for the report. */
  readonly stats = { grants: 0, acquired: 0, released: 0, lapses: 0, revokes: 0, unknown: 0, writesAccepted: 0, writesRejected: 0 };

  private constructor(private readonly store: FencedStore, private readonly options: WorkloadOptions) {
    this.locks = options.locks ?? DEFAULT_LOCKS;
  }

  /** start connects every client (through its own proxies) and starts its loop. */
  static async start(cluster: ChaosCluster, store: FencedStore, options: WorkloadOptions): Promise<Workload> {
    const w = new Workload(store, options);
    const count = options.clients ?? 8;
    const seeds = new SeededRng(options.seed);
    for (let k = 1; k <= count; k++) {
      const client = await RecordedClient.connect(cluster, `c${k}`, { requestTimeoutMs: REQUEST_TIMEOUT_MS });
      const run: ClientRun = { client, rng: new SeededRng(seeds.nextU32()), holding: null, ops: 0, done: Promise.resolve() };
      w.runs.push(run);
    }
    for (const run of w.runs) run.done = w.loop(run);
    return w;
  }

  /** holders: clients inside a critical section right now. */
  holders(): string[] {
    return this.runs.filter((r) => r.holding !== null).map((r) => r.client.name);
  }

  /**
   * stop: no new ops; waits up to timeoutMs for every client's current op to
   * complete. Returns the clients that did not (empty when all completed).
   */
  async stop(timeoutMs: number): Promise<string[]> {
    this.stopping = true;
    const pending = new Set(this.runs.map((r) => r.client.name));
    await Promise.race([
      Promise.all(this.runs.map((r) => r.done.then(() => pending.delete(r.client.name)))),
      sleep(timeoutMs),
    ]);
    return [...pending];
  }

  /** close closes every client (leases are left to expire). */
  async close(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.runs.map((r) => r.client.close().catch(() => undefined)));
  }

  /**
   * loop runs one client until stop(). An unexpected error (a harness bug,
   * never an operating condition: those are recorded outcomes) is kept in
   * `errors` for the sanity report, and the client starts over with a new
   * lease after a pause; the loop itself never rejects.
   */
  private async loop(run: ClientRun): Promise<void> {
    const { client, rng } = run;
    const ttls = this.options.ttlsMs ?? DEFAULT_TTLS_MS;
    let lease: RecordedLease | null = null;
    while (!this.stopping && run.ops < MAX_OPS_PER_CLIENT) {
      run.ops++;
      try {
        if (lease === null || lease.lost) {
          const g = await client.grant(ttls[rng.nextInt(ttls.length)]!);
          if (g.outcome === 'ok') {
            lease = g.value;
            this.stats.grants++;
          } else {
            lease = null;
            this.stats.unknown++;
            await sleep(50 + rng.nextInt(200));
          }
          continue;
        }
        const lock = this.locks[rng.nextInt(this.locks.length)]!;
        const r = rng.nextFloat();
        if (r < 0.12) {
          await client.get(lock);
        } else if (r < 0.16) {
          const v = await client.revoke(lease);
          this.stats.revokes++;
          if (v.outcome !== 'ok') this.stats.unknown++;
          lease = null;
        } else {
          const mode = r < 0.8 ? 'exclusive' : 'shared';
          const waitMs = rng.nextFloat() < 0.35 ? 0 : 200 + rng.nextInt(2_800);
          lease = await this.acquireHoldRelease(run, lease, lock, mode, waitMs);
        }
        await sleep(rng.nextInt(80));
      } catch (err) {
        run.holding = null;
        lease = null;
        if (this.errors.length < MAX_ERRORS_KEPT) this.errors.push(`client ${client.name}: ${(err as Error).stack ?? String(err)}`);
        this.options.log?.(`workload: client ${client.name} hit an unexpected error (kept for the report): ${(err as Error).message}`);
        await sleep(500);
      }
    }
    run.holding = null;
  }

  /** acquireHoldRelease returns the lease to go on with (null: get a new one). */
  private async acquireHoldRelease(run: ClientRun, lease: RecordedLease, lock: string, mode: 'exclusive' | 'shared', waitMs: number): Promise<RecordedLease | null> {
    const { client, rng } = run;
    const got = await client.acquire(lease, lock, { mode, waitMs });
    if (got.outcome !== 'ok') {
      if (got.outcome === 'fail') return lease;
      // It may hold the lock (or sit in the queue): give the lease up rather than carry that.
      this.stats.unknown++;
      await this.revokeQuietly(run, lease);
      return null;
    }
    this.stats.acquired++;
    const token = got.value.token;
    run.holding = lock;
    const holdMs = this.stopping ? 0 : 50 + rng.nextInt(1_200);
    const flightMs = rng.nextFloat() < 0.2 ? 30 + rng.nextInt(300) : rng.nextInt(10);
    const w = await client.holdAndWrite(this.store, lease, lock, token, mode, holdMs, { gapMs: 20 + rng.nextInt(100), flightMs });
    this.stats.writesAccepted += w.accepted;
    this.stats.writesRejected += w.rejected;
    if (lease.lost) {
      run.holding = null;
      return null;
    }
    if (!this.stopping && rng.nextFloat() < 0.08) {
      // Let the lease lapse while holding: stop renewing, never release.
      this.stats.lapses++;
      await client.lapse();
      run.holding = null;
      return null;
    }
    const rel = await client.release(lease, lock, token);
    run.holding = null;
    if (rel.outcome === 'ok') {
      this.stats.released++;
      return lease;
    }
    if (rel.outcome === 'unknown') this.stats.unknown++;
    await this.revokeQuietly(run, lease);
    return null;
  }

  /**
   * revokeQuietly gives a lease up after an op of unknown outcome, retrying
   * (bounded) while the revoke itself is unknown: a definite revoke ends every
   * effect the unknown op could still have, which keeps the checkers' search
   * small.
   */
  private async revokeQuietly(run: ClientRun, lease: RecordedLease): Promise<void> {
    for (let attempt = 1; attempt <= MAX_REVOKE_ATTEMPTS; attempt++) {
      const v = await run.client.revoke(lease);
      this.stats.revokes++;
      if (v.outcome !== 'unknown') return;
      this.stats.unknown++;
      if (this.stopping) return;
      await sleep(200 * attempt);
    }
  }
}

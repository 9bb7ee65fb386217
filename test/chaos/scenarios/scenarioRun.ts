import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { maxElectionTimeoutMs } from '../../../src/node/clusterConfig.js';
import { checkAll, formatReport } from '../checkers/index.js';
import { CHAOS_TIMING, ChaosCluster, FencedStore, Recorder, RecordedClient, sleep, type RecordedClientOptions } from '../harness/index.js';
import { sanityCheck } from '../harness/sanity.js';
import { Workload, type WorkloadOptions } from '../harness/workload.js';
import type { CheckResult, History } from '../history.js';
import { renderTimeline } from '../timeline.js';
import { REPO } from '../harness/chaosCluster.js';

/**
 * runScenario is the frame of every named chaos scenario: a fresh cluster of
 * real nodes behind fault proxies, a recorder, a fenced store and the
 * scenario's clients; then the final heal, restart and read-back
 * (cluster.finish) and every checker over the history. The scenario's own
 * claims are asserted inside `body`; the checkers' verdict after it.
 *
 * Whatever happens, every client is closed and every node process, proxy
 * and temp dir is gone when it returns. When a scenario or a checker fails,
 * the cluster's logs are kept and the history, report and timeline page are
 * written next to them; the path is in the failure message.
 */

export interface ScenarioOptions {
  readonly name: string;
  readonly seed: number;
  readonly nodes?: 3 | 5;
  readonly fencing?: boolean;
  readonly snapshotEveryEntries?: number;
  /** spares: nodes beyond `nodes` the scenario may start and add (ChaosCluster's spares). */
  readonly spares?: number;
}

export interface ScenarioContext {
  readonly cluster: ChaosCluster;
  readonly recorder: Recorder;
  readonly store: FencedStore;
  /** client opens a recorded workload client (closed by runScenario). */
  client(name: string, options?: RecordedClientOptions): Promise<RecordedClient>;
  /**
   * startWorkload starts the randomised workload (clients c1..cN contending
   * for its locks with fenced writes) for the rest of the body. When the body
   * returns, runScenario heals the cluster, lets it settle, stops the
   * workload (a client still busy after the bound fails the scenario:
   * liveness), reads back the workload's locks with the body's, and checks
   * the harness's sanity as well as the checkers'. One per scenario.
   */
  startWorkload(options: WorkloadOptions): Promise<Workload>;
}

export interface ScenarioOutcome {
  readonly history: History;
  readonly results: CheckResult[];
  readonly report: string;
}

export const ELECTION_TIMEOUT_MS = maxElectionTimeoutMs(CHAOS_TIMING);

/**
 * CLIENT_REQUEST_TIMEOUT_MS: an op's budget across retries before it is
 * recorded unknown. 10 s rides out an election on a machine at load 30
 * (a Grant took over 3 s there); scenarios that want a quick verdict on a
 * cut-off side pass their own.
 */
const CLIENT_REQUEST_TIMEOUT_MS = 10_000;

/** WORKLOAD_SETTLE_MS: after the heal, the workload runs this long on a whole cluster before it is stopped. */
const WORKLOAD_SETTLE_MS = 2_000;
/** WORKLOAD_STOP_BOUND_MS: then each workload client gets this long to finish its current op. */
const WORKLOAD_STOP_BOUND_MS = 30_000;

/**
 * runScenario runs `body` (which returns the lock names to read back) and
 * checks the history. With `expectViolations` the checkers' verdict is
 * returned for the caller to assert on instead of required to pass.
 */
export async function runScenario(
  options: ScenarioOptions,
  body: (ctx: ScenarioContext) => Promise<readonly string[]>,
  o: { expectViolations?: boolean } = {},
): Promise<ScenarioOutcome> {
  const ids = Array.from({ length: (options.nodes ?? 3) + (options.spares ?? 0) }, (_, i) => `n${i + 1}`);
  const recorder = new Recorder({ seed: options.seed, nodes: ids, electionTimeoutMs: ELECTION_TIMEOUT_MS, fencing: options.fencing ?? true });
  const cluster = await ChaosCluster.start({
    nodes: options.nodes ?? 3,
    recorder,
    logLevel: 'info',
    ...(options.snapshotEveryEntries !== undefined ? { snapshotEveryEntries: options.snapshotEveryEntries } : {}),
    ...(options.spares !== undefined ? { spares: options.spares } : {}),
  });
  const clients: RecordedClient[] = [];
  let workload: Workload | null = null;
  const store = new FencedStore(recorder, options.fencing ?? true);
  try {
    cluster.observe(100);
    const ctx: ScenarioContext = {
      cluster,
      recorder,
      store,
      client: async (name, clientOptions) => {
        const c = await RecordedClient.connect(cluster, name, { requestTimeoutMs: CLIENT_REQUEST_TIMEOUT_MS, ...clientOptions });
        clients.push(c);
        return c;
      },
      startWorkload: async (workloadOptions) => {
        if (workload !== null) throw new Error('startWorkload: this scenario already runs a workload');
        workload = await Workload.start(cluster, store, workloadOptions);
        return workload;
      },
    };
    let locks: readonly string[];
    let sanity: string[] = [];
    try {
      locks = await body(ctx);
      const w = workload as Workload | null;
      if (w !== null) {
        await cluster.heal();
        await sleep(WORKLOAD_SETTLE_MS);
        const stuck = await w.stop(WORKLOAD_STOP_BOUND_MS);
        sanity = [...w.errors.map((e) => `workload error: ${e}`), ...stuck.map((c) => `workload client ${c} still had an op pending after the heal and the stop bound (liveness)`)];
        locks = [...new Set([...locks, ...w.locks])];
      }
    } catch (err) {
      const partial = recorder.finish();
      throw new Error(`${(err as Error).message}\n${keep(options, partial, checkAll(partial), cluster)}`, { cause: err });
    }
    const history = await cluster.finish(locks, { skipHeal: true });
    if (workload !== null) sanity.push(...sanityCheck(history, []));
    if (sanity.length > 0) expect(sanity, `the harness's own sanity checks failed\n${keep(options, history, checkAll(history), cluster)}`).toEqual([]);
    const results = checkAll(history);
    const report = formatReport(results, history);
    // CHAOS_REPORT=1 prints the report of passing runs too (figures: recovery time, states explored).
    if (process.env['CHAOS_REPORT'] !== undefined) console.log(report);
    if (o.expectViolations !== true) {
      const ok = results.every((r) => r.ok);
      expect(ok, ok ? '' : `${report}\n${keep(options, history, results, cluster)}`).toBe(true);
    }
    return { history, results, report };
  } finally {
    await (workload as Workload | null)?.close();
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    // The cluster's temp dir goes even after a failure: the report carries the node logs' tails, and
    // keep() wrote the history, report and timeline into results/ (git-ignored) beforehand.
    await cluster.destroy();
  }
}

/** keep writes a failed run's history, report and timeline under results/chaos-failures/ and says where. */
function keep(options: ScenarioOptions, history: History, results: CheckResult[], cluster: ChaosCluster): string {
  const dir = join(REPO, 'results', 'chaos-failures', `${options.name}-seed${options.seed}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'history.json'), JSON.stringify(history, null, 1));
  writeFileSync(join(dir, 'report.txt'), formatReport(results, history));
  writeFileSync(join(dir, 'timeline.html'), renderTimeline(history, results));
  return `${cluster.describe(20)}\nhistory, report and timeline in ${dir}`;
}

/** waitFor polls `cond` every 25 ms until it holds or `timeoutMs` passes (then throws `what`). */
export async function waitFor(what: string, timeoutMs: number, cond: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await cond())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(25);
  }
}

/** must unwraps an ok outcome or fails the scenario with the op and its error. */
export function must<T>(what: string, r: { outcome: 'ok'; value: T } | { outcome: 'fail' | 'unknown'; error: { code: string; message: string } }): T {
  if (r.outcome !== 'ok') throw new Error(`${what}: ${r.outcome} (${r.error.code}: ${r.error.message})`);
  return r.value;
}

import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { History } from '../history.js';
import { maxElectionTimeoutMs } from '../../../src/node/clusterConfig.js';
import { CHAOS_TIMING, ChaosCluster, sleep } from './chaosCluster.js';
import { FencedStore } from './fencedStore.js';
import { formatSchedule, planSchedule, runStep, type ScheduleStep } from './nemesis.js';
import { now, Recorder } from './recorder.js';
import { sanityCheck } from './sanity.js';
import { DEFAULT_TTLS_MS, Workload } from './workload.js';

export interface ChaosRunOptions {
  readonly nodes: 3 | 5;
  /** How long faults are injected; the heal, settle and final read come after. */
  readonly durationMs: number;
  readonly seed: number;
  /** Workload clients (default 8). */
  readonly clients?: number;
  /** Fencing of the store (default on). */
  readonly fencing?: boolean;
  /** settleMs: how long the workload keeps running after the final heal (default 3000). */
  readonly settleMs?: number;
  /** log: progress lines (default: nothing). */
  readonly log?: (line: string) => void;
  /** keepDir: leave the cluster's temp dir (data and node logs) in place. */
  readonly keepDir?: boolean;
}

export interface ChaosRunResult {
  readonly history: History;
  readonly schedule: readonly ScheduleStep[];
  /** The harness's own problems found (sanity.ts); the checkers run on `history` separately. */
  readonly sanity: readonly string[];
  /** Clients that did not finish their op after the final heal. */
  readonly stuckClients: readonly string[];
  readonly stats: Readonly<Record<string, number>>;
  /** Tail of every node's log, for a failure report. */
  readonly nodeLogs: string;
}

/** STOP_BOUND_MS: after the settle time, clients get this long to finish their current op. */
const STOP_BOUND_MS = 40_000;

/**
 * runChaos is one randomised chaos run: plan the seeded schedule (logged
 * first, so the run replays with the same seed), start the cluster and the
 * workload, run the schedule for durationMs, heal everything, let the
 * workload settle, stop it, restart every node and read back the final
 * state. The cluster is destroyed whatever happens.
 */
export async function runChaos(o: ChaosRunOptions): Promise<ChaosRunResult> {
  const log = o.log ?? (() => undefined);
  const ttlsMs = DEFAULT_TTLS_MS;
  const electionTimeoutMs = maxElectionTimeoutMs(CHAOS_TIMING);
  const recorder = new Recorder({ seed: o.seed, nodes: Array.from({ length: o.nodes }, (_, i) => `n${i + 1}`), electionTimeoutMs, fencing: o.fencing ?? true });
  const cluster = await ChaosCluster.start({ nodes: o.nodes, recorder, timing: CHAOS_TIMING });
  let nodeLogs = '';
  let workload: Workload | null = null;
  // The harness's own event-loop delay: late timers here make clients look late (reported, not asserted).
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  try {
    const schedule = planSchedule(o.seed, o.durationMs, { nodes: o.nodes, electionTimeoutMs: cluster.electionTimeoutMs, maxTtlMs: Math.max(...ttlsMs) });
    log(`chaos: seed ${o.seed}, ${o.nodes} nodes, ${o.durationMs} ms of faults, fencing ${o.fencing ?? true ? 'on' : 'off'}; replay with: npm run chaos -- --nodes ${o.nodes} --duration ${Math.round(o.durationMs / 1000)} --seed ${o.seed}`);
    log(`chaos: schedule (${schedule.length} steps):\n${formatSchedule(schedule)}`);
    cluster.observe();
    const store = new FencedStore(recorder, o.fencing ?? true);
    workload = await Workload.start(cluster, store, { seed: o.seed ^ 0x5eed, clients: o.clients ?? 8, ttlsMs, log });
    const started = now();
    let steps = 0;
    for (const step of schedule) {
      if (now() - started >= o.durationMs) break;
      const w = workload;
      await runStep(step, { cluster, holders: () => w.holders(), log });
      steps++;
      if (steps % 10 === 0) log(`chaos: ${steps} steps, ${Math.round((now() - started) / 1000)} s, ${recorder.history.ops.length} ops, ${store.stats.writes} writes`);
    }
    log('chaos: final heal');
    await cluster.heal();
    await sleep(o.settleMs ?? 3_000);
    const stuckClients = await workload.stop(STOP_BOUND_MS);
    log(`chaos: workload stopped${stuckClients.length > 0 ? `; still pending: ${stuckClients.join(', ')}` : ''}; restarting every node and reading back`);
    const history = await cluster.finish(workload.locks, { skipHeal: true });
    await workload.close();
    const sanity = [...sanityCheck(history, stuckClients), ...workload.errors.map((e) => `workload error: ${e}`)];
    nodeLogs = cluster.describe();
    const stats = {
      steps,
      ops: history.ops.length,
      opsOk: history.ops.filter((x) => x.outcome === 'ok').length,
      opsFail: history.ops.filter((x) => x.outcome === 'fail').length,
      opsUnknown: history.ops.filter((x) => x.outcome === 'unknown').length,
      leaseLosses: history.leaseLosses.length,
      nemesisEvents: history.nemesis.length,
      harnessLoopDelayP99Ms: Math.round(loopDelay.percentile(99) / 1e6),
      harnessLoopDelayMaxMs: Math.round(loopDelay.max / 1e6),
      ...prefixed('workload', workload.stats),
      ...prefixed('store', store.stats),
    };
    return { history, schedule, sanity, stuckClients, stats, nodeLogs };
  } catch (err) {
    process.stderr.write(cluster.describe());
    throw err;
  } finally {
    loopDelay.disable();
    await workload?.close();
    await cluster.destroy({ keepDir: o.keepDir === true });
  }
}

function prefixed(prefix: string, o: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [`${prefix}.${k}`, v]));
}

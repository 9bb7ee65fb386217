import { mkdtempSync, readFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FloodReport } from '../floodClient.js';
import { scrapeEventLoopLag, type EventLoopLag } from '../eventLoopLag.js';
import { CpuMeter } from '../procStats.js';
import { killChild, registerTempDir, spawnLogged } from '../processes.js';
import { summarize, type LatencySummary } from '../stats.js';
import type { Cluster, LockClient } from '../system.js';
import { runLoops, withRetry } from './loop.js';

/**
 * flood: does one client's flood starve another? A victim client loops
 * acquire + release on its own lock at the leader, first alone ("quiet"),
 * then while a flooder process (floodClient.ts, its own connection, so
 * another caller) hammers the same leader with `floodConcurrency` acquire +
 * release loops and a KeepAlive stream of `floodWindow` renewals in flight,
 * retrying every refusal at once. The victim's p50/p99 are compared.
 *
 * The bound raftlock claims (README, Security): under the flood the victim's
 * p99 stays within FLOOD_P99_FACTOR times its quiet p99, or within
 * FLOOD_P99_SLACK_MS of it, whichever is larger (on an idle machine; the
 * flooder shares the CPU with the cluster here, so figures are noisy).
 *
 * Each phase also records where the time went: the cores the leader (and,
 * under the flood, the flooder) used, the leader's event-loop delay (from its
 * /metrics) and the machine's 1-minute load average at the phase's end.
 */

export interface FloodParams {
  readonly durationMs: number;
  readonly floodConcurrency: number;
  readonly floodWindow: number;
  readonly maxOps: number;
}

/** PhaseLoad: what the machine and the leader were doing during one phase; null figures could not be measured. */
export interface PhaseLoad {
  readonly leaderCores: number | null;
  readonly flooderCores: number | null;
  readonly leaderEventLoopLag: EventLoopLag | null;
  readonly loadAverage1m: number;
}

/** FloodProbe: how to watch a member (its pid, and its /metrics address when it serves one). */
export interface FloodProbe {
  pid(member: number): number | null;
  httpAddress(member: number): string | null;
}

export interface FloodResult {
  readonly quiet: LatencySummary;
  readonly flooded: LatencySummary;
  readonly quietLoad: PhaseLoad;
  readonly floodLoad: PhaseLoad;
  readonly victimErrors: number;
  /** flooder: what the flooder achieved and what was refused (by status). */
  readonly flooder: FloodReport | null;
  readonly boundMs: number | null;
  readonly withinBound: boolean | null;
  readonly floodConcurrency: number;
  readonly floodWindow: number;
}

export const FLOOD_P99_FACTOR = 5;
export const FLOOD_P99_SLACK_MS = 100;

const LEASE_TTL_MS = 120_000;
const CALL_DEADLINE_MS = 10_000;
const WARMUP_PAIRS = 5;
/** FLOOD_RAMP_MS: let the flood reach full strength before measuring the victim. */
const FLOOD_RAMP_MS = 500;

/** watchPhase starts measuring a phase; the returned function ends it. */
async function watchPhase(leaderPid: number | null, flooderPid: number | null, httpAddress: string | null): Promise<() => Promise<PhaseLoad>> {
  const leader = leaderPid === null ? null : new CpuMeter(leaderPid);
  const flooder = flooderPid === null ? null : new CpuMeter(flooderPid);
  // Scraping resets the leader's delay histogram: what the end scrape reads is this phase's.
  if (httpAddress !== null) await scrapeEventLoopLag(httpAddress);
  leader?.start();
  flooder?.start();
  return async () => {
    const leaderCores = leader?.stop() ?? null;
    const flooderCores = flooder?.stop() ?? null;
    const leaderEventLoopLag = httpAddress === null ? null : await scrapeEventLoopLag(httpAddress);
    return { leaderCores, flooderCores, leaderEventLoopLag, loadAverage1m: loadavg()[0] ?? 0 };
  };
}

export async function flood(cluster: Cluster, client: LockClient, leaderAddress: (member: number) => string, probe: FloodProbe, p: FloodParams): Promise<FloodResult> {
  const leader = await cluster.leader();
  const lease = await withRetry(cluster.size, leader, 5, (m) => client.grant(m, LEASE_TTL_MS, CALL_DEADLINE_MS));
  const pair = async (): Promise<void> => {
    const held = await client.acquire(leader, 'flood-victim', lease, CALL_DEADLINE_MS);
    await client.release(leader, held, CALL_DEADLINE_MS);
  };
  for (let k = 0; k < WARMUP_PAIRS; k++) await pair();
  const endQuiet = await watchPhase(probe.pid(leader), null, probe.httpAddress(leader));
  const quiet = await runLoops(1, { durationMs: p.durationMs, maxOps: p.maxOps }, () => pair());
  const quietLoad = await endQuiet();

  const dir = mkdtempSync(join(tmpdir(), 'raftlock-flood-'));
  registerTempDir(dir);
  const out = join(dir, 'flooder.json');
  const floodMs = p.durationMs + 2 * FLOOD_RAMP_MS;
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const child = spawnLogged(
    process.execPath,
    ['--import', 'tsx', join(import.meta.dirname, '..', 'floodClient.ts'), '--target', leaderAddress(leader), '--duration-ms', String(floodMs),
      '--concurrency', String(p.floodConcurrency), '--window', String(p.floodWindow), '--out', out],
    join(dir, 'flooder.log'),
    { cwd: join(import.meta.dirname, '..', '..'), env },
  );
  let flooded;
  let floodLoad: PhaseLoad;
  let flooder: FloodReport | null = null;
  try {
    await new Promise((resolve) => setTimeout(resolve, FLOOD_RAMP_MS));
    const endFlood = await watchPhase(probe.pid(leader), child.pid, probe.httpAddress(leader));
    flooded = await runLoops(1, { durationMs: p.durationMs, maxOps: p.maxOps }, () => pair());
    floodLoad = await endFlood();
    // The flooder stops by itself; it is killed if it overruns.
    await Promise.race([child.exit, new Promise((resolve) => setTimeout(resolve, floodMs + 15_000))]);
    try {
      flooder = JSON.parse(readFileSync(out, 'utf8')) as FloodReport;
    } catch {
      flooder = null;
    }
  } finally {
    await killChild(child);
  }
  await client.revoke(leader, lease, CALL_DEADLINE_MS).catch(() => undefined);
  const q = summarize(quiet.latenciesMs);
  const f = summarize(flooded.latenciesMs);
  const boundMs = q.p99Ms === null ? null : Math.max(FLOOD_P99_FACTOR * q.p99Ms, q.p99Ms + FLOOD_P99_SLACK_MS);
  return {
    quiet: q,
    flooded: f,
    quietLoad,
    floodLoad,
    victimErrors: quiet.errors + flooded.errors,
    flooder,
    boundMs,
    withinBound: boundMs === null || f.p99Ms === null ? null : f.p99Ms <= boundMs,
    floodConcurrency: p.floodConcurrency,
    floodWindow: p.floodWindow,
  };
}

/** describeFlood renders the result in two lines: the victim's figures and the bound, then the flooder's. */
export function describeFlood(r: FloodResult): string {
  const ms = (v: number | null): string => (v === null ? 'n/a' : `${v.toFixed(1)} ms`);
  const verdict = r.withinBound === null ? 'bound not evaluated' : r.withinBound ? 'WITHIN the bound' : 'OVER the bound';
  const victim = `victim acquire+release p50 ${ms(r.quiet.p50Ms)} -> ${ms(r.flooded.p50Ms)}, p99 ${ms(r.quiet.p99Ms)} -> ${ms(r.flooded.p99Ms)} under the flood (${r.quiet.count} / ${r.flooded.count} pairs, ${r.victimErrors} errors); bound: p99 <= max(${FLOOD_P99_FACTOR} x quiet p99, quiet p99 + ${FLOOD_P99_SLACK_MS} ms) = ${ms(r.boundMs)}: ${verdict}`;
  const f = r.flooder;
  const flooder = f === null
    ? 'flooder: no report'
    : `flooder: ${f.acquired} acquire+release and ${f.renewals} renewals in ${(f.elapsedMs / 1000).toFixed(1)} s; refused: ${Object.entries(f.refused).map(([k, n]) => `${k} ${n} (first: ${f.firstRefusal[k] ?? '?'})`).join(', ') || 'none'}`;
  return `${victim}\n  ${flooder}\n  ${describeLoad('quiet', r.quietLoad)}; ${describeLoad('flood', r.floodLoad)}`;
}

function describeLoad(phase: string, l: PhaseLoad): string {
  const cores = (v: number | null): string => (v === null ? 'n/a' : v.toFixed(2));
  const lag = l.leaderEventLoopLag === null ? 'n/a' : `p99 ${l.leaderEventLoopLag.p99Ms.toFixed(1)} ms, max ${l.leaderEventLoopLag.maxMs.toFixed(1)} ms`;
  const flooder = l.flooderCores === null ? '' : `, flooder ${cores(l.flooderCores)} cores`;
  return `${phase}: leader ${cores(l.leaderCores)} cores${flooder}, leader event-loop delay ${lag}, load average ${l.loadAverage1m.toFixed(1)}`;
}

import type { ContendedResult } from './workloads/contended.js';
import type { FailoverResult } from './workloads/failover.js';
import type { FloodResult } from './workloads/flood.js';
import type { FootprintResult } from './workloads/footprint.js';
import type { KeepAliveResult } from './workloads/keepAlives.js';
import type { LeaseGrantResult } from './workloads/leaseGrants.js';
import type { UncontendedResult } from './workloads/uncontended.js';
import type { SystemName } from './system.js';

/**
 * results: everything one system measured in one run, and how it becomes
 * the rows of the comparison table (pure).
 */

export interface SystemResults {
  readonly system: SystemName;
  description: string;
  uncontended: UncontendedResult[];
  contended: ContendedResult[];
  leases: LeaseGrantResult[];
  keepalive: KeepAliveResult[];
  /** failover at the election timeout both systems share. */
  failover: FailoverResult | null;
  failoverDescription: string | null;
  /** failoverDefaults: raftlock only, at its shipped timing. */
  failoverDefaults: FailoverResult | null;
  failoverDefaultsDescription: string | null;
  footprint: FootprintResult | null;
  /** flood: raftlock only; the victim's latency without and with a flooding client. */
  flood: FloodResult | null;
  /** elections: leader term increases over the main cluster's workloads (no member was killed there). */
  elections: number | null;
  /** errors: what ended a workload early, by workload. */
  errors: Record<string, string>;
}

export function emptyResults(system: SystemName): SystemResults {
  return {
    system,
    description: '',
    uncontended: [],
    contended: [],
    leases: [],
    keepalive: [],
    failover: null,
    failoverDescription: null,
    failoverDefaults: null,
    failoverDefaultsDescription: null,
    footprint: null,
    flood: null,
    elections: null,
    errors: {},
  };
}

/** Better: which way a figure improves; 'none' for a figure set by the workload (a paced rate). */
export type Better = 'higher' | 'lower' | 'none';

export interface Row {
  readonly workload: string;
  readonly metric: string;
  readonly unit: string;
  readonly raftlock: number | null;
  readonly etcd: number | null;
  readonly better: Better;
}

const MB = 1024 * 1024;

/** rows lines the two systems' figures up, workload by workload; etcd null means it did not run. */
export function rows(r: SystemResults, e: SystemResults | null): Row[] {
  const out: Row[] = [];
  const add = (workload: string, metric: string, unit: string, better: Better, pick: (s: SystemResults) => number | null | undefined): void => {
    const a = pick(r) ?? null;
    const b = e === null ? null : (pick(e) ?? null);
    if (a === null && b === null) return;
    out.push({ workload, metric, unit, raftlock: a, etcd: b, better });
  };
  const levels = new Set([...r.uncontended, ...(e?.uncontended ?? [])].map((u) => `${u.placement}:${u.clients}`));
  for (const placement of ['spread', 'leader'] as const) {
    for (const clients of [...new Set([...r.uncontended, ...(e?.uncontended ?? [])].map((u) => u.clients))].sort((x, y) => x - y)) {
      if (!levels.has(`${placement}:${clients}`)) continue;
      const u = (s: SystemResults) => s.uncontended.find((x) => x.placement === placement && x.clients === clients);
      const w = `uncontended ${clients} client${clients === 1 ? '' : 's'}${placement === 'leader' ? ' (to leader)' : ''}`;
      add(w, 'pairs/s', '/s', 'higher', (s) => u(s)?.pairsPerS);
      add(w, 'p50', 'ms', 'lower', (s) => u(s)?.pairLatency.p50Ms);
      add(w, 'p99', 'ms', 'lower', (s) => u(s)?.pairLatency.p99Ms);
      add(w, 'max', 'ms', 'lower', (s) => u(s)?.pairLatency.maxMs);
    }
  }
  for (const k of uniqueBy([...r.contended, ...(e?.contended ?? [])], (x) => `${x.placement}:${x.clients}`)) {
    const c = (s: SystemResults) => s.contended.find((x) => x.placement === k.placement && x.clients === k.clients);
    const cw = `contended ${k.clients} clients${k.placement === 'leader' ? ' (to leader)' : ''}`;
    add(cw, 'grants/s', '/s', 'higher', (s) => c(s)?.grantsPerS);
    add(cw, 'wait p50', 'ms', 'lower', (s) => c(s)?.wait.p50Ms);
    add(cw, 'wait p99', 'ms', 'lower', (s) => c(s)?.wait.p99Ms);
    add(cw, 'min/max grants per client', '', 'higher', (s) => {
      const f = c(s)?.fairness;
      return f === undefined || f.maxPerClient === 0 ? null : f.minPerClient / f.maxPerClient;
    });
    add(cw, `grants overtaking a request sent >${k.orderToleranceMs} ms earlier`, '', 'lower', (s) => c(s)?.fairness.overtakes);
  }
  for (const clients of [...new Set([...r.leases, ...(e?.leases ?? [])].map((l) => l.clients))].sort((x, y) => x - y)) {
    add(`lease grants ${clients} client${clients === 1 ? '' : 's'}`, 'grants/s', '/s', 'higher', (s) => s.leases.find((x) => x.clients === clients)?.grantsPerS);
  }
  const kaKey = (x: KeepAliveResult): string => `${x.leases}:${x.via}:${x.pacedPerS ?? 'max'}`;
  for (const k of uniqueBy([...r.keepalive, ...(e?.keepalive ?? [])], kaKey)) {
    const pick = (s: SystemResults) => s.keepalive.find((x) => kaKey(x) === kaKey(k));
    const w = `keepalive ${k.leases.toLocaleString('en-US')} leases ${k.pacedPerS === null ? '' : `paced at ${k.pacedPerS.toLocaleString('en-US')}/s `}via ${k.via}`;
    add(w, 'renewals/s', '/s', k.pacedPerS === null ? 'higher' : 'none', (s) => pick(s)?.renewalsPerS);
    add(w, 'leader CPU', 'cores', 'lower', (s) => pick(s)?.leaderCores);
  }
  add('failover (same election timeout)', 'next success, median', 'ms', 'lower', (s) => s.failover?.recoveryMedianMs);
  add('failover (same election timeout)', 'next success, max', 'ms', 'lower', (s) => s.failover?.recoveryMaxMs);
  add('failover (same election timeout)', 'longest gap', 'ms', 'lower', (s) => s.failover?.longestGapMs);
  add("failover (raftlock's defaults)", 'next success, median', 'ms', 'lower', (s) => s.failoverDefaults?.recoveryMedianMs);
  add("failover (raftlock's defaults)", 'next success, max', 'ms', 'lower', (s) => s.failoverDefaults?.recoveryMaxMs);
  add("failover (raftlock's defaults)", 'longest gap', 'ms', 'lower', (s) => s.failoverDefaults?.longestGapMs);
  const fw = `footprint ${(r.footprint?.requested ?? e?.footprint?.requested ?? 0).toLocaleString('en-US')} leases+locks`;
  add(fw, 'loaded', '', 'higher', (s) => s.footprint?.loaded);
  add(fw, 'pairs failed after retries', '', 'lower', (s) => s.footprint?.failed);
  add(fw, 'elections while loading', '', 'lower', (s) => s.footprint?.electionsDuringLoad);
  add(fw, 'max RSS per node', 'MB', 'lower', (s) => (s.footprint?.maxRssBytes ?? null) === null ? null : (s.footprint?.maxRssBytes as number) / MB);
  add(fw, 'restart to linearizable read', 'ms', 'lower', (s) => s.footprint?.restartMs);
  add('whole run', 'elections outside failover', '', 'lower', (s) => s.elections);
  return out;
}

function uniqueBy<T>(items: readonly T[], key: (t: T) => string): T[] {
  const seen = new Map<string, T>();
  for (const t of items) if (!seen.has(key(t))) seen.set(key(t), t);
  return [...seen.values()];
}

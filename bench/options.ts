/**
 * options: the benchmark's settings, from validated command-line flags.
 * Pure: parseOptions throws an OptionsError saying what was wrong and what is accepted.
 */

export const WORKLOADS = ['uncontended', 'contended', 'leases', 'keepalive', 'flood', 'failover', 'footprint'] as const;
export type Workload = (typeof WORKLOADS)[number];

export interface RawFlags {
  readonly quick?: boolean;
  readonly nodes?: string;
  readonly only?: string;
  /** etcd: false with --no-etcd (commander's negated flag). */
  readonly etcd?: boolean;
  /** metrics: false with --no-metrics (raftlock members without an httpAddress). */
  readonly metrics?: boolean;
  readonly out?: string;
}

export interface Sizes {
  readonly uncontendedClients: readonly number[];
  /** leaderVariant: also run the uncontended levels with every client on the leader. */
  readonly leaderVariant: boolean;
  readonly uncontendedMs: number;
  readonly contendedClients: number;
  readonly contendedMs: number;
  readonly leaseClients: readonly number[];
  readonly leaseMs: number;
  readonly keepAliveLeases: readonly number[];
  readonly keepAliveMs: number;
  readonly keepAliveWindow: number;
  /** floodMs: how long the victim is measured, quiet and then under the flood (raftlock only). */
  readonly floodMs: number;
  /** floodConcurrency: the flooder's acquire + release loops; floodWindow: its keepalives in flight. */
  readonly floodConcurrency: number;
  readonly floodWindow: number;
  readonly failoverRounds: number;
  /** failoverAtDefaults: also measure raftlock's failover at its own default timing. */
  readonly failoverAtDefaults: boolean;
  readonly footprintCount: number;
  readonly footprintMaxLoadMs: number;
  /** footprintOnMainCluster: load and restart the steady workloads' cluster instead of a fresh one (saves a start). */
  readonly footprintOnMainCluster: boolean;
  /** maxOps bounds every measured loop's count. */
  readonly maxOps: number;
  readonly fsyncSamples: number;
}

export interface BenchOptions {
  readonly quick: boolean;
  readonly nodes: 3 | 5;
  readonly workloads: readonly Workload[];
  readonly etcd: boolean;
  /** metrics: raftlock members serve metrics and the status page (an httpAddress each), as the shipped configs do. */
  readonly metrics: boolean;
  /** out: the results folder; null = results/bench/<timestamp>. */
  readonly out: string | null;
  readonly sizes: Sizes;
}

export class OptionsError extends Error {
  override readonly name = 'OptionsError';
}

export const FULL_SIZES: Sizes = Object.freeze({
  uncontendedClients: [1, 16, 64],
  leaderVariant: true,
  uncontendedMs: 8_000,
  contendedClients: 16,
  contendedMs: 10_000,
  leaseClients: [1, 16],
  leaseMs: 6_000,
  keepAliveLeases: [1_000, 10_000],
  keepAliveMs: 6_000,
  keepAliveWindow: 1_000,
  floodMs: 8_000,
  floodConcurrency: 1_024,
  floodWindow: 1_000,
  failoverRounds: 5,
  failoverAtDefaults: true,
  footprintCount: 100_000,
  footprintMaxLoadMs: 360_000,
  footprintOnMainCluster: false,
  maxOps: 1_000_000,
  fsyncSamples: 500,
});

export const QUICK_SIZES: Sizes = Object.freeze({
  uncontendedClients: [1, 16],
  leaderVariant: false,
  uncontendedMs: 1_000,
  contendedClients: 16,
  contendedMs: 1_000,
  leaseClients: [1, 16],
  leaseMs: 800,
  keepAliveLeases: [1_000],
  keepAliveMs: 1_000,
  keepAliveWindow: 1_000,
  floodMs: 2_000,
  floodConcurrency: 1_024,
  floodWindow: 1_000,
  failoverRounds: 1,
  failoverAtDefaults: false,
  footprintCount: 500,
  footprintMaxLoadMs: 8_000,
  footprintOnMainCluster: true,
  maxOps: 100_000,
  fsyncSamples: 100,
});

export function parseOptions(flags: RawFlags): BenchOptions {
  const problems: string[] = [];
  let nodes: 3 | 5 = 3;
  if (flags.nodes !== undefined) {
    if (flags.nodes === '3' || flags.nodes === '5') nodes = Number(flags.nodes) as 3 | 5;
    else problems.push(`--nodes must be 3 or 5, got ${JSON.stringify(flags.nodes)}`);
  }
  let workloads: Workload[] = [...WORKLOADS];
  if (flags.only !== undefined) {
    const asked = flags.only.split(',').map((s) => s.trim()).filter((s) => s !== '');
    const unknown = asked.filter((w) => !(WORKLOADS as readonly string[]).includes(w));
    if (asked.length === 0) problems.push(`--only needs a comma-separated list of workloads from: ${WORKLOADS.join(', ')}`);
    else if (unknown.length > 0) problems.push(`--only: unknown workload(s) ${unknown.map((w) => JSON.stringify(w)).join(', ')}; known: ${WORKLOADS.join(', ')}`);
    else workloads = WORKLOADS.filter((w) => asked.includes(w));
  }
  if (flags.out !== undefined && flags.out.trim() === '') problems.push('--out must be a non-empty directory path');
  if (problems.length > 0) throw new OptionsError(problems.join('\n'));
  const quick = flags.quick === true;
  return {
    quick,
    nodes,
    workloads,
    etcd: flags.etcd !== false,
    metrics: flags.metrics !== false,
    out: flags.out ?? null,
    sizes: quick ? QUICK_SIZES : FULL_SIZES,
  };
}

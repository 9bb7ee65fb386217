import { ratePerS, summarize, type LatencySummary } from '../stats.js';
import type { Cluster, LockClient } from '../system.js';
import { runLoops } from './loop.js';

/** leaseGrants: `clients` clients spread over the members loop Lease Grant (the leases expire on their own later). */

export interface LeaseGrantParams {
  readonly clients: number;
  readonly durationMs: number;
  readonly maxGrants: number;
}

export interface LeaseGrantResult {
  readonly clients: number;
  readonly grants: number;
  readonly errors: number;
  readonly elapsedMs: number;
  readonly grantsPerS: number | null;
  readonly latency: LatencySummary;
}

/** LEASE_TTL_MS: long enough to outlive the run, short enough not to pile up across workloads. */
const LEASE_TTL_MS = 30_000;
const CALL_DEADLINE_MS = 10_000;

export async function leaseGrants(cluster: Cluster, client: LockClient, p: LeaseGrantParams): Promise<LeaseGrantResult> {
  const out = await runLoops(p.clients, { durationMs: p.durationMs, maxOps: p.maxGrants }, async (i) => {
    await client.grant(i % cluster.size, LEASE_TTL_MS, CALL_DEADLINE_MS);
  });
  return {
    clients: p.clients,
    grants: out.ops,
    errors: out.errors,
    elapsedMs: out.elapsedMs,
    grantsPerS: ratePerS(out.ops, out.elapsedMs),
    latency: summarize(out.latenciesMs),
  };
}

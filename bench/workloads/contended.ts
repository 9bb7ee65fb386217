import { fairness, type Fairness, type GrantRecord } from '../fairness.js';
import { ratePerS, summarize, type LatencySummary } from '../stats.js';
import type { Cluster, LockClient } from '../system.js';
import { inBatches, runLoops, withRetry } from './loop.js';

/**
 * contended: `clients` clients, each with its own lease, spread over the
 * members, loop acquire (waiting in the lock's queue) + release on one lock
 * name. Wait = from sending the acquire to receiving the grant.
 */

export interface ContendedParams {
  readonly clients: number;
  readonly durationMs: number;
  readonly maxGrants: number;
}

export interface ContendedResult {
  readonly clients: number;
  readonly grants: number;
  readonly errors: number;
  readonly elapsedMs: number;
  readonly grantsPerS: number | null;
  readonly wait: LatencySummary;
  readonly fairness: Fairness;
  /** orderToleranceMs: a grant counts as overtaking only a request sent more than this earlier. */
  readonly orderToleranceMs: number;
}

const LEASE_TTL_MS = 120_000;
const CALL_DEADLINE_MS = 30_000;
const ORDER_TOLERANCE_MS = 2;

export async function contended(cluster: Cluster, client: LockClient, p: ContendedParams, tag: string): Promise<ContendedResult> {
  const leases: string[] = new Array<string>(p.clients);
  await inBatches(p.clients, 16, async (i) => {
    leases[i] = await withRetry(cluster.size, i % cluster.size, 5, (m) => client.grant(m, LEASE_TTL_MS, CALL_DEADLINE_MS));
  });
  const name = `c-${tag}`;
  const records: GrantRecord[] = [];
  const waits: number[] = [];
  const out = await runLoops(p.clients, { durationMs: p.durationMs, maxOps: p.maxGrants }, async (i) => {
    const sentAt = performance.now();
    const held = await client.acquire(i % cluster.size, name, leases[i] as string, CALL_DEADLINE_MS);
    const grantedAt = performance.now();
    records.push({ client: i, sentAt, grantedAt });
    waits.push(grantedAt - sentAt);
    await client.release(i % cluster.size, held, CALL_DEADLINE_MS);
  });
  await inBatches(p.clients, 16, (i) => client.revoke(i % cluster.size, leases[i] as string, CALL_DEADLINE_MS).catch(() => undefined));
  return {
    clients: p.clients,
    grants: out.ops,
    errors: out.errors,
    elapsedMs: out.elapsedMs,
    grantsPerS: ratePerS(out.ops, out.elapsedMs),
    wait: summarize(waits),
    fairness: fairness(records, p.clients, ORDER_TOLERANCE_MS),
    orderToleranceMs: ORDER_TOLERANCE_MS,
  };
}

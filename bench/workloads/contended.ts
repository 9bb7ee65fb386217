import { fairness, type Fairness, type GrantRecord } from '../fairness.js';
import { ratePerS, summarize, type LatencySummary } from '../stats.js';
import type { Cluster, LockClient } from '../system.js';
import { inBatches, runLoops, withRetry } from './loop.js';

/**
 * contended: `clients` clients, each with its own lease, spread over the
 * members (or all at the leader), loop acquire (waiting in the lock's queue) + release on one lock
 * name. Wait = from sending the acquire to receiving the grant.
 */

export interface ContendedParams {
  readonly clients: number;
  readonly placement: 'spread' | 'leader';
  readonly durationMs: number;
  readonly maxGrants: number;
}

export interface ContendedResult {
  readonly clients: number;
  readonly placement: 'spread' | 'leader';
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
/** ORDER_TOLERANCE_MS absorbs client-side skew (event-loop lag, forwarding hops); below it two requests count as simultaneous. */
const ORDER_TOLERANCE_MS = 5;

export async function contended(cluster: Cluster, client: LockClient, p: ContendedParams, tag: string): Promise<ContendedResult> {
  const leader = await cluster.leader();
  const memberOf = (i: number): number => (p.placement === 'leader' ? leader : i % cluster.size);
  const leases: string[] = new Array<string>(p.clients);
  await inBatches(p.clients, 16, async (i) => {
    leases[i] = await withRetry(cluster.size, memberOf(i), 5, (m) => client.grant(m, LEASE_TTL_MS, CALL_DEADLINE_MS));
  });
  const name = `c-${tag}`;
  const records: GrantRecord[] = [];
  const waits: number[] = [];
  const out = await runLoops(p.clients, { durationMs: p.durationMs, maxOps: p.maxGrants }, async (i) => {
    const sentAt = performance.now();
    const held = await client.acquire(memberOf(i), name, leases[i] as string, CALL_DEADLINE_MS);
    const grantedAt = performance.now();
    records.push({ client: i, sentAt, grantedAt });
    waits.push(grantedAt - sentAt);
    await client.release(memberOf(i), held, CALL_DEADLINE_MS);
  });
  await inBatches(p.clients, 16, (i) => client.revoke(memberOf(i), leases[i] as string, CALL_DEADLINE_MS).catch(() => undefined));
  return {
    clients: p.clients,
    placement: p.placement,
    grants: out.ops,
    errors: out.errors,
    elapsedMs: out.elapsedMs,
    grantsPerS: ratePerS(out.ops, out.elapsedMs),
    wait: summarize(waits),
    fairness: fairness(records, p.clients, ORDER_TOLERANCE_MS),
    orderToleranceMs: ORDER_TOLERANCE_MS,
  };
}

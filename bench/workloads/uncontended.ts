import { summarize, ratePerS, type LatencySummary } from '../stats.js';
import type { Cluster, LockClient } from '../system.js';
import { inBatches, runLoops, withRetry } from './loop.js';

/**
 * uncontended: `clients` concurrent clients, each with its own lease and
 * lock name, loop acquire + release. Placement 'spread' puts client i on
 * member i mod size (an etcd user with every member's endpoint); 'leader'
 * sends everything to the leader.
 */

export interface UncontendedParams {
  readonly clients: number;
  readonly placement: 'spread' | 'leader';
  readonly durationMs: number;
  readonly maxPairs: number;
}

export interface UncontendedResult {
  readonly clients: number;
  readonly placement: 'spread' | 'leader';
  readonly pairs: number;
  readonly errors: number;
  readonly elapsedMs: number;
  readonly pairsPerS: number | null;
  readonly pairLatency: LatencySummary;
}

const LEASE_TTL_MS = 120_000;
const CALL_DEADLINE_MS = 10_000;
/** WARMUP_PAIRS per client, untimed: channels connected, code paths warm. */
const WARMUP_PAIRS = 3;

export async function uncontended(cluster: Cluster, client: LockClient, p: UncontendedParams, tag: string): Promise<UncontendedResult> {
  const leader = await cluster.leader();
  const memberOf = (i: number): number => (p.placement === 'leader' ? leader : i % cluster.size);
  const leases: string[] = new Array<string>(p.clients);
  await inBatches(p.clients, 16, async (i) => {
    leases[i] = await withRetry(cluster.size, memberOf(i), 5, (m) => client.grant(m, LEASE_TTL_MS, CALL_DEADLINE_MS));
  });
  const pair = async (i: number): Promise<void> => {
    const held = await client.acquire(memberOf(i), `u-${tag}-${i}`, leases[i] as string, CALL_DEADLINE_MS);
    await client.release(memberOf(i), held, CALL_DEADLINE_MS);
  };
  await Promise.all(Array.from({ length: p.clients }, async (_, i) => {
    for (let k = 0; k < WARMUP_PAIRS; k++) await pair(i);
  }));
  const out = await runLoops(p.clients, { durationMs: p.durationMs, maxOps: p.maxPairs }, (i) => pair(i));
  await inBatches(p.clients, 16, (i) => client.revoke(memberOf(i), leases[i] as string, CALL_DEADLINE_MS).catch(() => undefined));
  return {
    clients: p.clients,
    placement: p.placement,
    pairs: out.ops,
    errors: out.errors,
    elapsedMs: out.elapsedMs,
    pairsPerS: ratePerS(out.ops, out.elapsedMs),
    pairLatency: summarize(out.latenciesMs),
  };
}

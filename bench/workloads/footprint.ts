import { rssBytes } from '../procStats.js';
import { pollUntil } from '../processes.js';
import type { Cluster, LockClient } from '../system.js';
import { inBatches, withRetry } from './loop.js';

/**
 * footprint: `count` leases each holding one lock (granted and acquired by
 * `concurrency` workers spread over the members), then every member's RSS;
 * then SIGKILL all members, start them all, and time until a linearizable
 * read succeeds (and the RSS again, after the restart).
 */

export interface FootprintParams {
  readonly count: number;
  readonly concurrency: number;
  /** maxLoadMs bounds the loading; the figures then hold for what was loaded. */
  readonly maxLoadMs: number;
}

export interface FootprintResult {
  readonly requested: number;
  readonly loaded: number;
  readonly loadMs: number;
  readonly rssBytes: (number | null)[];
  readonly maxRssBytes: number | null;
  readonly restartMs: number | null;
  readonly rssAfterRestartBytes: (number | null)[];
}

const LEASE_TTL_MS = 3_600_000;
const CALL_DEADLINE_MS = 30_000;
const RESTART_TIMEOUT_MS = 120_000;
/** CALL_ATTEMPTS: a call that fails (a member still connecting, say) is retried at the next member, this many times in all. */
const CALL_ATTEMPTS = 5;

export async function footprint(cluster: Cluster, client: LockClient, p: FootprintParams, progress: (done: number) => void): Promise<FootprintResult> {
  const t0 = performance.now();
  const loaded = await inBatches(p.count, p.concurrency, async (i) => {
    const m = i % cluster.size;
    const lease = await withRetry(cluster.size, m, CALL_ATTEMPTS, (at) => client.grant(at, LEASE_TTL_MS, CALL_DEADLINE_MS));
    await withRetry(cluster.size, m, CALL_ATTEMPTS, (at) => client.acquire(at, `fp-${i}`, lease, CALL_DEADLINE_MS));
  }, { onProgress: progress, deadlineAt: t0 + p.maxLoadMs });
  const loadMs = performance.now() - t0;
  await cluster.leader();
  const rss = Array.from({ length: cluster.size }, (_, m) => {
    const pid = cluster.pid(m);
    return pid === null ? null : rssBytes(pid);
  });
  await cluster.killAll();
  const s0 = performance.now();
  cluster.startAll();
  let member = 0;
  const ok = await pollUntil(async () => {
    try {
      await client.readLock(member, 'fp-0', 1_000);
      return true;
    } catch {
      member = (member + 1) % cluster.size;
      return null;
    }
  }, RESTART_TIMEOUT_MS, 20);
  const restartMs = ok === null ? null : performance.now() - s0;
  const rssAfter = Array.from({ length: cluster.size }, (_, m) => {
    const pid = cluster.pid(m);
    return pid === null ? null : rssBytes(pid);
  });
  const known = rss.filter((x): x is number => x !== null);
  return {
    requested: p.count,
    loaded,
    loadMs,
    rssBytes: rss,
    maxRssBytes: known.length > 0 ? Math.max(...known) : null,
    restartMs,
    rssAfterRestartBytes: rssAfter,
  };
}

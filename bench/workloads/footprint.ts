import { rssBytes } from '../procStats.js';
import { pollUntil } from '../../test/support/poll.js';
import type { Cluster, LockClient } from '../system.js';
import { inBatches, withRetry } from './loop.js';

/**
 * footprint: `count` leases each holding one lock (granted and acquired by
 * `concurrency` workers spread over the members), then every member's RSS;
 * then SIGKILL all members, start them all, and time until a linearizable
 * read succeeds (and the RSS again, after the restart). A pair that still
 * fails after its retries (an election under way, say) is counted and the
 * load goes on; the leader terms before and after tell whether elections
 * happened while loading.
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
  /** failed: pairs given up after their retries. */
  readonly failed: number;
  /** electionsDuringLoad: leader term increase over the load (no member was killed then). */
  readonly electionsDuringLoad: number | null;
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
const CALL_ATTEMPTS = 10;
/** MAX_FAILED: pairs given up before the whole load is abandoned. */
const MAX_FAILED = 1_000;

export async function footprint(cluster: Cluster, client: LockClient, p: FootprintParams, progress: (done: number) => void): Promise<FootprintResult> {
  const termBefore = await cluster.term();
  const t0 = performance.now();
  let failed = 0;
  let lastError: unknown = null;
  let loaded = 0;
  await inBatches(p.count, p.concurrency, async (i) => {
    if (failed >= MAX_FAILED) throw new Error(`${failed} lease + lock pairs failed after retries; the last: ${String((lastError as Error)?.message ?? lastError)}`);
    const m = i % cluster.size;
    try {
      const lease = await withRetry(cluster.size, m, CALL_ATTEMPTS, (at) => client.grant(at, LEASE_TTL_MS, CALL_DEADLINE_MS));
      await withRetry(cluster.size, m, CALL_ATTEMPTS, (at) => client.acquire(at, `fp-${i}`, lease, CALL_DEADLINE_MS));
      loaded++;
    } catch (err) {
      failed++;
      lastError = err;
    }
  }, { onProgress: progress, deadlineAt: t0 + p.maxLoadMs });
  const loadMs = performance.now() - t0;
  const termAfter = await cluster.term();
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
    failed,
    electionsDuringLoad: termBefore === null || termAfter === null ? null : termAfter - termBefore,
    loadMs,
    rssBytes: rss,
    maxRssBytes: known.length > 0 ? Math.max(...known) : null,
    restartMs,
    rssAfterRestartBytes: rssAfter,
  };
}

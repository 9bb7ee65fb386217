import { CpuMeter } from '../procStats.js';
import { ratePerS } from '../stats.js';
import type { Cluster, LockClient } from '../system.js';
import { inBatches, withRetry } from './loop.js';
import { sleep } from '../../test/support/poll.js';

/**
 * keepAlives: `leases` leases renewed over one KeepAlive stream opened at the
 * leader or at a follower, as fast as the server answers: at most `window`
 * renewals in flight, each reply releasing the next lease in round-robin
 * order. The leader's CPU (and the entry member's, through a follower) is
 * sampled from /proc over the measured span.
 *
 * With `pacedPerS` the stream is not saturated: renewals are sent at that
 * steady rate (round-robin over the leases, in 10 ms slices, with at most one
 * lease count outstanding) — the load of clients that renew each lease every
 * third of its TTL — to see what keeping the leases alive costs the leader.
 */

export interface KeepAliveParams {
  readonly leases: number;
  readonly via: 'leader' | 'follower';
  readonly durationMs: number;
  /** window: renewals in flight on the stream (saturating mode). */
  readonly window: number;
  /** pacedPerS: send at this steady rate instead of saturating the stream. */
  readonly pacedPerS?: number;
}

export interface KeepAliveResult {
  readonly leases: number;
  readonly via: 'leader' | 'follower';
  readonly window: number;
  readonly pacedPerS: number | null;
  readonly renewals: number;
  readonly elapsedMs: number;
  readonly renewalsPerS: number | null;
  /** lost: replies saying a lease was gone (ttl 0). */
  readonly lost: number;
  readonly leaderCores: number | null;
  /** entryCores: the CPU of the member the stream is open at (the follower), or null via the leader. */
  readonly entryCores: number | null;
  readonly error: string | null;
}

const LEASE_TTL_MS = 120_000;
const CALL_DEADLINE_MS = 10_000;
const GRANT_CONCURRENCY = 64;
/** WARMUP_MS: renewals before the measured span starts. */
const WARMUP_MS = 500;
/** PACE_SLICE_MS: the paced sender's period. */
const PACE_SLICE_MS = 10;

/** grantLeases grants `count` leases at the leader, GRANT_CONCURRENCY at a time. */
export async function grantLeases(cluster: Cluster, client: LockClient, count: number, onProgress?: (done: number) => void): Promise<string[]> {
  const leader = await cluster.leader();
  const ids = new Array<string>(count);
  await inBatches(count, GRANT_CONCURRENCY, async (i) => {
    ids[i] = await withRetry(cluster.size, leader, 5, (m) => client.grant(m, LEASE_TTL_MS, CALL_DEADLINE_MS));
  }, onProgress === undefined ? {} : { onProgress });
  return ids;
}

export async function keepAlives(cluster: Cluster, client: LockClient, leaseIds: readonly string[], p: KeepAliveParams): Promise<KeepAliveResult> {
  const leader = await cluster.leader();
  const entry = p.via === 'leader' ? leader : (leader + 1) % cluster.size;
  const stream = client.openKeepAlive(entry);
  let next = 0;
  let replies = 0;
  let lost = 0;
  let error: string | null = null;
  let stopped = false;
  const sendNext = (): void => {
    if (stopped) return;
    stream.send(leaseIds[next] as string);
    next = (next + 1) % leaseIds.length;
  };
  const paced = p.pacedPerS !== undefined;
  let sent = 0;
  stream.onReply((_id, ttlMs) => {
    replies++;
    if (ttlMs === 0) lost++;
    if (!paced) sendNext();
  });
  stream.onError((e) => {
    if (!stopped) error = e.message;
  });
  let pacer: NodeJS.Timeout | null = null;
  if (paced) {
    const perS = p.pacedPerS as number;
    const t0 = performance.now();
    pacer = setInterval(() => {
      const due = Math.floor(((performance.now() - t0) * perS) / 1000);
      while (sent < due && sent - replies < leaseIds.length) {
        sendNext();
        sent++;
      }
    }, PACE_SLICE_MS);
  } else {
    for (let k = 0; k < Math.min(p.window, leaseIds.length); k++) sendNext();
  }
  await sleep(WARMUP_MS);
  const leaderPid = cluster.pid(leader);
  const entryPid = entry === leader ? null : cluster.pid(entry);
  const leaderCpu = leaderPid === null ? null : new CpuMeter(leaderPid);
  const entryCpu = entryPid === null ? null : new CpuMeter(entryPid);
  leaderCpu?.start();
  entryCpu?.start();
  const startReplies = replies;
  const startLost = lost;
  const t0 = performance.now();
  await sleep(p.durationMs);
  const renewals = replies - startReplies;
  const elapsedMs = performance.now() - t0;
  const leaderCores = leaderCpu?.stop() ?? null;
  const entryCores = entryCpu?.stop() ?? null;
  stopped = true;
  if (pacer !== null) clearInterval(pacer);
  stream.close();
  return {
    leases: leaseIds.length,
    via: p.via,
    window: p.window,
    pacedPerS: p.pacedPerS ?? null,
    renewals,
    elapsedMs,
    renewalsPerS: error === null || renewals > 0 ? ratePerS(renewals, elapsedMs) : null,
    lost: lost - startLost,
    leaderCores,
    entryCores,
    error,
  };
}

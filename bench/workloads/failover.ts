import { median } from '../stats.js';
import { sleep } from '../../test/support/poll.js';
import * as grpc from '@grpc/grpc-js';
import { codeOf } from '../grpcCall.js';
import type { Cluster, Held, LockClient } from '../system.js';
import { withRetry } from './loop.js';

/**
 * failover: one client loops acquire + release (a fresh lock name each time,
 * so an attempt abandoned at its deadline can never block the next) while
 * the leader is SIGKILLed; the killed member is restarted between rounds.
 * Recovery = from the kill to the end of the first pair whose acquire was
 * sent after the kill. Longest gap = the longest time between two
 * consecutive successful pairs' ends over the round.
 */

export interface FailoverParams {
  readonly rounds: number;
  /** attemptMs: the client's deadline per call before it tries the next member. */
  readonly attemptMs: number;
  /** maxRecoveryMs bounds the wait for the first success after a kill. */
  readonly maxRecoveryMs: number;
}

export interface FailoverRound {
  readonly recoveryMs: number | null;
  readonly longestGapMs: number;
  readonly failedAttempts: number;
}

export interface FailoverResult {
  readonly rounds: FailoverRound[];
  readonly recoveryMedianMs: number | null;
  readonly recoveryMinMs: number | null;
  readonly recoveryMaxMs: number | null;
  readonly longestGapMs: number | null;
  readonly attemptMs: number;
}

const LEASE_TTL_MS = 60_000;
/** STEADY_MS: successes before the kill, and after recovery before the round ends. */
const STEADY_MS = 700;
/** SETTLE_MS: after the killed member is back, before the next round. */
const SETTLE_MS = 1_500;
/** BACKOFF_MS: pause after a failed call before trying the next member. */
const BACKOFF_MS = 10;

/** RELEASE_DEADLINE_MS bounds the retries of one release. */
const RELEASE_DEADLINE_MS = 20_000;

/**
 * releaseSurely releases a held lock, retrying at the next member after each
 * failure, and returns the member that answered. A refusal that says the
 * lock is no longer held (FAILED_PRECONDITION: stale token or not the holder;
 * NOT_FOUND: no such lease) means an earlier attempt that timed out on our
 * side did commit: the pair is complete. (etcd's Unlock is idempotent.)
 */
export async function releaseSurely(size: number, first: number, client: LockClient, held: Held, attemptMs: number, onFailure: () => void): Promise<number> {
  let member = first;
  const deadline = performance.now() + RELEASE_DEADLINE_MS;
  for (;;) {
    try {
      await client.release(member, held, attemptMs);
      return member;
    } catch (err) {
      const code = codeOf(err);
      if (code === grpc.status.FAILED_PRECONDITION || code === grpc.status.NOT_FOUND) return member;
      onFailure();
      if (performance.now() >= deadline) throw err;
      member = (member + 1) % size;
      await sleep(BACKOFF_MS);
    }
  }
}

export async function failover(cluster: Cluster, client: LockClient, p: FailoverParams, say: (line: string) => void): Promise<FailoverResult> {
  const rounds: FailoverRound[] = [];
  for (let r = 0; r < p.rounds; r++) {
    const leader = await cluster.leader();
    const lease = await withRetry(cluster.size, leader, 10, (m) => client.grant(m, LEASE_TTL_MS, 2_000));
    const ends: number[] = [];
    const starts: number[] = [];
    let failed = 0;
    let stop = false;
    let member = 0;
    let seq = 0;
    const loop = (async () => {
      while (!stop) {
        const t0 = performance.now();
        try {
          const held = await client.acquire(member, `fo-${r}-${seq++}`, lease, p.attemptMs);
          member = await releaseSurely(cluster.size, member, client, held, p.attemptMs, () => failed++);
          starts.push(t0);
          ends.push(performance.now());
        } catch {
          failed++;
          member = (member + 1) % cluster.size;
          await sleep(BACKOFF_MS);
        }
      }
    })();
    await sleep(STEADY_MS);
    const killAt = performance.now();
    await cluster.kill(leader);
    const deadline = killAt + p.maxRecoveryMs;
    let recoveryMs: number | null = null;
    while (performance.now() < deadline) {
      const k = starts.findIndex((s) => s >= killAt);
      if (k >= 0) {
        recoveryMs = (ends[k] as number) - killAt;
        break;
      }
      await sleep(5);
    }
    await sleep(STEADY_MS);
    stop = true;
    await loop;
    let longestGapMs = 0;
    for (let k = 1; k < ends.length; k++) longestGapMs = Math.max(longestGapMs, (ends[k] as number) - (ends[k - 1] as number));
    if (recoveryMs === null) longestGapMs = Math.max(longestGapMs, p.maxRecoveryMs);
    rounds.push({ recoveryMs, longestGapMs, failedAttempts: failed });
    say(`round ${r + 1}/${p.rounds}: killed member #${leader + 1}, next success after ${recoveryMs === null ? `more than ${p.maxRecoveryMs}` : recoveryMs.toFixed(0)} ms, longest gap ${longestGapMs.toFixed(0)} ms`);
    if (r === p.rounds - 1) break; // the cluster is thrown away after the last round
    await cluster.start(leader);
    await client.revoke(await cluster.leader(), lease, 2_000).catch(() => undefined);
    await sleep(SETTLE_MS);
  }
  const recoveries = rounds.map((x) => x.recoveryMs).filter((x): x is number => x !== null);
  return {
    rounds,
    recoveryMedianMs: recoveries.length === rounds.length ? median(recoveries) : null,
    recoveryMinMs: recoveries.length > 0 ? Math.min(...recoveries) : null,
    recoveryMaxMs: recoveries.length === rounds.length && recoveries.length > 0 ? Math.max(...recoveries) : null,
    longestGapMs: rounds.length > 0 ? Math.max(...rounds.map((x) => x.longestGapMs)) : null,
    attemptMs: p.attemptMs,
  };
}

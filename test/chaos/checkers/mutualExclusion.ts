import type { CheckResult, FencedWrite, History, LeaseLoss, Op } from '../history.js';
import { at, compareTokens, leaseTtls } from './describe.js';

/**
 * Checker 2: mutual exclusion as the fenced resource saw it.
 *
 * - No stale write: the store never accepted a token below one it had accepted
 *   before (by its own account, `highestBeforeToken`, and independently: an
 *   accepted write that started after another accepted write ended must not
 *   carry a lower token). A write refused with a token at least as high as
 *   the store's highest was lost, which is a store bug worth seeing too.
 * - No overlap: two accepted critical sections of different grants on one
 *   lock (at least one exclusive) never overlap in time, unless the earlier
 *   grant's client had already been told its lease was lost when the later
 *   one started (the case fencing exists for).
 * - No belief past the lease: a client never starts a write under a lease
 *   more than TTL after it sent the last keepalive the cluster acknowledged
 *   (from its LeaseLoss record, or from recorded keepalive ops), nor after it
 *   was told the lease was lost (see beliefPastLease).
 */

function describeWrite(history: History, w: FencedWrite): string {
  const verdict = w.accepted ? 'accepted' : 'refused';
  return `[${w.client}] write to ${JSON.stringify(w.lock)} lease ${w.leaseId} token ${w.token} (${w.mode}) ${at(history, w.startMs)}..${at(history, w.endMs)} ${verdict}`;
}

function staleWrites(history: History, violations: string[]): void {
  const accepted = history.writes.filter((w) => w.accepted);
  for (const w of history.writes) {
    if (w.highestBeforeToken === null) continue;
    const order = compareTokens(w.token, w.highestBeforeToken);
    if (w.accepted && order < 0) {
      violations.push(`stale write: ${describeWrite(history, w)} although the store had accepted token ${w.highestBeforeToken}`);
    }
    if (!w.accepted && order >= 0 && history.fencing) {
      violations.push(`lost write: ${describeWrite(history, w)} although its token is not below the store's highest ${w.highestBeforeToken}`);
    }
  }
  // Independently of the store's word: real-time order of accepted writes on a lock.
  const byLock = groupBy(accepted, (w) => w.lock);
  for (const writes of byLock.values()) {
    const byEnd = [...writes].sort((a, b) => a.endMs - b.endMs);
    let highest: FencedWrite | null = null;
    let next = 0;
    for (const w of [...writes].sort((a, b) => a.startMs - b.startMs)) {
      while (next < byEnd.length && byEnd[next]!.endMs < w.startMs) {
        const done = byEnd[next++]!;
        if (highest === null || compareTokens(done.token, highest.token) > 0) highest = done;
      }
      if (highest !== null && compareTokens(w.token, highest.token) < 0 && !storeAdmitsStale(w)) {
        violations.push(`stale write: ${describeWrite(history, w)} started after ${describeWrite(history, highest)} had ended`);
      }
    }
  }
}

/** storeAdmitsStale: the store's own account already shows `w` stale (reported above, not twice). */
function storeAdmitsStale(w: FencedWrite): boolean {
  return w.highestBeforeToken !== null && compareTokens(w.token, w.highestBeforeToken) < 0;
}

function overlaps(history: History, lossesOf: (client: string, lease: string) => LeaseLoss[], violations: string[]): number {
  let pairs = 0;
  const byLock = groupBy(
    history.writes.filter((w) => w.accepted),
    (w) => w.lock,
  );
  for (const writes of byLock.values()) {
    const sorted = [...writes].sort((a, b) => a.startMs - b.startMs);
    for (let i = 0; i < sorted.length; i++) {
      const a = sorted[i]!;
      for (let j = i + 1; j < sorted.length && sorted[j]!.startMs < a.endMs; j++) {
        const b = sorted[j]!;
        if (a.leaseId === b.leaseId && a.token === b.token) continue;
        if (a.mode === 'shared' && b.mode === 'shared') continue;
        pairs++;
        const [earlier, later] = compareTokens(a.token, b.token) <= 0 ? [a, b] : [b, a];
        const told = lossesOf(earlier.client, earlier.leaseId).some((loss) => loss.atMs <= later.startMs);
        if (told) continue;
        violations.push(
          `overlapping critical sections on ${JSON.stringify(a.lock)}: ${describeWrite(history, earlier)} and ${describeWrite(history, later)}; ` +
            `${earlier.client} had not been told its lease ${earlier.leaseId} was lost`,
        );
      }
    }
  }
  return pairs;
}

/**
 * beliefPastLease judges belief by action: a write is what a client does
 * because it believes it holds the lock. The time a loss was *announced*
 * (LeaseLoss.atMs, when the library's callback ran) can trail the library's
 * own deadline by however long the harness's event loop was busy, while the
 * library's `lost` flag reads the clock and is exact; so a late announcement
 * is counted (stats.lateLossNotices), and only acting on a dead lease is a
 * violation.
 */
function beliefPastLease(history: History, lossesOf: (client: string, lease: string) => LeaseLoss[], violations: string[]): number {
  let lateNotices = 0;
  for (const loss of history.leaseLosses) if (loss.atMs > loss.lastAckedKeepAliveSentMs + loss.ttlMs) lateNotices++;
  const ttls = leaseTtls(history);
  const renewals = renewalsByLease(history.ops);
  for (const w of history.writes) {
    const losses = lossesOf(w.client, w.leaseId);
    const told = losses.find((l) => l.atMs <= w.startMs);
    if (told !== undefined) {
      violations.push(`${describeWrite(history, w)} started after its client was told at ${at(history, told.atMs)} that the lease was lost`);
      continue;
    }
    const expired = losses.find((l) => w.startMs > l.lastAckedKeepAliveSentMs + l.ttlMs);
    if (expired !== undefined) {
      violations.push(
        `${describeWrite(history, w)} started more than the TTL ${expired.ttlMs}ms after the last acknowledged keepalive of its lease was sent (${at(history, expired.lastAckedKeepAliveSentMs)})`,
      );
      continue;
    }
    const acks = renewals.get(w.leaseId);
    const ttlMs = ttls.get(w.leaseId);
    if (acks === undefined || ttlMs === undefined || !acks.some((r) => r.kind === 'keepalive')) continue;
    let lastSentMs: number | null = null;
    for (const r of acks) if (r.completeMs! <= w.startMs && (lastSentMs === null || r.invokeMs > lastSentMs)) lastSentMs = r.invokeMs;
    if (lastSentMs !== null && w.startMs > lastSentMs + ttlMs) {
      violations.push(
        `${describeWrite(history, w)} started more than the TTL ${ttlMs}ms after the last acknowledged renewal of its lease was sent (${at(history, lastSentMs)})`,
      );
    }
  }
  return lateNotices;
}

/** renewalsByLease: the acknowledged grants and keepalives of each lease. */
function renewalsByLease(ops: readonly Op[]): Map<string, Op[]> {
  const out = new Map<string, Op[]>();
  for (const op of ops) {
    if ((op.kind !== 'grant' && op.kind !== 'keepalive') || op.outcome !== 'ok' || op.completeMs === null) continue;
    const lease = op.kind === 'grant' ? (op.result?.leaseId ?? op.leaseId) : op.leaseId;
    if (lease === undefined) continue;
    if (!out.has(lease)) out.set(lease, []);
    out.get(lease)!.push(op);
  }
  return out;
}

function groupBy<T>(items: readonly T[], keyOf: (item: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    if (!out.has(key)) out.set(key, []);
    out.get(key)!.push(item);
  }
  return out;
}

export function checkMutualExclusion(history: History): CheckResult {
  const violations: string[] = [];
  const losses = groupBy(history.leaseLosses, (l) => `${l.client}\u0000${l.leaseId}`);
  const lossesOf = (client: string, lease: string): LeaseLoss[] => losses.get(`${client}\u0000${lease}`) ?? [];
  staleWrites(history, violations);
  const overlappingPairs = overlaps(history, lossesOf, violations);
  const lateLossNotices = beliefPastLease(history, lossesOf, violations);
  return {
    checker: 'mutual-exclusion',
    ok: violations.length === 0,
    violations,
    stats: {
      writes: history.writes.length,
      accepted: history.writes.filter((w) => w.accepted).length,
      overlappingPairs,
      leaseLosses: history.leaseLosses.length,
      lateLossNotices,
    },
  };
}

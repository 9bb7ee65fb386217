import type { CheckResult, History, Op } from '../history.js';
import { compareTokens, describeOp } from './describe.js';

/**
 * Checker 3: fencing tokens strictly increase, per lock and across the whole
 * cluster. A grant that completed before another grant was invoked must have
 * the lower token (tokens are Raft indices of the granting entries, which
 * follow commit order); two grants of one lock may share a token only when
 * one entry promoted a run of shared waiters. A retry that reports an
 * existing grant is not a new grant and is left to the linearizability check.
 */

interface Grant {
  readonly op: Op;
  readonly token: string;
}

function newGrants(history: History): Grant[] {
  const grants: Grant[] = [];
  for (const op of history.ops) {
    if (op.kind !== 'acquire' || op.outcome !== 'ok' || op.completeMs === null) continue;
    if (op.result?.token === undefined || op.result.existing === true) continue;
    grants.push({ op, token: op.result.token });
  }
  return grants;
}

/**
 * realTimeOrder reports every grant whose token is not above the highest
 * token of the grants that completed before it was invoked.
 */
function realTimeOrder(history: History, grants: readonly Grant[], scope: string, violations: string[]): void {
  const byComplete = [...grants].sort((a, b) => a.op.completeMs! - b.op.completeMs!);
  const byInvoke = [...grants].sort((a, b) => a.op.invokeMs - b.op.invokeMs);
  let highest: Grant | null = null;
  let next = 0;
  for (const g of byInvoke) {
    while (next < byComplete.length && byComplete[next]!.op.completeMs! < g.op.invokeMs) {
      const done = byComplete[next++]!;
      if (highest === null || compareTokens(done.token, highest.token) > 0) highest = done;
    }
    if (highest !== null && compareTokens(g.token, highest.token) <= 0) {
      violations.push(
        `${scope}: token did not increase: ${describeOp(history, g.op)} was granted token ${g.token} after ${describeOp(history, highest.op)} had completed with token ${highest.token}`,
      );
    }
  }
}

/** sharedTokens: on one lock, equal tokens only for shared grants to different leases (one promotion). */
function sharedTokens(history: History, grants: readonly Grant[], lock: string, violations: string[]): void {
  const byToken = new Map<string, Grant[]>();
  for (const g of grants) {
    if (!byToken.has(g.token)) byToken.set(g.token, []);
    byToken.get(g.token)!.push(g);
  }
  for (const [token, same] of byToken) {
    if (same.length < 2) continue;
    const leases = new Set(same.map((g) => g.op.leaseId));
    if (same.every((g) => g.op.mode === 'shared') && leases.size === same.length) continue;
    violations.push(
      `lock ${JSON.stringify(lock)}: token ${token} granted more than once: ${same.map((g) => describeOp(history, g.op)).join('; ')}`,
    );
  }
}

export function checkTokenOrder(history: History): CheckResult {
  const violations: string[] = [];
  const grants = newGrants(history);
  const byLock = new Map<string, Grant[]>();
  for (const g of grants) {
    const lock = g.op.lock ?? '';
    if (!byLock.has(lock)) byLock.set(lock, []);
    byLock.get(lock)!.push(g);
  }
  for (const [lock, lockGrants] of byLock) {
    realTimeOrder(history, lockGrants, `lock ${JSON.stringify(lock)}`, violations);
    sharedTokens(history, lockGrants, lock, violations);
  }
  const perLock = violations.length;
  // Across locks, only what the per-lock pass has not already said.
  const overall: string[] = [];
  realTimeOrder(history, grants, 'across locks', overall);
  for (const line of overall) {
    const id = /op #(\d+)/.exec(line)?.[1];
    if (!violations.some((v) => v.includes(`op #${id} `))) violations.push(line);
  }
  return {
    checker: 'token-order',
    ok: violations.length === 0,
    violations,
    stats: { grants: grants.length, locks: byLock.size, perLockViolations: perLock },
  };
}

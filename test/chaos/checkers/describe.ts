import type { History, Op } from '../history.js';

/**
 * Shared wording for violations, so every checker names ops, clients, locks
 * and times the same way: times are relative to the run's start (`+1234ms`),
 * because the monotonic clock's absolute values mean nothing to a reader.
 */

/** at formats a monotonic time as milliseconds since the run started. */
export function at(history: History, ms: number | null): string {
  if (ms === null) return 'never';
  return `+${Math.round(ms - history.startMs)}ms`;
}

/** describeOp names one op: id, client, kind, its target, outcome and interval. */
export function describeOp(history: History, op: Op): string {
  const target = op.lock !== undefined ? ` ${JSON.stringify(op.lock)}` : '';
  const lease = op.leaseId !== undefined ? ` lease ${op.leaseId}` : '';
  const token = op.token !== undefined ? ` token ${op.token}` : '';
  const mode = op.kind === 'acquire' && op.mode !== undefined ? ` ${op.mode}` : '';
  const got = op.outcome === 'ok' && op.result?.token !== undefined ? ` -> token ${op.result.token}` : '';
  const error = op.error !== undefined ? ` (${op.error.code})` : '';
  return (
    `op #${op.id} [${op.client}] ${op.kind}${mode}${target}${lease}${token} ` +
    `${op.outcome}${got}${error} ${at(history, op.invokeMs)}..${at(history, op.completeMs)}`
  );
}

/** compareTokens orders uint64 decimal strings exactly (tokens exceed 2^53 in principle). */
export function compareTokens(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** leaseTtls maps each lease id to the TTL its grant answered (or asked for). */
export function leaseTtls(history: History): Map<string, number> {
  const ttls = new Map<string, number>();
  for (const op of history.ops) {
    if (op.kind !== 'grant' || op.outcome !== 'ok') continue;
    const id = op.result?.leaseId ?? op.leaseId;
    const ttlMs = op.result?.ttlMs ?? op.ttlMs;
    if (id !== undefined && ttlMs !== undefined) ttls.set(id, ttlMs);
  }
  for (const loss of history.leaseLosses) if (!ttls.has(loss.leaseId)) ttls.set(loss.leaseId, loss.ttlMs);
  return ttls;
}

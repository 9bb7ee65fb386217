import type { History } from '../history.js';

/**
 * sanityCheck: the harness's own checks of a history — what the harness
 * itself guarantees or can see directly, independent of the checkers:
 * - with fencing on, the store never accepted a token below the highest it
 *   had accepted for that lock (the store's rule held);
 * - every ok / fail op has a completion time not before its invocation;
 * - the run ended with a final state read after the heal;
 * - no live client was left with an op pending after the final heal
 *   (`stuckClients`, from Workload.stop).
 * Returns one line per problem (empty: sane).
 */
export function sanityCheck(h: History, stuckClients: readonly string[]): string[] {
  const problems: string[] = [];
  if (h.fencing) {
    for (const w of h.writes) {
      if (w.accepted && w.highestBeforeToken !== null && BigInt(w.token) < BigInt(w.highestBeforeToken)) {
        problems.push(`fenced store accepted a stale write: client ${w.client} lock ${w.lock} token ${w.token} < highest ${w.highestBeforeToken} at ${w.endMs.toFixed(1)} ms`);
      }
    }
  }
  for (const op of h.ops) {
    if (op.outcome !== 'unknown' && (op.completeMs === null || op.completeMs < op.invokeMs)) problems.push(`op ${op.id} (${op.client} ${op.kind}) is ${op.outcome} without a valid completion time`);
  }
  if (h.final === null) problems.push('no final state was read back');
  if (h.healedMs === null) problems.push('the run never recorded its final heal');
  for (const c of stuckClients) problems.push(`client ${c} still had an op pending after the final heal and the settle bound (liveness)`);
  return problems;
}

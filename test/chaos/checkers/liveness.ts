import type { CheckResult, History } from '../history.js';
import { at, describeOp } from './describe.js';

/**
 * Checker 5: liveness after the final heal. The cluster served a
 * linearizable request again within `boundMs` of `healedMs`, and no client
 * was left with an op still in flight (no reply, no timeout) at the end of the run that it invoked more
 * than `boundMs` (plus the op's own wait) before the end. The bound is a
 * parameter because what is "prompt" depends on the timing configuration; the
 * default is generous (see defaultLivenessBoundMs), so it catches a stuck
 * cluster, not a slow one.
 */

export interface LivenessOptions {
  readonly boundMs: number;
}

/**
 * defaultLivenessBoundMs: 60 s, or a hundred election timeouts if longer.
 * The harness measures from the heal through a SIGKILL and restart of every
 * node, and starting a node process takes seconds on a loaded machine (we
 * measured 8-10 s per start at a load average of 27 on 2 cores), so the
 * default is set to catch a cluster that is stuck, not one that is slow;
 * pass a tighter bound where the machine is known.
 */
export function defaultLivenessBoundMs(history: History): number {
  return Math.max(60_000, 100 * history.electionTimeoutMs);
}

export function checkLiveness(history: History, options: Partial<LivenessOptions> = {}): CheckResult {
  const boundMs = options.boundMs ?? defaultLivenessBoundMs(history);
  const violations: string[] = [];
  const servedAgainMs = history.final?.servedAgainMs ?? null;
  if (history.healedMs !== null) {
    if (servedAgainMs === null) {
      violations.push(`the cluster never served a linearizable request after the final heal at ${at(history, history.healedMs)}`);
    } else if (servedAgainMs - history.healedMs > boundMs) {
      violations.push(
        `the cluster served again only at ${at(history, servedAgainMs)}, ${Math.round(servedAgainMs - history.healedMs)}ms after the final heal at ${at(history, history.healedMs)} (bound ${boundMs}ms)`,
      );
    }
  }
  let pending = 0;
  for (const op of history.ops) {
    // An op that timed out carries its error; one with neither completion nor error was still in flight.
    if (op.completeMs !== null || op.error !== undefined) continue;
    pending++;
    const dueMs = op.invokeMs + (op.waitMs ?? 0) + boundMs;
    if (dueMs < history.endMs) {
      violations.push(`${describeOp(history, op)} was still pending when the run ended at ${at(history, history.endMs)} (due by ${at(history, dueMs)})`);
    }
  }
  return {
    checker: 'liveness',
    ok: violations.length === 0,
    violations,
    stats: { boundMs, pendingAtEnd: pending, recoveryMs: servedAgainMs === null || history.healedMs === null ? -1 : Math.round(servedAgainMs - history.healedMs) },
  };
}

import type { CheckResult, History } from '../history.js';
import { at } from './describe.js';
import { checkDurability } from './durability.js';
import { checkLinearizability, type LinearizabilityOptions } from './linearizability.js';
import { checkLiveness, type LivenessOptions } from './liveness.js';
import { checkMutualExclusion } from './mutualExclusion.js';
import { checkTokenOrder } from './tokenOrder.js';

/**
 * The chaos checkers: pure functions of a History, each answering a
 * CheckResult. `checkAll` runs all five; `formatReport` renders their
 * verdicts for a person reading a failed run.
 */

export { checkDurability, checkLinearizability, checkLiveness, checkMutualExclusion, checkTokenOrder };

export interface CheckOptions {
  readonly linearizability: Partial<LinearizabilityOptions>;
  readonly liveness: Partial<LivenessOptions>;
}

export function checkAll(history: History, options: Partial<CheckOptions> = {}): CheckResult[] {
  return [
    checkLinearizability(history, options.linearizability),
    checkMutualExclusion(history),
    checkTokenOrder(history),
    checkDurability(history),
    checkLiveness(history, options.liveness),
  ];
}

/** MAX_VIOLATIONS_SHOWN bounds a report; the count says how many were left out. */
const MAX_VIOLATIONS_SHOWN = 50;

export function formatReport(results: readonly CheckResult[], history: History): string {
  const failed = results.filter((r) => !r.ok);
  const lines: string[] = [
    `chaos run seed ${history.seed}: ${failed.length === 0 ? 'all checks passed' : `${failed.length} of ${results.length} checks FAILED`}`,
    `nodes ${history.nodes.join(', ')}; fencing ${history.fencing ? 'on' : 'off'}; ${history.ops.length} ops, ` +
      `${history.writes.length} writes, ${history.nemesis.length} nemesis events; ran ${Math.round(history.endMs - history.startMs)}ms; ` +
      `final heal ${at(history, history.healedMs)} (times are relative to the start of the run)`,
  ];
  for (const r of results) {
    const stats = Object.entries(r.stats)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    lines.push(`${r.ok ? 'ok  ' : 'FAIL'} ${r.checker}${stats === '' ? '' : ` (${stats})`}`);
    for (const v of r.violations.slice(0, MAX_VIOLATIONS_SHOWN)) lines.push(`     - ${v}`);
    if (r.violations.length > MAX_VIOLATIONS_SHOWN) lines.push(`     … and ${r.violations.length - MAX_VIOLATIONS_SHOWN} more`);
  }
  return `${lines.join('\n')}\n`;
}

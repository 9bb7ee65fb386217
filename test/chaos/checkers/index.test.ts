import { describe, expect, it } from 'vitest';
import { checkAll, formatReport } from './index.js';
import { finalState, HistoryBuilder, START_MS } from './historyBuilder.js';

function validHistory(): HistoryBuilder {
  const h = new HistoryBuilder();
  h.grant('c1', 'L1', 3000, [0, 5]);
  h.acquire('c1', 'L1', 'x', [10, 20], { token: '5' });
  h.write('c1', 'x', 'L1', '5', [25, 30], true, null);
  h.release('c1', 'L1', 'x', '5', [40, 50]);
  h.grant('c2', 'L2', 3000, [0, 5]);
  h.acquire('c2', 'L2', 'x', [60, 70], { token: '9' });
  h.write('c2', 'x', 'L2', '9', [75, 80], true, '5');
  return h;
}

describe('checkAll and formatReport', () => {
  it('passes a valid history and says so, with each checker on its own line', () => {
    const history = validHistory().build({ healedMs: START_MS + 50, final: finalState(['L1', 'L2'], { x: [['L2', '9']] }, 60) });
    const results = checkAll(history);
    expect(results.map((r) => [r.checker, r.ok])).toEqual([
      ['linearizability', true],
      ['mutual-exclusion', true],
      ['token-order', true],
      ['durability', true],
      ['liveness', true],
    ]);
    const report = formatReport(results, history);
    expect(report).toMatch(/^chaos run seed 1: all checks passed\n/);
    expect(report).toMatch(/^ok {3}linearizability \(locks=1 opsChecked=3 statesExplored=\d+ unknownLocks=0 x\.segments=3 x\.largestSegmentOps=1 x\.states=\d+\)$/m);
  });

  it('names the op ids, clients, locks and relative times of each violation', () => {
    const h = validHistory();
    h.write('c1', 'x', 'L1', '5', [90, 95], true, '9');
    const history = h.build({ fencing: false, final: finalState(['L1', 'L2'], { x: [] }) });
    const report = formatReport(checkAll(history), history);
    expect(report).toMatch(/^chaos run seed 1: 2 of 5 checks FAILED/);
    expect(report).toMatch(/^FAIL mutual-exclusion .*\n {5}- stale write: \[c1\] write to "x" lease L1 token 5 \(exclusive\) \+90ms\.\.\+95ms accepted/m);
    expect(report).toMatch(/- lost grant: op #5 \[c2\] acquire exclusive "x" lease L2 ok -> token 9 \+60ms\.\.\+70ms/);
  });
});

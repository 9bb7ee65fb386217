import { describe, expect, it } from 'vitest';
import { checkLiveness } from './liveness.js';
import { finalState, HistoryBuilder, START_MS } from './historyBuilder.js';

describe('liveness after the final heal', () => {
  it('accepts a cluster that served again within the bound with nothing left pending', () => {
    const h = new HistoryBuilder();
    h.acquire('c1', 'L1', 'x', [0, 10], { token: '5' });
    const r = checkLiveness(h.build({ healedMs: START_MS + 100, final: finalState([], {}, 900) }), { boundMs: 1000 });
    expect(r.violations).toEqual([]);
    expect(r.stats['recoveryMs']).toBe(800);
  });

  it('rejects a cluster that never served again, or too late', () => {
    const never = checkLiveness(new HistoryBuilder().build({ healedMs: START_MS + 100, final: finalState([], {}) }), { boundMs: 1000 });
    expect(never.violations[0]).toMatch(/never served/);
    const late = checkLiveness(new HistoryBuilder().build({ healedMs: START_MS + 100, final: finalState([], {}, 5000) }), { boundMs: 1000 });
    expect(late.violations[0]).toMatch(/served again only at \+5000ms, 4900ms after the final heal at \+100ms \(bound 1000ms\)/);
  });

  it('rejects an op left in flight long before the end, not one invoked just before it nor one that timed out', () => {
    const h = new HistoryBuilder();
    h.acquire('c1', 'L1', 'x', [0, null], { outcome: 'unknown' });
    h.acquire('c3', 'L3', 'x', [0, null], { outcome: 'unknown', code: 'UnavailableError' });
    h.acquire('c2', 'L2', 'x', [4500, null], { outcome: 'unknown' });
    const r = checkLiveness(h.build({ endMs: START_MS + 5000 }), { boundMs: 1000 });
    expect(r.violations).toHaveLength(1);
    expect(r.violations[0]).toMatch(/op #1 \[c1\].*still pending/);
  });
});

import { describe, expect, it } from 'vitest';
import { checkLinearizability, cutPoints } from './linearizability.js';
import { HistoryBuilder } from './historyBuilder.js';
import { mulberry32 } from '../../support/prng.js';

/**
 * The segmented search (cut at points no obligated op spans, carrying every
 * configuration reachable at each cut) must answer exactly what one search
 * over the whole lock answers. These histories put the only violation, or
 * the only explanation, across a cut.
 */

function both(h: HistoryBuilder) {
  const history = h.build();
  return { segmented: checkLinearizability(history, { strategy: 'segmented' }), whole: checkLinearizability(history, { strategy: 'whole' }) };
}

describe('cutPoints', () => {
  const op = (invokeMs: number, deadlineMs: number, obligated = true) => ({ invokeMs, deadlineMs, obligated });

  it('cuts only where every obligated op invoked earlier has completed strictly before the next invoke', () => {
    expect(cutPoints([op(0, 10), op(11, 20), op(20, 30), op(31, 40)])).toEqual([1, 3, 4]);
  });

  it('never cuts while an obligated op is in flight, however many short ops complete meanwhile', () => {
    expect(cutPoints([op(0, 100), op(10, 20), op(30, 40), op(50, 60), op(101, 110)])).toEqual([4, 5]);
  });

  it('an op of unknown outcome does not block a cut (it stays open in the carried configurations)', () => {
    expect(cutPoints([op(0, Infinity, false), op(10, 20), op(30, 40)])).toEqual([1, 2, 3]);
  });
});

describe('segmented linearizability: violations across cuts are still found', () => {
  it('a release in flight across many short ops: the lock shows held again after the release completed', () => {
    const h = new HistoryBuilder();
    h.acquire('c1', 'L1', 'x', [0, 10], { token: '5' });
    h.release('c1', 'L1', 'x', '5', [20, 200]);
    h.get('c2', 'x', [30, 40], [['L1', '5']]);
    h.get('c2', 'x', [50, 60], []);
    h.get('c2', 'x', [210, 220], [['L1', '5']]);
    const { segmented, whole } = both(h);
    expect(segmented.ok).toBe(false);
    expect(segmented.violations[0]).toMatch(/lock "x": not linearizable/);
    expect(whole.ok).toBe(false);
    expect(segmented.stats['x.segments']).toBeGreaterThan(1);
  });

  it('an unknown acquire on a live lease that lands after a cut, then vanishes and comes back', () => {
    const h = new HistoryBuilder();
    h.acquire('w', 'W', 'x', [0, 5], { outcome: 'unknown' });
    h.get('g', 'x', [10, 20], []);
    h.get('g', 'x', [30, 40], [['W', '12']]);
    // Gone (released? it has no release: its lease died), then held by the dead lease again.
    h.get('g', 'x', [50, 60], []);
    h.get('g', 'x', [70, 80], [['W', '12']]);
    const { segmented, whole } = both(h);
    expect(segmented.stats['x.segments']).toBe(5);
    expect(segmented.ok).toBe(false);
    expect(whole.ok).toBe(false);
  });

  it('of two states reachable at a cut, the one a later op needs is not the one a later Get allows', () => {
    const h = new HistoryBuilder();
    h.acquire('a', 'A', 'x', [0, 5], { outcome: 'unknown' });
    h.acquire('b', 'B', 'x', [0, 5], { outcome: 'unknown' });
    h.acquire('c', 'C', 'x', [10, 20], { outcome: 'fail', code: 'LockHeldError' });
    // B held, released: acknowledged; then a Get still shows B.
    h.release('b', 'B', 'x', '7', [30, 40]);
    h.get('g', 'x', [50, 60], [['B', '7']]);
    const { segmented, whole } = both(h);
    expect(segmented.stats['x.segments']).toBeGreaterThan(1);
    expect(segmented.ok).toBe(false);
    expect(whole.ok).toBe(false);
  });
});

describe('segmented linearizability: what the model remembers crosses the cuts', () => {
  it('a token below one granted several cuts earlier', () => {
    const h = new HistoryBuilder();
    h.acquire('c1', 'L1', 'x', [0, 10], { token: '9' });
    h.release('c1', 'L1', 'x', '9', [20, 30]);
    h.get('g', 'x', [40, 50], []);
    h.acquire('c2', 'L2', 'x', [60, 70], { token: '7' });
    const { segmented, whole } = both(h);
    expect(segmented.stats['x.segments']).toBe(4);
    expect(segmented.ok).toBe(false);
    expect(whole.ok).toBe(false);
  });
});

describe('segmented linearizability: valid histories with unknowns across cuts still pass', () => {
  it('an unknown acquire that takes effect only several cuts after it was invoked', () => {
    const h = new HistoryBuilder();
    h.acquire('w', 'W', 'x', [0, 5], { outcome: 'unknown' });
    h.get('g', 'x', [10, 20], []);
    h.get('g', 'x', [30, 40], []);
    h.get('g', 'x', [50, 60], []);
    h.get('g', 'x', [70, 80], [['W', '12']]);
    const { segmented } = both(h);
    expect(segmented.stats['x.segments']).toBe(5);
    expect(segmented.violations).toEqual([]);
  });

  it('the state a later op needs is the second of two reachable at the cut, not the first a search finds', () => {
    const h = new HistoryBuilder();
    h.acquire('a', 'A', 'x', [0, 5], { outcome: 'unknown' });
    h.acquire('b', 'B', 'x', [0, 5], { outcome: 'unknown' });
    h.acquire('c', 'C', 'x', [10, 20], { outcome: 'fail', code: 'LockHeldError' });
    // Only "B took the lock" explains this release; "A took it" is explored first.
    h.release('b', 'B', 'x', '7', [30, 40]);
    h.get('g', 'x', [50, 60], []);
    const { segmented, whole } = both(h);
    expect(segmented.stats['x.segments']).toBeGreaterThan(1);
    expect(segmented.stats['x.largestCarried']).toBeGreaterThan(1);
    expect(segmented.violations).toEqual([]);
    expect(whole.violations).toEqual([]);
  });

  it('an unknown release that lands after a cut (its lease lives on, so only the release explains the free lock)', () => {
    const h = new HistoryBuilder();
    h.acquire('c1', 'L1', 'x', [0, 10], { token: '5' });
    h.release('c1', 'L1', 'x', '5', [20, 30], 'unknown');
    h.get('g', 'x', [40, 50], [['L1', '5']]);
    h.get('g', 'x', [60, 70], []);
    h.acquire('c1', 'L1', 'x', [80, 90], { token: '9' });
    const { segmented } = both(h);
    expect(segmented.stats['x.segments']).toBe(5);
    expect(segmented.violations).toEqual([]);
  });

  it('answers unknown, not ok, when more configurations reach one cut than it may carry', () => {
    const h = new HistoryBuilder();
    h.acquire('a', 'A', 'x', [0, 5], { outcome: 'unknown' });
    h.acquire('b', 'B', 'x', [0, 5], { outcome: 'unknown' });
    h.acquire('c', 'C', 'x', [10, 20], { outcome: 'fail', code: 'LockHeldError' });
    h.release('b', 'B', 'x', '7', [30, 40]);
    const r = checkLinearizability(h.build(), { strategy: 'segmented', maxCarriedPerCut: 1 });
    expect(r.ok).toBe(false);
    expect(r.violations[0]).toMatch(/unknown: more than 1 configurations reachable at one cut/);
  });
});

describe('segmented linearizability: agrees with the whole search on random small histories', () => {


  /**
   * randomHistory: three leases on one lock, simulated in invocation order (so
   * it is linearizable), with overlapping spans and gaps (so cuts happen), a
   * quarter of the outcomes unknown (applied or not), and one in ten results
   * corrupted (so many histories are not linearizable).
   */
  function randomHistory(seed: number): HistoryBuilder {
    const rand = mulberry32(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const h = new HistoryBuilder();
    let holder: { lease: string; token: number } | null = null;
    let t = 0;
    let nextToken = 1;
    for (let n = 0; n < 9; n++) {
      t += Math.floor(rand() * 12);
      const span: [number, number | null] = [t, t + 1 + Math.floor(rand() * 15)];
      const lease = pick(['A', 'B', 'C']);
      const unknown = rand() < 0.25;
      const lie = rand() < 0.1;
      const kind = pick(['acquire', 'acquire', 'release', 'get'] as const);
      if (kind === 'acquire') {
        const free: boolean = holder === null;
        if (unknown) {
          h.acquire('c', lease, 'x', span, { outcome: 'unknown' });
          if (free && rand() < 0.5) holder = { lease, token: (nextToken += 2) };
        } else if (free !== lie) {
          const token: number = free ? (nextToken += 2) : nextToken + 2;
          h.acquire('c', lease, 'x', span, { token: String(token) });
          if (free) holder = { lease, token };
        } else if (holder?.lease === lease) {
          h.acquire('c', lease, 'x', span, { token: String(holder.token), existing: true });
        } else {
          h.acquire('c', lease, 'x', span, { outcome: 'fail', code: 'LockHeldError' });
        }
      } else if (kind === 'release') {
        if (holder === null) continue;
        h.release('c', holder.lease, 'x', String(holder.token), span, unknown ? 'unknown' : 'ok');
        if (!unknown || rand() < 0.5) holder = lie ? holder : null;
      } else {
        const shown = lie ? (holder === null ? { lease, token: nextToken } : null) : holder;
        h.get('g', 'x', span, shown === null ? [] : [[shown.lease, String(shown.token)]]);
      }
    }
    return h;
  }

  it('300 seeded histories: same verdict segmented and whole (replay a seed with randomHistory(seed))', () => {
    let accepted = 0;
    let segmentedMany = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const { segmented, whole } = both(randomHistory(seed));
      expect({ seed, ok: segmented.ok }).toEqual({ seed, ok: whole.ok });
      if (segmented.ok) accepted++;
      if ((segmented.stats['x.segments'] ?? 0) > 2) segmentedMany++;
    }
    // The sample must hold both verdicts and real cuts, or it compares nothing.
    expect(accepted).toBeGreaterThan(10);
    expect(accepted).toBeLessThan(290);
    expect(segmentedMany).toBeGreaterThan(50);
  });
});

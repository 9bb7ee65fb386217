import { describe, expect, it } from 'vitest';
import { checkLinearizability } from './linearizability.js';
import { HistoryBuilder } from './historyBuilder.js';

function verdict(h: HistoryBuilder, maxStatesPerLock?: number) {
  return checkLinearizability(h.build(), maxStatesPerLock === undefined ? {} : { maxStatesPerLock });
}

describe('linearizability: rejected histories', () => {
  it('a stale read: a Get after the release completed still shows the holder', () => {
    const h = new HistoryBuilder();
    h.acquire('c1', 'L1', 'x', [0, 10], { token: '5' });
    h.release('c1', 'L1', 'x', '5', [20, 30]);
    h.get('c2', 'x', [40, 50], [['L1', '5']]);
    const r = verdict(h);
    expect(r.ok).toBe(false);
    expect(r.violations[0]).toMatch(/lock "x": not linearizable.*op #3 \[c2\] get/);
  });

  it('a double grant: a second exclusive grant while the first holder could still release', () => {
    const h = new HistoryBuilder();
    h.acquire('c1', 'L1', 'x', [0, 10], { token: '5' });
    h.acquire('c2', 'L2', 'x', [20, 30], { token: '7' });
    h.release('c1', 'L1', 'x', '5', [40, 50]);
    expect(verdict(h).ok).toBe(false);
  });

  it('a double grant seen by a Get: two exclusive holders at once', () => {
    const h = new HistoryBuilder();
    h.acquire('c1', 'L1', 'x', [0, 10], { token: '5' });
    h.acquire('c2', 'L2', 'x', [20, 30], { token: '7' });
    h.get('c3', 'x', [40, 50], [['L1', '5'], ['L2', '7']]);
    expect(verdict(h).ok).toBe(false);
  });

  it('a lost release: after an acknowledged release a try-lock is refused as held, with nobody else holding', () => {
    const h = new HistoryBuilder();
    h.acquire('c1', 'L1', 'x', [0, 10], { token: '5' });
    h.release('c1', 'L1', 'x', '5', [20, 30]);
    h.acquire('c2', 'L2', 'x', [40, 50], { outcome: 'fail', code: 'LockHeldError' });
    expect(verdict(h).ok).toBe(false);
  });

  it('a token that does not increase on a later grant', () => {
    const h = new HistoryBuilder();
    h.acquire('c1', 'L1', 'x', [0, 10], { token: '9' });
    h.release('c1', 'L1', 'x', '9', [20, 30]);
    h.acquire('c2', 'L2', 'x', [40, 50], { token: '7' });
    expect(verdict(h).ok).toBe(false);
  });

  it('a retry that reports an existing grant with another token', () => {
    const h = new HistoryBuilder();
    h.acquire('c1', 'L1', 'x', [0, 10], { token: '5' });
    h.acquire('c1', 'L1', 'x', [20, 30], { token: '6', existing: true });
    expect(verdict(h).ok).toBe(false);
  });

  it('a waiter granted before the holder released, while the holder was alive to release it', () => {
    const h = new HistoryBuilder();
    h.acquire('c1', 'L1', 'x', [0, 10], { token: '5' });
    h.acquire('c2', 'L2', 'x', [20, 30], { token: '8', wait: true });
    h.release('c1', 'L1', 'x', '5', [40, 50]);
    expect(verdict(h).ok).toBe(false);
  });

  it('a lease refused as not found, then used to acquire', () => {
    const h = new HistoryBuilder();
    h.acquire('c1', 'L1', 'x', [0, 10], { outcome: 'fail', code: 'LeaseNotFoundError' });
    h.acquire('c1', 'L1', 'x', [20, 30], { token: '5' });
    expect(verdict(h).ok).toBe(false);
  });

  it('a waiter told "lease not found" that was in fact granted', () => {
    const h = new HistoryBuilder();
    h.acquire('c1', 'L1', 'x', [0, 10], { token: '3' });
    h.acquire('c2', 'L2', 'x', [20, 1100], { wait: true, outcome: 'fail', code: 'LeaseNotFoundError' });
    h.release('c1', 'L1', 'x', '3', [30, 40]);
    h.get('c3', 'x', [50, 60], [['L2', '35']]);
    expect(verdict(h).ok).toBe(false);
  });

  it('a waiter whose wait ran out (withdrawn) shows up as a holder', () => {
    const h = new HistoryBuilder();
    h.acquire('c1', 'L1', 'x', [0, 10], { token: '5' });
    h.acquire('c2', 'L2', 'x', [20, 100], { outcome: 'fail', wait: true, code: 'DeadlineExceededError' });
    h.release('c1', 'L1', 'x', '5', [30, 40]);
    h.get('c3', 'x', [110, 120], [['L2', '40']]);
    expect(verdict(h).ok).toBe(false);
  });
});

describe('linearizability: accepted histories', () => {
  it('an acquire that timed out but took effect (a Get shows it, and binds its token)', () => {
    const h = new HistoryBuilder();
    h.acquire('c1', 'L1', 'x', [0, null], { outcome: 'unknown' });
    h.get('c2', 'x', [40, 50], [['L1', '5']]);
    h.release('c1', 'L1', 'x', '5', [60, 70]);
    h.acquire('c2', 'L2', 'x', [80, 90], { token: '9' });
    const r = verdict(h);
    expect(r.violations).toEqual([]);
    expect(r.ok).toBe(true);
  });

  it('an acquire that timed out and never took effect', () => {
    const h = new HistoryBuilder();
    h.acquire('c1', 'L1', 'x', [0, 20], { outcome: 'unknown' });
    h.get('c2', 'x', [40, 50], []);
    h.acquire('c2', 'L2', 'x', [60, 70], { token: '9' });
    expect(verdict(h).violations).toEqual([]);
  });

  it('an unknown acquire that takes effect only after a later op (it may land any time after invoke)', () => {
    const h = new HistoryBuilder();
    h.acquire('c1', 'L1', 'x', [0, 5], { outcome: 'unknown' });
    h.get('c2', 'x', [10, 20], []);
    h.get('c2', 'x', [30, 40], [['L1', '12']]);
    expect(verdict(h).violations).toEqual([]);
  });

  it('concurrent overlapping ops in an order other than their invocations', () => {
    const h = new HistoryBuilder();
    h.acquire('c1', 'L1', 'x', [0, 50], { token: '7' });
    h.acquire('c2', 'L2', 'x', [10, 20], { outcome: 'fail', code: 'LockHeldError' });
    h.get('c3', 'x', [5, 60], [['L1', '7']]);
    h.acquire('c4', 'L4', 'x', [1, 15], { token: '4' });
    h.release('c4', 'L4', 'x', '4', [16, 18]);
    expect(verdict(h).violations).toEqual([]);
  });

  it('shared holders together, and an exclusive waiter behind them', () => {
    const h = new HistoryBuilder();
    h.acquire('c1', 'L1', 'x', [0, 10], { token: '5', mode: 'shared' });
    h.acquire('c2', 'L2', 'x', [5, 15], { token: '6', mode: 'shared' });
    h.acquire('c3', 'L3', 'x', [20, 100], { token: '12', wait: true });
    h.get('c4', 'x', [30, 40], [['L1', '5', 'shared'], ['L2', '6', 'shared']], ['L3']);
    h.acquire('c4', 'L4', 'x', [41, 45], { mode: 'shared', outcome: 'fail', code: 'LockHeldError' });
    h.release('c1', 'L1', 'x', '5', [50, 60]);
    h.release('c2', 'L2', 'x', '6', [70, 80]);
    expect(verdict(h).violations).toEqual([]);
  });

  it('a run of shared waiters promoted together under one token', () => {
    const h = new HistoryBuilder();
    h.acquire('c1', 'L1', 'x', [0, 10], { token: '5' });
    h.acquire('c2', 'L2', 'x', [20, 100], { token: '30', mode: 'shared', wait: true });
    h.acquire('c3', 'L3', 'x', [25, 100], { token: '30', mode: 'shared', wait: true });
    h.release('c1', 'L1', 'x', '5', [50, 60]);
    expect(verdict(h).violations).toEqual([]);
  });

  it('a holder whose lease expired: the next waiter is granted without a release', () => {
    const h = new HistoryBuilder();
    h.acquire('c1', 'L1', 'x', [0, 10], { token: '5' });
    h.acquire('c2', 'L2', 'x', [20, 3000], { token: '40', wait: true });
    h.release('c1', 'L1', 'x', '5', [3100, 3110], 'fail');
    h.acquire('c1', 'L1', 'x', [3200, 3210], { outcome: 'fail', code: 'LeaseNotFoundError' });
    expect(verdict(h).violations).toEqual([]);
  });

  it('an acquire whose retry found its own first attempt granted (existing) is one grant', () => {
    const h = new HistoryBuilder();
    h.acquire('c1', 'L1', 'x', [0, 10], { token: '5', existing: true });
    h.get('c2', 'x', [20, 30], [['L1', '5']]);
    expect(verdict(h).violations).toEqual([]);
  });

  it('a revoke of a lease already gone counts as success', () => {
    const h = new HistoryBuilder();
    h.acquire('c1', 'L1', 'x', [0, 10], { outcome: 'fail', code: 'LeaseNotFoundError' });
    h.revoke('c1', 'L1', [20, 30]);
    expect(verdict(h).violations).toEqual([]);
  });

  it('a queued waiter told "lease not found" when its lease expired in the queue', () => {
    const h = new HistoryBuilder();
    h.acquire('c1', 'L1', 'x', [0, 10], { token: '3' });
    h.acquire('c2', 'L2', 'x', [20, 1100], { wait: true, outcome: 'fail', code: 'LeaseNotFoundError' });
    h.get('c3', 'x', [21, 200], [['L1', '3']], ['L2']);
    h.get('c3', 'x', [1101, 1200], [['L1', '3']], []);
    h.release('c1', 'L1', 'x', '3', [1201, 1300]);
    h.get('c3', 'x', [1301, 1400], []);
    expect(verdict(h).violations).toEqual([]);
  });

  it('a revoked lease releases its lock', () => {
    const h = new HistoryBuilder();
    h.acquire('c1', 'L1', 'x', [0, 10], { token: '5' });
    h.revoke('c1', 'L1', [20, 30]);
    h.acquire('c2', 'L2', 'x', [40, 50], { token: '9' });
    expect(verdict(h).violations).toEqual([]);
  });

  it('a retried acquire takes over the wait its lost first attempt queued', () => {
    const h = new HistoryBuilder();
    h.acquire('c1', 'L1', 'x', [0, 10], { token: '5' });
    h.acquire('c2', 'L2', 'x', [20, 30], { outcome: 'unknown', wait: true });
    h.acquire('c2', 'L2', 'x', [40, 200], { token: '60', wait: true });
    h.get('c3', 'x', [45, 50], [['L1', '5']], ['L2']);
    h.release('c1', 'L1', 'x', '5', [100, 110]);
    expect(verdict(h).violations).toEqual([]);
  });

  it('a withdrawn wait that blocked a shared request while it was queued', () => {
    const h = new HistoryBuilder();
    h.acquire('c1', 'L1', 'x', [0, 10], { token: '5', mode: 'shared' });
    h.acquire('c2', 'L2', 'x', [20, 100], { outcome: 'fail', wait: true, code: 'DeadlineExceededError' });
    h.acquire('c3', 'L3', 'x', [40, 50], { mode: 'shared', outcome: 'fail', code: 'LockHeldError' });
    h.acquire('c3', 'L3', 'x', [110, 120], { token: '20', mode: 'shared' });
    expect(verdict(h).violations).toEqual([]);
  });
});

describe('linearizability: budget', () => {
  it('answers unknown, not a verdict, when the search budget runs out', () => {
    const h = new HistoryBuilder();
    for (let i = 0; i < 12; i++) h.acquire(`c${i}`, `L${i}`, 'x', [0, null], { outcome: 'unknown', wait: true, mode: 'shared' });
    h.get('g', 'x', [10, 20], [['L99', '1']]);
    const r = verdict(h, 50);
    expect(r.ok).toBe(false);
    expect(r.violations[0]).toMatch(/unknown: search budget exceeded/);
    expect(r.stats['unknownLocks']).toBe(1);
  });
});

describe('linearizability: long histories', () => {
  /** A long run of clients taking turns on one lock, each grant on a fresh lease that is revoked after use. */
  function turns(h: HistoryBuilder, count: number, fromMs: number): number {
    let t = fromMs;
    for (let i = 0; i < count; i++) {
      const lease = `T${i}`;
      h.acquire(`c${i % 8}`, lease, 'x', [t, t + 5], { token: String(1_000 + i) });
      // A timed-out try of another client overlaps every turn: an op of unknown outcome the search must fold away.
      h.acquire(`u${i % 8}`, `U${i}`, 'x', [t + 1, null], { outcome: 'unknown' });
      h.release(`c${i % 8}`, lease, 'x', String(1_000 + i), [t + 6, t + 9]);
      h.revoke(`u${i % 8}`, `U${i}`, [t + 10, t + 11]);
      t += 12;
    }
    return t;
  }

  it('checks thousands of ops on one lock within a budget proportional to their number', () => {
    const h = new HistoryBuilder();
    turns(h, 3_000, 0);
    const r = verdict(h, 40_000);
    expect(r.violations).toEqual([]);
    expect(r.stats['opsChecked']).toBe(12_000);
  });

  it('still knows a lease revoked thousands of ops ago is gone (a later grant on it is rejected)', () => {
    const h = new HistoryBuilder();
    h.acquire('old', 'OLD', 'x', [0, 5], { token: '1' });
    h.release('old', 'OLD', 'x', '1', [6, 7]);
    h.revoke('old', 'OLD', [8, 9]);
    const t = turns(h, 2_000, 10);
    h.acquire('old', 'OLD', 'x', [t, t + 5], { token: '999999' });
    expect(verdict(h, 40_000).violations[0]).toMatch(/lock "x": not linearizable.*\[old\] acquire/);
  });

  it('still knows a lease revoked thousands of ops ago is gone (a later "lease not found" is accepted)', () => {
    const h = new HistoryBuilder();
    h.acquire('old', 'OLD', 'x', [0, 5], { token: '1' });
    h.release('old', 'OLD', 'x', '1', [6, 7]);
    h.revoke('old', 'OLD', [8, 9]);
    const t = turns(h, 2_000, 10);
    h.acquire('old', 'OLD', 'x', [t, t + 5], { outcome: 'fail', code: 'LeaseNotFoundError' });
    expect(verdict(h, 40_000).violations).toEqual([]);
  });

  it('keeps an old wait of unknown outcome on a live lease pending: it may still take effect thousands of ops later', () => {
    const h = new HistoryBuilder();
    h.acquire('w', 'W', 'x', [0, null], { outcome: 'unknown', wait: true });
    const t = turns(h, 2_000, 10);
    // Only W's early wait, granted at the very end, explains this Get.
    h.get('g', 'x', [t, t + 5], [['W', '777777']]);
    // The search first tries W's expiry (its cheapest explanation) all the way down, so this one needs the default budget.
    expect(verdict(h).violations).toEqual([]);
  });
});

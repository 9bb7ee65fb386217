import { describe, expect, it } from 'vitest';
import { checkTokenOrder } from './tokenOrder.js';
import { HistoryBuilder } from './historyBuilder.js';

describe('token order', () => {
  it('rejects a token that does not increase on one lock', () => {
    const h = new HistoryBuilder();
    h.acquire('c1', 'L1', 'x', [0, 10], { token: '9' });
    h.acquire('c2', 'L2', 'x', [20, 30], { token: '9' });
    const r = checkTokenOrder(h.build());
    expect(r.ok).toBe(false);
    expect(r.violations.some((v) => /lock "x": token did not increase: op #2/.test(v))).toBe(true);
  });

  it('rejects a token that goes backwards across locks', () => {
    const h = new HistoryBuilder();
    h.acquire('c1', 'L1', 'x', [0, 10], { token: '9' });
    h.acquire('c2', 'L2', 'y', [20, 30], { token: '4' });
    expect(checkTokenOrder(h.build()).violations).toEqual([expect.stringMatching(/^across locks: token did not increase: op #2/)]);
  });

  it('rejects one token granted to two exclusive holders of a lock, even concurrently', () => {
    const h = new HistoryBuilder();
    h.acquire('c1', 'L1', 'x', [0, 30], { token: '9' });
    h.acquire('c2', 'L2', 'x', [5, 35], { token: '9' });
    expect(checkTokenOrder(h.build()).violations[0]).toMatch(/token 9 granted more than once/);
  });

  it('accepts concurrent grants completing out of token order, shared promotions and retries', () => {
    const h = new HistoryBuilder();
    h.acquire('c1', 'L1', 'x', [0, 30], { token: '12' });
    h.acquire('c2', 'L2', 'y', [5, 20], { token: '14' });
    h.acquire('c3', 'L3', 'z', [40, 90], { token: '20', mode: 'shared', wait: true });
    h.acquire('c4', 'L4', 'z', [41, 90], { token: '20', mode: 'shared', wait: true });
    h.acquire('c1', 'L1', 'x', [100, 110], { token: '12', existing: true });
    expect(checkTokenOrder(h.build()).violations).toEqual([]);
  });
});

import { describe, expect, it } from 'vitest';
import { checkDurability } from './durability.js';
import { finalState, HistoryBuilder } from './historyBuilder.js';

describe('durability against the final state', () => {
  it('rejects a lost acknowledged grant (lease alive, never released)', () => {
    const h = new HistoryBuilder();
    h.grant('c1', 'L1', 3000, [0, 5]);
    h.acquire('c1', 'L1', 'x', [10, 20], { token: '5' });
    const r = checkDurability(h.build({ final: finalState(['L1'], { x: [] }) }));
    expect(r.ok).toBe(false);
    expect(r.violations[0]).toMatch(/lost grant: op #2 \[c1\] acquire exclusive "x" lease L1 ok -> token 5/);
  });

  it('rejects a grant that came back with another token', () => {
    const h = new HistoryBuilder();
    h.grant('c1', 'L1', 3000, [0, 5]);
    h.acquire('c1', 'L1', 'x', [10, 20], { token: '5' });
    expect(checkDurability(h.build({ final: finalState(['L1'], { x: [['L1', '6']] }) })).ok).toBe(false);
  });

  it('rejects a lost release, a lost revoke and a lost lease', () => {
    const h = new HistoryBuilder();
    h.grant('c1', 'L1', 3000, [0, 5]);
    h.acquire('c1', 'L1', 'x', [10, 20], { token: '5' });
    h.release('c1', 'L1', 'x', '5', [30, 40]);
    h.grant('c2', 'L2', 3000, [0, 5]);
    h.revoke('c2', 'L2', [50, 60]);
    h.grant('c3', 'L3', 3000, [0, 5]);
    const r = checkDurability(h.build({ final: finalState(['L1', 'L2'], { x: [['L1', '5']] }) }));
    expect(r.violations.map((v) => v.split(':')[0])).toEqual(['lost release', 'lost revoke', 'lost lease']);
  });

  it('accepts grants released, lapsed or revoked, and leases that were lost', () => {
    const h = new HistoryBuilder();
    h.grant('c1', 'L1', 3000, [0, 5]);
    h.acquire('c1', 'L1', 'x', [10, 20], { token: '5' });
    h.release('c1', 'L1', 'x', '5', [30, null], 'unknown');
    h.grant('c2', 'L2', 1000, [0, 5]);
    h.acquire('c2', 'L2', 'y', [10, 20], { token: '7' });
    h.loss('c2', 'L2', 1000, 900, 0);
    h.grant('c3', 'L3', 3000, [0, 5]);
    h.acquire('c3', 'L3', 'z', [10, 20], { token: '9' });
    expect(checkDurability(h.build({ final: finalState(['L1', 'L3'], { x: [], y: [], z: [['L3', '9']] }) })).violations).toEqual([]);
  });

  it('rejects a history without a final state, and a holder whose lease does not exist', () => {
    expect(checkDurability(new HistoryBuilder().build()).ok).toBe(false);
    expect(checkDurability(new HistoryBuilder().build({ final: finalState([], { x: [['L9', '3']] }) })).violations[0]).toMatch(/inconsistent final state/);
  });
});

import { describe, expect, it } from 'vitest';
import { checkMutualExclusion } from './mutualExclusion.js';
import { HistoryBuilder } from './historyBuilder.js';

describe('mutual exclusion', () => {
  it('rejects a stale fenced write the store accepted (fencing off)', () => {
    const h = new HistoryBuilder();
    h.write('c2', 'x', 'L2', '9', [100, 110], true, null);
    h.write('c1', 'x', 'L1', '5', [120, 130], true, '9');
    const r = checkMutualExclusion(h.build({ fencing: false }));
    expect(r.ok).toBe(false);
    expect(r.violations).toHaveLength(1);
    expect(r.violations[0]).toMatch(/stale write: \[c1\] write to "x" lease L1 token 5 .* accepted although the store had accepted token 9/);
  });

  it('rejects a stale write even when the store misreports what it had seen', () => {
    const h = new HistoryBuilder();
    h.write('c2', 'x', 'L2', '9', [100, 110], true, null);
    h.write('c1', 'x', 'L1', '5', [120, 130], true, null);
    expect(checkMutualExclusion(h.build()).violations[0]).toMatch(/stale write.*started after/);
  });

  it('accepts a stale write the store refused, and counts nothing lost', () => {
    const h = new HistoryBuilder();
    h.write('c2', 'x', 'L2', '9', [100, 110], true, null);
    h.write('c1', 'x', 'L1', '5', [120, 130], false, '9');
    expect(checkMutualExclusion(h.build()).violations).toEqual([]);
  });

  it('rejects a write refused although its token was the highest (a lost write)', () => {
    const h = new HistoryBuilder();
    h.write('c1', 'x', 'L1', '5', [100, 110], true, null);
    h.write('c2', 'x', 'L2', '9', [120, 130], false, '5');
    expect(checkMutualExclusion(h.build()).violations[0]).toMatch(/lost write/);
  });

  it('rejects overlapping exclusive critical sections of two grants', () => {
    const h = new HistoryBuilder();
    h.write('c1', 'x', 'L1', '5', [100, 200], true, null);
    h.write('c2', 'x', 'L2', '9', [150, 160], true, '5');
    const r = checkMutualExclusion(h.build());
    expect(r.ok).toBe(false);
    expect(r.violations[0]).toMatch(/overlapping critical sections on "x".*c1 had not been told its lease L1 was lost/);
  });

  it('accepts an overlap once the earlier holder was told its lease was lost, and shared overlaps', () => {
    const h = new HistoryBuilder();
    h.write('c1', 'x', 'L1', '5', [100, 200], true, null);
    h.loss('c1', 'L1', 3000, 140, 0);
    h.write('c2', 'x', 'L2', '9', [150, 160], true, '5');
    h.write('c3', 'y', 'L3', '11', [100, 200], true, null, 'shared');
    h.write('c4', 'y', 'L4', '12', [150, 250], true, '11', 'shared');
    expect(checkMutualExclusion(h.build()).violations).toEqual([]);
  });

  it('rejects a write started more than TTL after the last acknowledged keepalive, even before the loss was announced', () => {
    const h = new HistoryBuilder();
    h.write('c1', 'x', 'L1', '5', [3100, 3150], true, null);
    h.write('c1', 'x', 'L1', '5', [3300, 3350], true, '5');
    h.loss('c1', 'L1', 3000, 3500, 200);
    const r = checkMutualExclusion(h.build());
    expect(r.violations).toHaveLength(1);
    expect(r.violations[0]).toMatch(/\+3300ms.*started more than the TTL 3000ms after the last acknowledged keepalive of its lease was sent \(\+200ms\)/);
    expect(r.stats['lateLossNotices']).toBe(1);
  });

  it('rejects a write started after the client was told its lease was lost', () => {
    const h = new HistoryBuilder();
    h.loss('c1', 'L1', 3000, 1000, 0);
    h.write('c1', 'x', 'L1', '5', [1100, 1200], true, null);
    expect(checkMutualExclusion(h.build()).violations[0]).toMatch(/started after its client was told/);
  });

  it('rejects a write started more than TTL after the last acknowledged renewal was sent', () => {
    const h = new HistoryBuilder();
    h.grant('c1', 'L1', 1000, [0, 10]);
    h.keepalive('c1', 'L1', [300, 310]);
    h.write('c1', 'x', 'L1', '5', [1200, 1250], true, null);
    h.write('c1', 'x', 'L1', '5', [1350, 1400], true, '5');
    const r = checkMutualExclusion(h.build());
    expect(r.violations).toHaveLength(1);
    expect(r.violations[0]).toMatch(/1350ms.*more than the TTL 1000ms after the last acknowledged renewal of its lease was sent \(\+300ms\)/);
  });
});

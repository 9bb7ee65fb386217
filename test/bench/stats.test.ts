import { describe, expect, it } from 'vitest';
import { fairness } from '../../bench/fairness.js';
import { parseEventLoopLag } from '../../bench/eventLoopLag.js';
import { parseCpuTicks } from '../../bench/procStats.js';
import { median, percentile, ratePerS, ratio, summarize } from '../../bench/stats.js';

describe('percentile (nearest rank)', () => {
  const hundred = Array.from({ length: 100 }, (_, i) => i + 1);

  it('picks the smallest sample with at least p% of the samples at or below it', () => {
    expect(percentile(hundred, 50)).toBe(50);
    expect(percentile(hundred, 99)).toBe(99);
    expect(percentile(hundred, 100)).toBe(100);
    expect(percentile(hundred, 0)).toBe(1);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([1, 2, 3], 50)).toBe(2);
    expect(percentile([1, 2, 3, 4], 50)).toBe(2);
  });

  it('is null without samples and refuses p outside 0..100', () => {
    expect(percentile([], 50)).toBeNull();
    expect(() => percentile([1], 101)).toThrow(/0\.\.100/);
    expect(() => percentile([1], Number.NaN)).toThrow(/0\.\.100/);
  });
});

describe('summarize', () => {
  it('sorts a copy numerically and reports count, p50, p99, max and mean', () => {
    const samples = [10, 2, 30, 4, 100];
    const s = summarize(samples);
    expect(s).toEqual({ count: 5, p50Ms: 10, p99Ms: 100, maxMs: 100, meanMs: 29.2 });
    expect(samples).toEqual([10, 2, 30, 4, 100]);
  });

  it('reports nulls for no samples', () => {
    expect(summarize([])).toEqual({ count: 0, p50Ms: null, p99Ms: null, maxMs: null, meanMs: null });
  });

  it('rates, ratios and medians guard against missing or zero inputs', () => {
    expect(ratePerS(500, 2_000)).toBe(250);
    expect(ratePerS(5, 0)).toBeNull();
    expect(ratio(10, 4)).toBe(2.5);
    expect(ratio(10, 0)).toBeNull();
    expect(ratio(null, 4)).toBeNull();
    expect(ratio(3, undefined)).toBeNull();
    expect(median([5, 1, 3])).toBe(3);
    expect(median([])).toBeNull();
  });
});

describe('fairness', () => {
  it('counts grants per client, including clients that got none', () => {
    const f = fairness([
      { client: 0, sentAt: 0, grantedAt: 1 },
      { client: 0, sentAt: 2, grantedAt: 3 },
      { client: 1, sentAt: 1, grantedAt: 2 },
    ], 3, 0);
    expect(f.grants).toBe(3);
    expect(f.minPerClient).toBe(0);
    expect(f.maxPerClient).toBe(2);
  });

  it('a grant in request order is no overtake', () => {
    const f = fairness([
      { client: 0, sentAt: 0, grantedAt: 10 },
      { client: 1, sentAt: 1, grantedAt: 20 },
      { client: 2, sentAt: 2, grantedAt: 30 },
    ], 3, 0);
    expect(f).toMatchObject({ overtakes: 0, fifo: true });
  });

  it('counts a grant whose request was sent after one that was granted later', () => {
    const f = fairness([
      { client: 0, sentAt: 0, grantedAt: 30 },
      { client: 1, sentAt: 5, grantedAt: 10 },
      { client: 2, sentAt: 6, grantedAt: 20 },
    ], 3, 0);
    expect(f).toMatchObject({ overtakes: 2, fifo: false });
  });

  it('ignores reorderings within the tolerance', () => {
    const records = [
      { client: 0, sentAt: 0, grantedAt: 30 },
      { client: 1, sentAt: 1.5, grantedAt: 10 },
    ];
    expect(fairness(records, 2, 2).overtakes).toBe(0);
    expect(fairness(records, 2, 1).overtakes).toBe(1);
  });

  it('refuses a record of a client outside the range', () => {
    expect(() => fairness([{ client: 3, sentAt: 0, grantedAt: 1 }], 2, 0)).toThrow(/client 3/);
  });
});

describe('parseCpuTicks', () => {
  it('adds utime and stime, even when the command name holds spaces and parentheses', () => {
    const fields = Array.from({ length: 50 }, (_, i) => String(i + 3));
    fields[11] = '250'; // field 14: utime
    fields[12] = '75'; // field 15: stime
    expect(parseCpuTicks(`1234 (node (x) y) ${fields.join(' ')}`)).toBe(325);
  });

  it('throws on a line it cannot read', () => {
    expect(() => parseCpuTicks('garbage')).toThrow(/unparsable/);
  });
});

describe('parseEventLoopLag', () => {
  it('reads the p99 and max event-loop delay gauges, with or without labels, in ms', () => {
    const text = [
      '# HELP nodejs_eventloop_lag_p99_seconds The 99th percentile of the recorded event loop delays.',
      'nodejs_eventloop_lag_p99_seconds{cluster="c",node="n1"} 0.0215',
      'nodejs_eventloop_lag_p99_seconds_other 9',
      'nodejs_eventloop_lag_max_seconds 0.25',
    ].join('\n');
    expect(parseEventLoopLag(text)).toEqual({ p99Ms: 21.5, maxMs: 250 });
  });

  it('is null when a gauge is missing or not a number', () => {
    expect(parseEventLoopLag('nodejs_eventloop_lag_p99_seconds 0.01\n')).toBeNull();
    expect(parseEventLoopLag('nodejs_eventloop_lag_p99_seconds NaN\nnodejs_eventloop_lag_max_seconds 1\n')).toBeNull();
  });
});

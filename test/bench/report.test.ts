import { describe, expect, it } from 'vitest';
import { chartSvg, niceMax } from '../../bench/chart.js';
import { emptyResults, rows, type Row } from '../../bench/results.js';
import { formatRatio, formatValue, renderTable, verdict } from '../../bench/table.js';

const latency = (p50: number, p99: number) => ({ count: 100, p50Ms: p50, p99Ms: p99, maxMs: p99 * 2, meanMs: p50 });

function results(system: 'raftlock' | 'etcd', pairsPerS: number) {
  const r = emptyResults(system);
  r.uncontended.push({ clients: 1, placement: 'spread', pairs: 100, errors: 0, elapsedMs: 1000, pairsPerS, pairLatency: latency(2, 5) });
  r.uncontended.push({ clients: 16, placement: 'spread', pairs: 100, errors: 0, elapsedMs: 1000, pairsPerS: pairsPerS * 4, pairLatency: latency(4, 9) });
  r.leases.push({ clients: 1, grants: 10, errors: 0, elapsedMs: 1000, grantsPerS: 10, latency: latency(1, 2) });
  r.elections = 0;
  return r;
}

describe('table', () => {
  it('formats values by size and unit, with n/a for missing figures', () => {
    expect(formatValue(null, 'ms')).toBe('n/a');
    expect(formatValue(12_345.6, '/s')).toBe('12,346');
    expect(formatValue(42.31, 'ms')).toBe('42.3 ms');
    expect(formatValue(4.316, 'ms')).toBe('4.32 ms');
    expect(formatValue(0.2345, 'cores')).toBe('0.235 cores');
    expect(formatValue(7, '')).toBe('7');
    expect(formatValue(Number.NaN, 'ms')).toBe('n/a');
  });

  it('formats the ratio raftlock/etcd, n/a when either side is missing or etcd is zero', () => {
    expect(formatRatio(500, 100)).toBe('5.00x');
    expect(formatRatio(1500, 100)).toBe('15.0x');
    expect(formatRatio(5, null)).toBe('n/a');
    expect(formatRatio(5, 0)).toBe('n/a');
  });

  it('marks which system has the better figure, by the metric direction', () => {
    const base: Row = { workload: 'w', metric: 'm', unit: '/s', raftlock: 10, etcd: 5, better: 'higher' };
    expect(verdict(base)).toBe('+');
    expect(verdict({ ...base, better: 'lower' })).toBe('-');
    expect(verdict({ ...base, etcd: null })).toBe('');
    expect(verdict({ ...base, etcd: 10 })).toBe('');
    expect(verdict({ ...base, better: 'none' })).toBe('');
  });

  it('lines both systems up per workload and renders aligned columns with the ratio', () => {
    const table = rows(results('raftlock', 1000), results('etcd', 200));
    expect(table.find((r) => r.workload === 'uncontended 16 clients' && r.metric === 'pairs/s')).toMatchObject({ raftlock: 4000, etcd: 800 });
    const text = renderTable(table);
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^workload\s+metric\s+raftlock\s+etcd\s+raftlock\/etcd$/);
    const line = lines.find((l) => l.startsWith('uncontended 1 client ')) as string;
    expect(line).toMatch(/pairs\/s\s+1,000\s+200\s+5\.00x\s+\+$/);
    // Every data line has the columns at the same offsets as the header.
    const ratioCol = (lines[0] as string).indexOf('raftlock/etcd') + 'raftlock/etcd'.length;
    const dataLines = lines.slice(2).filter((l) => /(x|n\/a)(\s+[+-])?$/.test(l));
    expect(dataLines.length).toBe(table.length);
    for (const l of dataLines) expect(l.slice(0, ratioCol).trimEnd()).toHaveLength(ratioCol);
  });

  it('shows n/a for etcd and the ratio when etcd did not run', () => {
    const text = renderTable(rows(results('raftlock', 1000), null));
    expect(text).toMatch(/pairs\/s\s+1,000\s+n\/a\s+n\/a/);
  });
});

describe('chart', () => {
  it('rounds axis maxima to 1, 2 or 5 times a power of ten', () => {
    expect(niceMax(0)).toBe(1);
    expect(niceMax(0.7)).toBe(1);
    expect(niceMax(1.2)).toBe(2);
    expect(niceMax(340)).toBe(500);
    expect(niceMax(600)).toBe(1000);
    expect(niceMax(1000)).toBe(1000);
  });

  it('draws one line and one dot per point for each system in both panels', () => {
    const svg = chartSvg([
      { name: 'raftlock', color: '#1f77b4', points: [{ clients: 1, pairsPerS: 100, p99Ms: 5 }, { clients: 16, pairsPerS: 900, p99Ms: 8 }, { clients: 64, pairsPerS: 1500, p99Ms: 20 }] },
      { name: 'etcd', color: '#d62728', points: [{ clients: 1, pairsPerS: 170, p99Ms: 9 }, { clients: 16, pairsPerS: 500, p99Ms: 60 }, { clients: 64, pairsPerS: null, p99Ms: null }] },
    ], 'a <title> & more');
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg.match(/<polyline /g)?.length).toBe(4);
    expect(svg.match(/<circle /g)?.length).toBe(2 * (3 + 2));
    expect(svg).toContain('a &lt;title&gt; &amp; more');
    expect(svg).toContain('>raftlock<');
    expect(svg).toContain('>etcd<');
    // Category axis: the client counts are the tick labels.
    for (const c of ['>1<', '>16<', '>64<']) expect(svg).toContain(c);
    // Axis tops are rounded: 1.5k pairs/s -> 2k; 60 ms -> 100.
    expect(svg).toContain('>2k<');
    expect(svg).toContain('>100<');
    expect(svg).not.toMatch(/NaN|undefined|Infinity/);
  });

  it('draws a lone point without a line and an empty chart without failing', () => {
    const one = chartSvg([{ name: 'raftlock', color: 'blue', points: [{ clients: 1, pairsPerS: 10, p99Ms: 1 }] }], 't');
    expect(one.match(/<polyline /g)).toBeNull();
    expect(one.match(/<circle /g)?.length).toBe(2);
    expect(chartSvg([], 't')).not.toMatch(/NaN|undefined|Infinity/);
  });
});

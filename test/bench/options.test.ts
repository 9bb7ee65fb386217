import { describe, expect, it } from 'vitest';
import { FULL_SIZES, OptionsError, parseOptions, QUICK_SIZES, WORKLOADS } from '../../bench/options.js';

describe('bench options', () => {
  it('defaults to a full run of every workload on 3 nodes with etcd', () => {
    const o = parseOptions({});
    expect(o).toMatchObject({ quick: false, nodes: 3, etcd: true, metrics: true, out: null, workloads: [...WORKLOADS] });
    expect(o.sizes).toBe(FULL_SIZES);
  });

  it('takes --quick, --nodes 5, --no-etcd, --no-metrics and --out', () => {
    const o = parseOptions({ quick: true, nodes: '5', etcd: false, metrics: false, out: 'x/y' });
    expect(o).toMatchObject({ quick: true, nodes: 5, etcd: false, metrics: false, out: 'x/y' });
    expect(o.sizes).toBe(QUICK_SIZES);
  });

  it('--only keeps the listed workloads in their canonical order', () => {
    expect(parseOptions({ only: 'footprint, uncontended' }).workloads).toEqual(['uncontended', 'footprint']);
  });

  it('refuses a cluster size other than 3 or 5, saying what is accepted', () => {
    expect(() => parseOptions({ nodes: '4' })).toThrow(OptionsError);
    expect(() => parseOptions({ nodes: '4' })).toThrow(/--nodes must be 3 or 5, got "4"/);
    expect(() => parseOptions({ nodes: '3.0' })).toThrow(/--nodes must be 3 or 5/);
  });

  it('refuses unknown or empty workload lists, naming the known ones', () => {
    expect(() => parseOptions({ only: 'uncontended,speed' })).toThrow(/unknown workload\(s\) "speed"; known: uncontended, contended, leases, keepalive, flood, failover, footprint/);
    expect(() => parseOptions({ only: ' , ' })).toThrow(/--only needs a comma-separated list/);
  });

  it('reports every problem at once', () => {
    let message = '';
    try {
      parseOptions({ nodes: '7', only: 'nope', out: ' ' });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message.split('\n')).toHaveLength(3);
  });

  it('quick sizes are smaller than full sizes everywhere it matters', () => {
    expect(QUICK_SIZES.uncontendedMs).toBeLessThan(FULL_SIZES.uncontendedMs);
    expect(QUICK_SIZES.footprintCount).toBeLessThan(FULL_SIZES.footprintCount);
    expect(FULL_SIZES.failoverRounds).toBeGreaterThanOrEqual(3);
    expect(FULL_SIZES.uncontendedClients).toEqual([1, 16, 64]);
    expect(FULL_SIZES.keepAliveLeases).toEqual([1_000, 10_000]);
    expect(FULL_SIZES.footprintCount).toBe(100_000);
  });
});

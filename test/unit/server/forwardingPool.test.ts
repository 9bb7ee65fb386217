import { describe, expect, it } from 'vitest';
import type * as grpc from '@grpc/grpc-js';
import { ForwardingPool } from '../../../src/server/forwardingPool.js';

/** ForwardingPool's choice of connection, over fake clients (no I/O). */

function pool(streamsPerConnection: number, maxConnections: number) {
  const opened: string[] = [];
  const closed: string[] = [];
  const p = new ForwardingPool(() => {
    const name = `c${opened.length}`;
    opened.push(name);
    return { name, close: () => closed.push(name) } as unknown as grpc.Client;
  }, streamsPerConnection, maxConnections);
  const nameOf = (slot: { client: grpc.Client }): string => (slot.client as unknown as { name: string }).name;
  return { p, opened, closed, nameOf };
}

describe('ForwardingPool', () => {
  it('fills one connection up to streamsPerConnection before opening another', () => {
    const { p, opened, nameOf } = pool(2, 4);
    const slots = Array.from({ length: 5 }, () => p.take());
    expect(slots.map(nameOf)).toEqual(['c0', 'c0', 'c1', 'c1', 'c2']);
    expect(opened).toHaveLength(3);
  });

  it('reuses a connection once a released slot gives it room, and takes the least loaded', () => {
    const { p, opened, nameOf } = pool(2, 4);
    const [a, , c] = [p.take(), p.take(), p.take()];
    a!.release();
    // c0 has 1 open, c1 has 1 open: the first least loaded wins, nothing new is opened.
    expect(nameOf(p.take())).toBe('c0');
    c!.release();
    expect(nameOf(p.take())).toBe('c1');
    expect(opened).toHaveLength(2);
  });

  it('a slot released twice is counted once', () => {
    const { p, nameOf } = pool(1, 4);
    const a = p.take();
    a.release();
    a.release();
    expect(nameOf(p.take())).toBe('c0');
    // Had the double release counted, c0 would have room for this one too.
    expect(nameOf(p.take())).toBe('c1');
  });

  it('at maxConnections, further calls share the least loaded connection instead of opening more', () => {
    const { p, opened, nameOf } = pool(1, 2);
    expect([p.take(), p.take()].map(nameOf)).toEqual(['c0', 'c1']);
    expect([p.take(), p.take(), p.take()].map(nameOf)).toEqual(['c0', 'c1', 'c0']);
    expect(opened).toHaveLength(2);
    expect(p.size).toBe(2);
  });

  it('close closes every connection it opened', () => {
    const { p, closed } = pool(1, 3);
    p.take();
    p.take();
    p.close();
    expect(closed).toEqual(['c0', 'c1']);
    expect(p.size).toBe(0);
  });

  it('refuses a pool that could hold no call', () => {
    expect(() => pool(0, 1)).toThrow(/streamsPerConnection >= 1/);
    expect(() => pool(1, 0)).toThrow(/maxConnections >= 1/);
  });
});

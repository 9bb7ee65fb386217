import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LockInvariantError } from '../../../src/lock/assert.js';
import { LeaseClock } from '../../../src/lock/leaseClock.js';
import { Driver } from './driver.js';

/** clockWith returns an inactive clock following the given leases (id -> ttl). */
function clockWith(leases: Record<number, number>): LeaseClock {
  const clock = new LeaseClock();
  for (const [id, ttl] of Object.entries(leases)) clock.leaseGranted(Number(id), ttl, 0);
  return clock;
}

describe('LeaseClock before activation', () => {
  it('expires nothing and refuses keepalives as not-leader', () => {
    const clock = clockWith({ 1: 100, 2: 200 });
    expect(clock.isActive).toBe(false);
    expect(clock.dueForExpiry(1_000_000, 1, 10)).toEqual([]);
    expect(clock.keepAlive(1, 5)).toEqual({ kind: 'not-leader' });
    expect(clock.timeToLive(1, 5)).toEqual({ kind: 'not-leader' });
    expect(clock.nextDeadlineMs()).toBeNull();
    expect(clock.size).toBe(2);
  });
});

describe('LeaseClock.activate', () => {
  it('restarts every lease at its full ttl from the activation time', () => {
    const clock = clockWith({ 1: 100, 2: 300 });
    clock.activate(1000);
    expect(clock.timeToLive(1, 1000)).toEqual({ kind: 'remaining', leaseId: 1, ttlMs: 100, remainingMs: 100, expiring: false });
    expect(clock.nextDeadlineMs()).toBe(1100);
    expect(clock.dueForExpiry(1099, 1, 10)).toEqual([]);
    expect(clock.dueForExpiry(1100, 1, 10)).toEqual([1]);
    expect(clock.dueForExpiry(1299, 1, 10)).toEqual([]);
    expect(clock.dueForExpiry(1300, 1, 10)).toEqual([2]);
  });

  it('never cuts a lease short across a failover: a new term restarts the full ttl', () => {
    const clock = new LeaseClock();
    clock.activate(0);
    clock.leaseGranted(1, 500, 0);
    expect(clock.dueForExpiry(400, 1, 10)).toEqual([]);
    clock.deactivate();
    clock.activate(450);
    expect(clock.dueForExpiry(949, 2, 10)).toEqual([]);
    expect(clock.dueForExpiry(950, 2, 10)).toEqual([1]);
  });

  it('refuses a second activation, which would extend every lease again', () => {
    const clock = clockWith({ 1: 100 });
    clock.activate(0);
    expect(() => clock.activate(10)).toThrow(LockInvariantError);
  });
});

describe('LeaseClock.keepAlive', () => {
  it('extends the deadline to now + ttl and never shortens it', () => {
    const clock = clockWith({ 1: 100 });
    clock.activate(0);
    expect(clock.keepAlive(1, 60)).toEqual({ kind: 'accepted', leaseId: 1, ttlMs: 100 });
    expect(clock.dueForExpiry(159, 1, 10)).toEqual([]);
    expect(clock.timeToLive(1, 159)).toMatchObject({ remainingMs: 1 });
    // Time passed to the clock never runs backwards: an older now is read as the latest seen.
    expect(clock.keepAlive(1, 10)).toMatchObject({ kind: 'accepted' });
    expect(clock.timeToLive(1, 159)).toMatchObject({ remainingMs: 100 });
    expect(clock.dueForExpiry(258, 1, 10)).toEqual([]);
    expect(clock.dueForExpiry(259, 1, 10)).toEqual([1]);
  });

  it('reports unknown leases as not-found', () => {
    const clock = clockWith({ 1: 100 });
    clock.activate(0);
    expect(clock.keepAlive(2, 0)).toEqual({ kind: 'not-found', leaseId: 2 });
    expect(clock.timeToLive(2, 0)).toEqual({ kind: 'not-found', leaseId: 2 });
  });

  it('refuses keepalives for a lease whose expiry was proposed', () => {
    const clock = clockWith({ 1: 100 });
    clock.activate(0);
    expect(clock.dueForExpiry(100, 3, 10)).toEqual([1]);
    expect(clock.keepAlive(1, 101)).toEqual({ kind: 'expiring', leaseId: 1 });
    expect(clock.timeToLive(1, 101)).toEqual({ kind: 'remaining', leaseId: 1, ttlMs: 100, remainingMs: 0, expiring: true });
    expect(clock.dueForExpiry(500, 3, 10)).toEqual([]);
  });
});

describe('LeaseClock.dueForExpiry', () => {
  it('returns at most max leases, earliest deadline first, ties by id', () => {
    const clock = clockWith({ 5: 100, 3: 100, 9: 50, 1: 200, 7: 100 });
    clock.activate(0);
    expect(clock.dueForExpiry(1000, 1, 2)).toEqual([9, 3]);
    expect(clock.dueForExpiry(1000, 1, 2)).toEqual([5, 7]);
    expect(clock.dueForExpiry(1000, 1, 2)).toEqual([1]);
    expect(clock.dueForExpiry(1000, 1, 2)).toEqual([]);
    expect(() => clock.dueForExpiry(1000, 1, 0)).toThrow(LockInvariantError);
  });

  it('re-arms a lease whose expiry proposal was dropped', () => {
    const clock = clockWith({ 1: 100 });
    clock.activate(0);
    expect(clock.dueForExpiry(100, 1, 10)).toEqual([1]);
    clock.expiryFailed(1);
    expect(clock.timeToLive(1, 100)).toMatchObject({ expiring: false });
    expect(clock.dueForExpiry(100, 1, 10)).toEqual([1]);
    // A lease re-armed before it is retried can still be kept alive.
    clock.expiryFailed(1);
    expect(clock.keepAlive(1, 120)).toMatchObject({ kind: 'accepted' });
    expect(clock.dueForExpiry(219, 1, 10)).toEqual([]);
    expect(clock.dueForExpiry(220, 1, 10)).toEqual([1]);
    // expiryFailed for a lease that is not expiring, or gone, changes nothing.
    clock.leaseRemoved(1);
    clock.expiryFailed(1);
    expect(clock.dueForExpiry(10_000, 1, 10)).toEqual([]);
  });

  it('forgets expiry marks on deactivation so the next leader term starts clean', () => {
    const clock = clockWith({ 1: 100 });
    clock.activate(0);
    expect(clock.dueForExpiry(100, 1, 10)).toEqual([1]);
    clock.deactivate();
    clock.deactivate();
    expect(clock.keepAlive(1, 150)).toEqual({ kind: 'not-leader' });
    clock.activate(200);
    expect(clock.keepAlive(1, 200)).toMatchObject({ kind: 'accepted' });
    expect(clock.dueForExpiry(299, 2, 10)).toEqual([]);
    expect(clock.dueForExpiry(300, 2, 10)).toEqual([1]);
  });

  it('skips leases removed by an apply', () => {
    const clock = clockWith({ 1: 100, 2: 100 });
    clock.activate(0);
    clock.leaseRemoved(1);
    expect(clock.dueForExpiry(100, 1, 10)).toEqual([2]);
    expect(clock.size).toBe(1);
  });
});

describe('LeaseClock bookkeeping', () => {
  it('follows the state machine through ApplyResults and resets from a snapshot', () => {
    const d = new Driver();
    const clock = new LeaseClock();
    const follow = (applied: ReturnType<Driver['apply']>): void => {
      if (applied.leaseGranted !== null) clock.leaseGranted(applied.leaseGranted.leaseId, applied.leaseGranted.ttlMs, 0);
      for (const id of applied.leasesRemoved) clock.leaseRemoved(id);
    };
    follow(d.apply({ type: 'grant-lease', leaseId: 1, ttlMs: 1000, idempotent: true }));
    follow(d.apply({ type: 'grant-lease', leaseId: 1, ttlMs: 1000, idempotent: true }));
    follow(d.apply({ type: 'grant-lease', leaseId: 2, ttlMs: 2000, idempotent: false }));
    follow(d.apply({ type: 'grant-lease', leaseId: 3, ttlMs: 3000, idempotent: false }));
    follow(d.apply({ type: 'revoke-lease', leaseId: 2 }));
    expect(clock.size).toBe(2);

    const restored = new LeaseClock();
    restored.reset(d.sm.listLeases());
    for (const c of [clock, restored]) {
      c.activate(0);
      expect(c.dueForExpiry(10_000, 1, 10)).toEqual([1, 3]);
    }
    expect(() => restored.reset([])).toThrow(LockInvariantError);
  });

  it('asserts on duplicate grants and unknown removals', () => {
    const clock = clockWith({ 1: 100 });
    expect(() => clock.leaseGranted(1, 100, 0)).toThrow(LockInvariantError);
    expect(() => clock.leaseGranted(0, 100, 0)).toThrow(LockInvariantError);
    expect(() => clock.leaseGranted(2, 0, 0)).toThrow(LockInvariantError);
    expect(() => clock.leaseRemoved(2)).toThrow(LockInvariantError);
    expect(() => clock.keepAlive(1, Number.NaN)).not.toThrow();
    clock.activate(0);
    expect(() => clock.keepAlive(1, Number.NaN)).toThrow(LockInvariantError);
  });
});

/**
 * ClockModel: deadlines in a plain Map and a full sort on every query — the
 * obviously-correct twin LeaseClock is checked against.
 */
class ClockModel {
  ttl = new Map<number, number>();
  deadline = new Map<number, number>();
  expiring = new Set<number>();
  active = false;
  now = 0;

  due(now: number, max: number): number[] {
    this.now = Math.max(this.now, now);
    if (!this.active) return [];
    const ids = [...this.deadline.entries()]
      .filter(([id, d]) => d <= this.now && !this.expiring.has(id))
      .sort((a, b) => a[1] - b[1] || a[0] - b[0])
      .slice(0, max)
      .map(([id]) => id);
    for (const id of ids) this.expiring.add(id);
    return ids;
  }
}

type ClockOp =
  | { op: 'grant'; id: number; ttl: number }
  | { op: 'remove'; id: number }
  | { op: 'keepAlive'; id: number }
  | { op: 'advance'; ms: number }
  | { op: 'due'; max: number }
  | { op: 'failed'; id: number }
  | { op: 'flip' };

const clockOpArb: fc.Arbitrary<ClockOp> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ op: fc.constant('grant' as const), id: fc.integer({ min: 1, max: 30 }), ttl: fc.integer({ min: 1, max: 50 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('remove' as const), id: fc.integer({ min: 1, max: 30 }) }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('keepAlive' as const), id: fc.integer({ min: 1, max: 30 }) }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 30 }) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('due' as const), max: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('failed' as const), id: fc.integer({ min: 1, max: 30 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('flip' as const) }) },
);

describe('LeaseClock against a model', () => {
  it('expires the same leases in the same order under any sequence of events', () => {
    fc.assert(
      fc.property(fc.array(clockOpArb, { maxLength: 300, size: 'max' }), (ops) => {
        const clock = new LeaseClock();
        const model = new ClockModel();
        let term = 1;
        for (const o of ops) {
          switch (o.op) {
            case 'grant':
              if (model.ttl.has(o.id)) break;
              clock.leaseGranted(o.id, o.ttl, model.now);
              model.ttl.set(o.id, o.ttl);
              if (model.active) model.deadline.set(o.id, model.now + o.ttl);
              break;
            case 'remove':
              if (!model.ttl.has(o.id)) break;
              clock.leaseRemoved(o.id);
              model.ttl.delete(o.id);
              model.deadline.delete(o.id);
              model.expiring.delete(o.id);
              break;
            case 'keepAlive': {
              const outcome = clock.keepAlive(o.id, model.now);
              const ttl = model.ttl.get(o.id);
              if (!model.active) expect(outcome.kind).toBe('not-leader');
              else if (ttl === undefined) expect(outcome.kind).toBe('not-found');
              else if (model.expiring.has(o.id)) expect(outcome.kind).toBe('expiring');
              else {
                expect(outcome).toEqual({ kind: 'accepted', leaseId: o.id, ttlMs: ttl });
                model.deadline.set(o.id, Math.max(model.deadline.get(o.id)!, model.now + ttl));
              }
              break;
            }
            case 'advance':
              model.now += o.ms;
              break;
            case 'due':
              expect(clock.dueForExpiry(model.now, term, o.max)).toEqual(model.due(model.now, o.max));
              break;
            case 'failed':
              clock.expiryFailed(o.id);
              if (model.active) model.expiring.delete(o.id);
              break;
            case 'flip':
              if (model.active) {
                clock.deactivate();
                model.active = false;
                model.expiring.clear();
                model.deadline.clear();
              } else {
                clock.activate(model.now);
                term++;
                model.active = true;
                for (const [id, ttl] of model.ttl) model.deadline.set(id, model.now + ttl);
              }
              break;
          }
          if (model.active) {
            for (const [id, ttl] of model.ttl) {
              const expected = Math.max(0, model.deadline.get(id)! - model.now);
              expect(clock.timeToLive(id, model.now)).toEqual({ kind: 'remaining', leaseId: id, ttlMs: ttl, remainingMs: expected, expiring: model.expiring.has(id) });
            }
          }
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('LeaseClock at scale', () => {
  it('handles 100,000 leases with churn, expiring each exactly once in deadline order', () => {
    const n = 100_000;
    const clock = new LeaseClock();
    for (let id = 1; id <= n; id++) clock.leaseGranted(id, 1000 + (id % 997), 0);
    clock.activate(0);
    // Keep the even leases alive three times, leaving stale heap entries behind (forcing compaction).
    for (const now of [500, 900, 1300]) {
      for (let id = 2; id <= n; id += 2) expect(clock.keepAlive(id, now).kind).toBe('accepted');
    }
    const expired: number[] = [];
    let lastDeadline = -1;
    // Start where the keepalives left the clock: it never runs backwards.
    for (let now = 1300; now <= 4000; now += 50) {
      for (;;) {
        const batch = clock.dueForExpiry(now, 1, 1000);
        expect(batch.length).toBeLessThanOrEqual(1000);
        for (const id of batch) {
          const deadline = id % 2 === 0 ? 1300 + 1000 + (id % 997) : 1000 + (id % 997);
          expect(deadline).toBeLessThanOrEqual(now);
          if (now > 1300) expect(deadline).toBeGreaterThan(now - 50);
          expect(deadline).toBeGreaterThanOrEqual(lastDeadline);
          lastDeadline = deadline;
          expired.push(id);
        }
        if (batch.length < 1000) break;
      }
    }
    expect(lastDeadline).toBe(1300 + 1000 + 996);
    expect(expired.length).toBe(n);
    expect(new Set(expired).size).toBe(n);
  });
});

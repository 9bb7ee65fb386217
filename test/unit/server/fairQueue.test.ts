import { describe, expect, it } from 'vitest';
import { CallerRateLimits } from '../../../src/server/callerRateLimits.js';
import { FairQueue, INTERNAL_CALLER } from '../../../src/server/fairQueue.js';
import { TokenBucket } from '../../../src/server/tokenBucket.js';
import { ApiError } from '../../../src/server/apiError.js';

/** gate: a promise the test settles by hand, so admission order is observed without timers. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

async function flush(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

describe('FairQueue', () => {
  it('admits competing callers in turn, whatever their arrival order and rate', async () => {
    const q = new FairQueue(1, 100);
    const started: string[] = [];
    const gates: Array<() => void> = [];
    const item = (caller: string, tag: string) =>
      q.run(caller, () => {
        started.push(tag);
        const g = gate();
        gates.push(g.open);
        return g.promise;
      });
    const all = [item('flood', 'f0')];
    for (let i = 1; i <= 5; i++) all.push(item('flood', `f${i}`));
    all.push(item('victim', 'v0'), item('other', 'o0'), item('victim', 'v1'));
    expect(started).toEqual(['f0']);
    expect(q.queued).toBe(8);
    for (let i = 0; i < 9; i++) {
      gates[i]!();
      await flush();
    }
    await Promise.all(all);
    // The flooder queued first, yet after its one running item the others go in turn with it.
    expect(started).toEqual(['f0', 'f1', 'v0', 'o0', 'f2', 'v1', 'f3', 'f4', 'f5']);
    expect(q.activeCount).toBe(0);
  });

  it('holds a caller to maxActivePerCaller even with slots free, and gives the free slots to others', async () => {
    const q = new FairQueue(4, 100, 0, 2);
    const started: string[] = [];
    const gates = new Map<string, () => void>();
    const item = (caller: string, tag: string) =>
      q.run(caller, () => {
        started.push(tag);
        const g = gate();
        gates.set(tag, g.open);
        return g.promise;
      });
    const all = [item('flood', 'f0'), item('flood', 'f1'), item('flood', 'f2'), item('flood', 'f3')];
    await flush();
    expect(started).toEqual(['f0', 'f1']); // two of four slots free, yet the flooder waits for its own
    expect(q.activeCount).toBe(2);
    all.push(item('victim', 'v0'), item('victim', 'v1'));
    await flush();
    expect(started).toEqual(['f0', 'f1', 'v0', 'v1']);
    gates.get('f0')!();
    await flush();
    expect(started).toEqual(['f0', 'f1', 'v0', 'v1', 'f2']);
    for (const tag of ['f1', 'v0', 'v1', 'f2']) gates.get(tag)!();
    await flush();
    expect(started).toEqual(['f0', 'f1', 'v0', 'v1', 'f2', 'f3']);
    gates.get('f3')!();
    await Promise.all(all);
    expect(q.activeCount).toBe(0);
    expect(q.queued).toBe(0);
  });

  it('never runs more than maxActive at once', async () => {
    const q = new FairQueue(3, 100);
    let running = 0;
    let peak = 0;
    const gates: Array<() => void> = [];
    const all = Array.from({ length: 10 }, (_, i) =>
      q.run(`c${i % 4}`, async () => {
        running++;
        peak = Math.max(peak, running);
        const g = gate();
        gates.push(g.open);
        await g.promise;
        running--;
      }),
    );
    for (let i = 0; i < 10; i++) {
      await flush();
      gates[i]!();
    }
    await Promise.all(all);
    expect(peak).toBe(3);
  });

  it('refuses a caller over maxQueuedPerCaller with RESOURCE_EXHAUSTED and a retry hint; others still queue', async () => {
    const q = new FairQueue(1, 2);
    const g = gate();
    const running = q.run('a', () => g.promise);
    const queued = [q.run('a', () => Promise.resolve()), q.run('a', () => Promise.resolve())];
    const err = await q.run('a', () => Promise.resolve()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).code).toBe(8);
    expect((err as ApiError).message).toMatch(/limit maxQueuedPerCaller reached \(2\).*retry after 100 ms/);
    expect((err as ApiError).metadata.get('raftlock-retry-after-ms')).toEqual(['100']);
    const other = q.run('b', () => Promise.resolve('b'));
    g.open();
    await Promise.all([running, ...queued]);
    expect(await other).toBe('b');
  });

  it('never refuses the server\'s own clean-up (INTERNAL_CALLER), which still takes its turn', async () => {
    const q = new FairQueue(1, 1);
    const g = gate();
    const order: string[] = [];
    const running = q.run('a', () => g.promise);
    const items = [1, 2, 3].map((i) => q.run(INTERNAL_CALLER, async () => void order.push(`internal${i}`)));
    const other = q.run('b', async () => void order.push('b'));
    g.open();
    await Promise.all([running, ...items, other]);
    expect(order).toEqual(['internal1', 'b', 'internal2', 'internal3']);
  });

  it('a caller with nothing in the node takes a fast-lane place at once, past a flooder\'s queue', async () => {
    const q = new FairQueue(2, 100, 1);
    const started: string[] = [];
    const gates = new Map<string, () => void>();
    const item = (caller: string, tag: string) =>
      q.run(caller, () => {
        started.push(tag);
        const g = gate();
        gates.set(tag, g.open);
        return g.promise;
      });
    const flood = ['f0', 'f1', 'f2', 'f3'].map((tag) => item('flood', tag));
    expect(started).toEqual(['f0', 'f1']);
    // The victim has nothing in the node: it starts at once, beyond maxActive.
    const v0 = item('victim', 'v0');
    expect(started).toEqual(['f0', 'f1', 'v0']);
    expect(q.activeCount).toBe(3);
    // The fast lane holds one: a second light caller queues, and so does the victim's next item (it has one running).
    const o0 = item('other', 'o0');
    const v1 = item('victim', 'v1');
    expect(started).toEqual(['f0', 'f1', 'v0']);
    // Slots free up: nothing new starts until the node is back under maxActive; then callers go in turn.
    gates.get('f0')!();
    await flush();
    expect(started).toEqual(['f0', 'f1', 'v0']);
    gates.get('v0')!();
    await flush();
    expect(started).toEqual(['f0', 'f1', 'v0', 'f2']);
    gates.get('f1')!();
    await flush();
    expect(started).toEqual(['f0', 'f1', 'v0', 'f2', 'o0']);
    for (const tag of ['f2', 'o0']) {
      gates.get(tag)!();
      await flush();
    }
    expect(started).toEqual(['f0', 'f1', 'v0', 'f2', 'o0', 'v1', 'f3']);
    for (const tag of ['v1', 'f3']) gates.get(tag)!();
    await Promise.all([...flood, v0, o0, v1]);
    expect(q.activeCount).toBe(0);
  });

  it('never runs more than maxActive + fastLaneSlots at once, however many light callers arrive', async () => {
    const q = new FairQueue(2, 100, 2);
    const gates: Array<() => void> = [];
    let running = 0;
    let peak = 0;
    const all = Array.from({ length: 12 }, (_, i) =>
      q.run(`light${i}`, async () => {
        running++;
        peak = Math.max(peak, running);
        const g = gate();
        gates.push(g.open);
        await g.promise;
        running--;
      }),
    );
    expect(running).toBe(4);
    for (let i = 0; i < 12; i++) {
      await flush();
      gates[i]!();
    }
    await Promise.all(all);
    expect(peak).toBe(4);
  });

  it('drops queued work whose call is gone by its turn (CANCELLED, never run); running and internal work are untouched', async () => {
    const q = new FairQueue(1, 100);
    const g = gate();
    let cancelled = false;
    const ran: string[] = [];
    const running = q.run('flood', async () => {
      await g.promise;
      ran.push('running');
    }, () => cancelled);
    const dropped = q.run('flood', async () => void ran.push('dropped'), () => cancelled);
    const internal = q.run(INTERNAL_CALLER, async () => void ran.push('internal'));
    const wanted = q.run('victim', async () => void ran.push('wanted'), () => false);
    cancelled = true;
    g.open();
    const err = await dropped.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).code).toBe(1);
    expect((err as ApiError).message).toMatch(/cancelled while it waited for its turn; nothing was done/);
    await Promise.all([running, internal, wanted]);
    expect(ran).toEqual(['running', 'internal', 'wanted']);
    expect(q.activeCount).toBe(0);
    expect(q.queued).toBe(0);
  });

  it('a failing item frees its slot', async () => {
    const q = new FairQueue(1, 10);
    const failing = q.run('a', () => Promise.reject(new Error('boom')));
    const next = q.run('b', () => Promise.resolve(7));
    await expect(failing).rejects.toThrow('boom');
    expect(await next).toBe(7);
  });
});

describe('TokenBucket', () => {
  it('allows the burst, then one token per 1000/rate ms, and says how long to wait', () => {
    const b = new TokenBucket(10, 3, 0);
    expect([b.take(0), b.take(0), b.take(0)]).toEqual([0, 0, 0]);
    expect(b.take(0)).toBe(100);
    expect(b.take(50)).toBe(50);
    expect(b.take(100)).toBe(0);
    expect(b.take(100)).toBe(100);
    expect(b.isFull(100)).toBe(false);
    expect(b.isFull(400)).toBe(true);
    // Never more than the burst, however long idle.
    expect([b.take(10_000), b.take(10_000), b.take(10_000), b.take(10_000)]).toEqual([0, 0, 0, 100]);
  });

  it('a clock stepping back gives no tokens', () => {
    const b = new TokenBucket(10, 1, 1_000);
    expect(b.take(1_000)).toBe(0);
    expect(b.take(0)).toBeGreaterThan(0);
    expect(b.take(1_050)).toBe(50);
  });
});

describe('CallerRateLimits', () => {
  it('keeps separate budgets per caller and bounds the callers tracked', () => {
    const r = new CallerRateLimits(1, 1, 2);
    expect(r.take('a', 0)).toBe(0);
    expect(r.take('a', 0)).toBeGreaterThan(0);
    expect(r.take('b', 0)).toBe(0);
    expect(r.size).toBe(2);
    // At the bound with every bucket in use, new callers share one overflow bucket.
    expect(r.take('c', 0)).toBe(0);
    expect(r.take('d', 0)).toBeGreaterThan(0);
    expect(r.size).toBe(2);
    // Once the tracked buckets refill (idle callers), they are forgotten to make room.
    expect(r.take('e', 5_000)).toBe(0);
    expect(r.size).toBe(1);
  });
});

import { describe, expect, it } from 'vitest';
import { InvariantError } from '../../../src/raft/assert.js';
import { Inflights, Progress, type ProgressState } from '../../../src/raft/progress.js';

function window(capacity: number, ...lastIndexes: number[]): Inflights {
  const w = new Inflights(capacity);
  for (const i of lastIndexes) w.add(i);
  return w;
}

describe('Inflights', () => {
  it('is full at capacity and refuses one more', () => {
    const w = window(3, 1, 2);
    expect(w.full()).toBe(false);
    w.add(3);
    expect(w.full()).toBe(true);
    expect(w.size()).toBe(3);
    expect(() => w.add(4)).toThrow(InvariantError);
  });

  it('refuses a last index not above the newest', () => {
    expect(() => window(4, 5, 5)).toThrow(InvariantError);
    expect(() => window(4, 5, 4)).toThrow(InvariantError);
  });

  it('refuses a zero capacity', () => {
    expect(() => new Inflights(0)).toThrow(InvariantError);
  });

  // A window of capacity 4 holding messages ending at 2, 4, 6, 8.
  const freeLE: ReadonlyArray<{ index: number; size: number }> = [
    { index: 1, size: 4 },
    { index: 2, size: 3 },
    { index: 5, size: 2 },
    { index: 8, size: 0 },
    { index: 100, size: 0 },
  ];
  it.each(freeLE)('freeLE($index) leaves $size in flight', ({ index, size }) => {
    const w = window(4, 2, 4, 6, 8);
    w.freeLE(index);
    expect(w.size()).toBe(size);
    expect(w.full()).toBe(size === 4);
  });

  it('freeFirstOne frees the oldest message only', () => {
    const w = window(3, 2, 4, 6);
    w.freeFirstOne();
    expect(w.size()).toBe(2);
    expect(w.full()).toBe(false);
    w.freeLE(4); // 2 is gone already; 4 goes now
    expect(w.size()).toBe(1);
    w.freeFirstOne();
    w.freeFirstOne(); // on an empty window: a no-op
    expect(w.size()).toBe(0);
  });

  it('wraps around its ring buffer', () => {
    const w = window(3, 1, 2, 3);
    w.freeLE(2);
    w.add(4);
    w.add(5);
    expect(w.full()).toBe(true);
    expect(() => w.add(5)).toThrow(InvariantError);
    w.freeLE(4);
    expect(w.size()).toBe(1);
    w.add(9);
    w.add(10);
    expect(w.full()).toBe(true);
    w.freeLE(9);
    expect(w.size()).toBe(1);
  });

  it('reset empties the window', () => {
    const w = window(2, 1, 2);
    w.reset();
    expect(w.size()).toBe(0);
    w.add(1); // after a reset, indexes may start over
    expect(w.size()).toBe(1);
  });
});

/** progress builds a Progress in a given state with a given match and next. */
function progress(state: ProgressState, match: number, next: number, opts: { pendingSnapshot?: number; capacity?: number } = {}): Progress {
  const pr = new Progress(next, opts.capacity ?? 4);
  pr.match = match;
  if (state === 'replicate') pr.becomeReplicate();
  if (state === 'snapshot') pr.becomeSnapshot(opts.pendingSnapshot ?? 10);
  pr.next = next;
  return pr;
}

describe('Progress.maybeUpdate', () => {
  const cases: ReadonlyArray<{ name: string; match: number; next: number; index: number; updated: boolean; wantMatch: number; wantNext: number }> = [
    { name: 'news below next', match: 0, next: 5, index: 3, updated: true, wantMatch: 3, wantNext: 5 },
    { name: 'news beyond next moves next', match: 3, next: 5, index: 7, updated: true, wantMatch: 7, wantNext: 8 },
    { name: 'the same index again', match: 3, next: 5, index: 3, updated: false, wantMatch: 3, wantNext: 5 },
    { name: 'an old acknowledgement', match: 3, next: 5, index: 2, updated: false, wantMatch: 3, wantNext: 5 },
    { name: 'zero on a fresh progress', match: 0, next: 1, index: 0, updated: false, wantMatch: 0, wantNext: 1 },
  ];
  it.each(cases)('$name', ({ match, next, index, updated, wantMatch, wantNext }) => {
    const pr = progress('probe', match, next);
    pr.probeSent = true;
    expect(pr.maybeUpdate(index)).toBe(updated);
    expect({ match: pr.match, next: pr.next }).toEqual({ match: wantMatch, next: wantNext });
    // News unpauses a probe; an old acknowledgement does not.
    expect(pr.probeSent).toBe(!updated);
  });
});

describe('Progress.maybeDecrTo', () => {
  const cases: ReadonlyArray<{
    name: string;
    state: ProgressState;
    match: number;
    next: number;
    rejected: number;
    hint: number;
    decremented: boolean;
    wantNext: number;
  }> = [
    { name: 'probe: jumps to the hint', state: 'probe', match: 0, next: 10, rejected: 9, hint: 3, decremented: true, wantNext: 4 },
    { name: 'probe: a hint above the rejection is capped', state: 'probe', match: 0, next: 10, rejected: 9, hint: 20, decremented: true, wantNext: 9 },
    { name: 'probe: never below match + 1', state: 'probe', match: 5, next: 10, rejected: 9, hint: 1, decremented: true, wantNext: 6 },
    { name: 'probe: a stale rejection (not of the last probe) is ignored', state: 'probe', match: 0, next: 10, rejected: 5, hint: 2, decremented: false, wantNext: 10 },
    { name: 'replicate: back to match + 1, hint unused', state: 'replicate', match: 5, next: 10, rejected: 8, hint: 7, decremented: true, wantNext: 6 },
    { name: 'replicate: a rejection at or below match is stale', state: 'replicate', match: 5, next: 10, rejected: 5, hint: 2, decremented: false, wantNext: 10 },
    { name: 'snapshot: rejections are ignored', state: 'snapshot', match: 5, next: 10, rejected: 9, hint: 3, decremented: false, wantNext: 10 },
  ];
  it.each(cases)('$name', ({ state, match, next, rejected, hint, decremented, wantNext }) => {
    const pr = progress(state, match, next);
    if (state === 'probe') pr.probeSent = true;
    expect(pr.maybeDecrTo(rejected, hint)).toBe(decremented);
    expect(pr.next).toBe(wantNext);
    expect(pr.state).toBe(state);
    expect(pr.match).toBe(match);
    if (state === 'probe') expect(pr.probeSent).toBe(!decremented);
  });
});

describe('Progress.isPaused', () => {
  const cases: ReadonlyArray<{ name: string; build: () => Progress; paused: boolean }> = [
    { name: 'probe, nothing sent', build: () => progress('probe', 0, 1), paused: false },
    {
      name: 'probe, a probe outstanding',
      build: () => { const pr = progress('probe', 0, 1); pr.sentEntries(1, 1); return pr; },
      paused: true,
    },
    {
      name: 'replicate, window has room',
      build: () => { const pr = progress('replicate', 0, 1, { capacity: 2 }); pr.sentEntries(1, 1); return pr; },
      paused: false,
    },
    {
      name: 'replicate, window full',
      build: () => { const pr = progress('replicate', 0, 1, { capacity: 2 }); pr.sentEntries(1, 1); pr.sentEntries(2, 3); return pr; },
      paused: true,
    },
    {
      name: 'replicate, empty appends do not fill the window',
      build: () => { const pr = progress('replicate', 0, 1, { capacity: 1 }); pr.sentEntries(0, 0); pr.sentEntries(0, 0); return pr; },
      paused: false,
    },
    { name: 'snapshot', build: () => progress('snapshot', 0, 1), paused: true },
  ];
  it.each(cases)('$name: paused=$paused', ({ build, paused }) => {
    expect(build().isPaused()).toBe(paused);
  });
});

describe('Progress state changes', () => {
  const cases: ReadonlyArray<{ name: string; run: () => Progress; want: { state: ProgressState; next: number; inflight: number } }> = [
    {
      name: 'replicate pipelines: next moves with every append',
      run: () => { const pr = progress('replicate', 3, 4); pr.sentEntries(2, 5); pr.sentEntries(3, 8); return pr; },
      want: { state: 'replicate', next: 9, inflight: 2 },
    },
    {
      name: 'probe does not move next when sending',
      run: () => { const pr = progress('probe', 3, 4); pr.sentEntries(5, 8); return pr; },
      want: { state: 'probe', next: 4, inflight: 0 },
    },
    {
      name: 'replicate -> probe restarts from match + 1 with an empty window',
      run: () => { const pr = progress('replicate', 3, 4); pr.sentEntries(2, 5); pr.becomeProbe(); return pr; },
      want: { state: 'probe', next: 4, inflight: 0 },
    },
    {
      name: 'snapshot -> probe continues after the snapshot',
      run: () => { const pr = progress('snapshot', 3, 4, { pendingSnapshot: 10 }); pr.becomeProbe(); return pr; },
      want: { state: 'probe', next: 11, inflight: 0 },
    },
    {
      name: 'snapshot -> probe after the follower got further than the snapshot',
      run: () => { const pr = progress('snapshot', 3, 4, { pendingSnapshot: 10 }); pr.maybeUpdate(12); pr.becomeProbe(); return pr; },
      want: { state: 'probe', next: 13, inflight: 0 },
    },
    {
      name: 'probe -> replicate starts at match + 1',
      run: () => { const pr = progress('probe', 0, 9); pr.maybeUpdate(6); pr.becomeReplicate(); return pr; },
      want: { state: 'replicate', next: 7, inflight: 0 },
    },
  ];
  it.each(cases)('$name', ({ run, want }) => {
    const pr = run();
    expect({ state: pr.state, next: pr.next, inflight: pr.inflights.size() }).toEqual(want);
  });
});

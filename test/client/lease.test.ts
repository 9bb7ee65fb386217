import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LeaseLostError } from '../../src/client/errors.js';
import { LeaseState, MIN_SAFETY_MARGIN_MS, safetyMarginMs } from '../../src/client/lease.js';

/** LeaseState's clock on fake time: the deadline counts from the send that was acknowledged, minus the margin. */
describe('LeaseState', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance', 'queueMicrotask'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const make = (ttlMs: number, onLose: (s: LeaseState) => void = () => undefined): LeaseState =>
    new LeaseState('7', ttlMs, performance.now(), false, onLose);

  it('uses a margin of max(50 ms, 10% of the TTL)', () => {
    expect(safetyMarginMs(400)).toBe(MIN_SAFETY_MARGIN_MS);
    expect(safetyMarginMs(500)).toBe(50);
    expect(safetyMarginMs(3_000)).toBe(300);
    expect(safetyMarginMs(10_001)).toBe(1_001);
  });

  it('is lost at grant send time + TTL - margin without a renewal, once, with LeaseLostError as the reason', () => {
    const onLose = vi.fn();
    const state = make(1_000, onLose);
    const listener = vi.fn();
    state.onLost(listener);
    vi.advanceTimersByTime(899);
    expect(state.signal.aborted).toBe(false);
    vi.advanceTimersByTime(1);
    expect(state.signal.aborted).toBe(true);
    expect(state.signal.reason).toBeInstanceOf(LeaseLostError);
    expect((state.signal.reason as LeaseLostError).reason).toBe('expired');
    expect(listener).toHaveBeenCalledTimes(1);
    expect(onLose).toHaveBeenCalledTimes(1);
    state.lose('gone', 'again');
    expect(listener).toHaveBeenCalledTimes(1);
    expect((state.signal.reason as LeaseLostError).reason).toBe('expired');
  });

  it('counts a renewal from when it was sent, not from when the reply came', () => {
    const state = make(1_000);
    vi.advanceTimersByTime(300);
    state.recordSent(performance.now()); // sent at 300
    vi.advanceTimersByTime(400); // reply at 700
    state.acknowledge(1_000);
    expect(state.deadline).toBe(300 + 1_000 - 100);
    vi.advanceTimersByTime(1_199 - 700);
    expect(state.signal.aborted).toBe(false);
    vi.advanceTimersByTime(1);
    expect(state.signal.aborted).toBe(true);
  });

  it('matches a reply to the oldest unacknowledged send (the safe, earlier deadline)', () => {
    const state = make(1_000);
    vi.advanceTimersByTime(100);
    state.recordSent(performance.now()); // 100
    vi.advanceTimersByTime(200);
    state.recordSent(performance.now()); // 300
    state.acknowledge(1_000);
    expect(state.deadline).toBe(100 + 900);
    state.acknowledge(1_000);
    expect(state.deadline).toBe(300 + 900);
  });

  it('ignores replies it no longer waits for (after a stream broke) and never revives a lost lease', () => {
    const state = make(1_000);
    state.recordSent(performance.now());
    state.forgetUnacknowledged();
    vi.advanceTimersByTime(500);
    state.acknowledge(1_000);
    expect(state.deadline).toBe(900);
    vi.advanceTimersByTime(400);
    expect(state.lost?.reason).toBe('expired');
    state.recordSent(performance.now());
    state.acknowledge(1_000);
    expect(state.lost?.reason).toBe('expired');
    expect(state.signal.aborted).toBe(true);
  });

  it('calls a listener registered after the loss exactly once, asynchronously; unsubscribe works', async () => {
    const state = make(1_000);
    const early = vi.fn();
    const off = state.onLost(early);
    off();
    state.lose('revoked', 'test');
    const late = vi.fn();
    state.onLost(late);
    expect(late).not.toHaveBeenCalled();
    await vi.runAllTimersAsync();
    await Promise.resolve();
    expect(late).toHaveBeenCalledTimes(1);
    expect(late.mock.calls[0]![0]).toBeInstanceOf(LeaseLostError);
    expect(early).not.toHaveBeenCalled();
  });

  it('bounds the renewals awaiting a reply', () => {
    const state = make(1_000);
    for (let i = 0; i < 10 && state.canSend(); i++) state.recordSent(performance.now());
    expect(state.canSend()).toBe(false);
    state.acknowledge(1_000);
    expect(state.canSend()).toBe(true);
  });
});

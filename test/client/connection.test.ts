import { describe, expect, it } from 'vitest';
import { Connection, type Invoke } from '../../src/client/connection.js';
import { AbortError, LeaseLostError, LeaseNotFoundError, NotLeaderError, ResourceExhaustedError, UnavailableError } from '../../src/client/errors.js';
import { CallFailure } from '../../src/client/protocol.js';

/**
 * The retry policy of Connection.call, on a scripted fake transport: which
 * endpoint each attempt goes to, when it sleeps, and what the caller sees.
 */

const UNAVAILABLE = 14;
const NOT_FOUND = 5;
const RESOURCE_EXHAUSTED = 8;

type Answer = 'ok' | 'down' | 'timeout' | 'not-found' | 'cluster-limit' | { leader: string } | { retryAfterMs: string };

function metadata(entries: Record<string, string>): ConstructorParameters<typeof CallFailure>[2] {
  return { get: (key: string) => (key in entries ? [entries[key]] : []) } as unknown as ConstructorParameters<typeof CallFailure>[2];
}

/** fake answers each attempt by address, from a script (the last answer repeats), and records the attempts. */
function fake(script: Record<string, Answer[]>): { invoke: Invoke; attempts: { address: string; at: number }[] } {
  const attempts: { address: string; at: number }[] = [];
  const invoke = ((address: string, method: string) => {
    // The background search for the leader (Cluster.Status) finds nobody here and is not recorded.
    if (method === 'Cluster/Status') return Promise.reject(new CallFailure(UNAVAILABLE, 'no status', metadata({}), null, address));
    attempts.push({ address, at: performance.now() });
    const answers = script[address] ?? ['down'];
    const answer = answers.length > 1 ? answers.shift()! : answers[0]!;
    if (answer === 'ok') return Promise.resolve({ name: 'x', holders: [], waiters: [] });
    if (answer === 'down') return Promise.reject(new CallFailure(UNAVAILABLE, 'connection refused', metadata({}), null, address));
    if (answer === 'timeout') return Promise.reject(new CallFailure(1, 'cancelled', metadata({}), 'timeout', address));
    if (answer === 'not-found') return Promise.reject(new CallFailure(NOT_FOUND, 'lease 1 not found', metadata({}), null, address));
    if (answer === 'cluster-limit') return Promise.reject(new CallFailure(RESOURCE_EXHAUSTED, 'limit maxLeases reached', metadata({}), null, address));
    if ('retryAfterMs' in answer) {
      return Promise.reject(new CallFailure(RESOURCE_EXHAUSTED, 'limit maxInFlightPerConnection reached', metadata({ 'raftlock-retry-after-ms': answer.retryAfterMs }), null, address));
    }
    return Promise.reject(new CallFailure(UNAVAILABLE, 'not the leader', metadata({ 'raftlock-leader': answer.leader, 'raftlock-leader-id': 'nX' }), null, address));
  }) as unknown as Invoke;
  return { invoke, attempts };
}

function connection(invoke: Invoke, endpoints = ['a:1', 'b:1', 'c:1'], requestTimeoutMs = 1_000): Connection {
  return new Connection(
    { endpoints, attemptTimeoutMs: 100, requestTimeoutMs, backoff: { initialMs: 20, maxMs: 80, multiplier: 2 }, discoverMembers: true },
    invoke,
  );
}

const get = (c: Connection, opts: { idempotent?: boolean; signal?: AbortSignal } = {}) =>
  c.call('Lock/Get', { name: 'x' }, { idempotent: opts.idempotent ?? true, signal: opts.signal, context: { lockName: 'x' } });

describe('Connection.call retry policy', () => {
  it('follows a leader hint at once and keeps using that leader', async () => {
    const { invoke, attempts } = fake({ 'a:1': [{ leader: 'c:1' }], 'c:1': ['ok'] });
    // Backoff of a minute: had the redirect waited for it, the gap would be at least 30 s.
    const c = new Connection(
      { endpoints: ['a:1', 'b:1', 'c:1'], attemptTimeoutMs: 100, requestTimeoutMs: 120_000, backoff: { initialMs: 60_000, maxMs: 60_000, multiplier: 2 }, discoverMembers: true },
      invoke,
    );
    await get(c);
    expect(attempts.map((a) => a.address)).toEqual(['a:1', 'c:1']);
    expect(attempts[1]!.at - attempts[0]!.at).toBeLessThan(30_000); // no backoff before a redirect
    expect(c.leaderAddress()).toBe('c:1');
    await get(c);
    expect(attempts.map((a) => a.address)).toEqual(['a:1', 'c:1', 'c:1']);
  });

  it('follows a hint to an address it was not given (and learns it)', async () => {
    const { invoke, attempts } = fake({ 'a:1': [{ leader: 'z:9' }], 'z:9': ['ok'] });
    const c = connection(invoke, ['a:1']);
    await get(c);
    expect(attempts.map((a) => a.address)).toEqual(['a:1', 'z:9']);
    expect(c.knownEndpoints()).toContain('z:9');
  });

  it('fails over to the next endpoint after a broken connection or a timeout, backing off with jitter', async () => {
    const { invoke, attempts } = fake({ 'a:1': ['down'], 'b:1': ['timeout'], 'c:1': ['ok'] });
    const c = connection(invoke);
    await get(c);
    expect(attempts.map((a) => a.address)).toEqual(['a:1', 'b:1', 'c:1']);
    const gap1 = attempts[1]!.at - attempts[0]!.at;
    const gap2 = attempts[2]!.at - attempts[1]!.at;
    expect(gap1).toBeGreaterThanOrEqual(9); // [20/2, 20]
    expect(gap2).toBeGreaterThanOrEqual(19); // [40/2, 40]
  });

  it('does not loop on hints that point at each other: it backs off after a few', async () => {
    const { invoke, attempts } = fake({ 'a:1': [{ leader: 'b:1' }], 'b:1': [{ leader: 'a:1' }] });
    const c = connection(invoke, ['a:1', 'b:1'], 300);
    const err = await get(c).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotLeaderError);
    expect((err as NotLeaderError).leaderAddress).toMatch(/^[ab]:1$/);
    expect(attempts.length).toBeLessThan(40);
  });

  it('gives up after requestTimeoutMs with UnavailableError naming what it tried', async () => {
    const { invoke } = fake({});
    const c = connection(invoke, ['a:1', 'b:1'], 200);
    const started = performance.now();
    const err = await get(c).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    expect(err).not.toBeInstanceOf(NotLeaderError);
    expect((err as UnavailableError).endpoints).toEqual(['a:1', 'b:1']);
    expect((err as Error).message).toMatch(/connection refused/);
    expect(performance.now() - started).toBeLessThan(600);
  });

  it('never repeats a request that is not idempotent', async () => {
    const { invoke, attempts } = fake({ 'a:1': ['down'], 'b:1': ['ok'] });
    const err = await get(connection(invoke), { idempotent: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    expect((err as Error).message).toMatch(/not safe to repeat/);
    expect(attempts).toHaveLength(1);
  });

  it('does not retry a definitive answer', async () => {
    const { invoke, attempts } = fake({ 'a:1': ['not-found'] });
    await expect(get(connection(invoke))).rejects.toBeInstanceOf(LeaseNotFoundError);
    expect(attempts).toHaveLength(1);
  });

  it('stops at once when the signal aborts during a backoff; a RaftlockError reason is thrown as is', async () => {
    const { invoke } = fake({});
    const c = new Connection(
      { endpoints: ['a:1'], attemptTimeoutMs: 100, requestTimeoutMs: 10_000, backoff: { initialMs: 5_000, maxMs: 5_000, multiplier: 1 }, discoverMembers: true },
      invoke,
    );
    const controller = new AbortController();
    const pending = get(c, { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('stop')), 50);
    const started = performance.now();
    const err = await pending.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AbortError);
    expect((err as AbortError).cause).toEqual(new Error('stop'));
    expect(performance.now() - started).toBeLessThan(1_000);

    const lost = new LeaseLostError('lease 1 is lost', '1', 'expired');
    await expect(get(c, { signal: AbortSignal.abort(lost) })).rejects.toBe(lost);
  });
});

describe('Connection.call under a node\'s per-client limits (RESOURCE_EXHAUSTED with raftlock-retry-after-ms)', () => {
  /** HINT_MS is far above the backoff policy's 80 ms cap: a gap this long can only come from honouring the hint. */
  const HINT_MS = 400;

  it('waits at least the hinted time, then asks the same node again (no failover: the node is up)', async () => {
    const { invoke, attempts } = fake({ 'a:1': [{ retryAfterMs: String(HINT_MS) }, { retryAfterMs: String(HINT_MS) }, 'ok'] });
    const r = await get(connection(invoke, ['a:1', 'b:1', 'c:1'], 10_000));
    expect(r).toMatchObject({ name: 'x' });
    expect(attempts.map((a) => a.address)).toEqual(['a:1', 'a:1', 'a:1']);
    // A timer may fire a millisecond before its time as performance.now() sees it.
    expect(attempts[1]!.at - attempts[0]!.at).toBeGreaterThanOrEqual(HINT_MS - 2);
    expect(attempts[2]!.at - attempts[1]!.at).toBeGreaterThanOrEqual(HINT_MS - 2);
  });

  it('when the deadline leaves no room for the wait, fails at once with ResourceExhaustedError carrying the hint', async () => {
    const { invoke, attempts } = fake({ 'a:1': [{ retryAfterMs: '5000' }] });
    const err = await get(connection(invoke, ['a:1'], 1_000)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ResourceExhaustedError);
    expect((err as ResourceExhaustedError).retryAfterMs).toBe(5_000);
    expect(attempts).toHaveLength(1);
  });

  it('does not repeat a call that is not idempotent: the caller gets the hint', async () => {
    const { invoke, attempts } = fake({ 'a:1': [{ retryAfterMs: '50' }, 'ok'] });
    const err = await get(connection(invoke, ['a:1'], 10_000), { idempotent: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ResourceExhaustedError);
    expect((err as ResourceExhaustedError).retryAfterMs).toBe(50);
    expect(attempts).toHaveLength(1);
  });

  it('a cluster limit (no hint) or a malformed hint is a definitive answer, not retried', async () => {
    for (const answer of ['cluster-limit', { retryAfterMs: 'soon' }, { retryAfterMs: '0' }] as Answer[]) {
      const { invoke, attempts } = fake({ 'a:1': [answer, 'ok'] });
      const err = await get(connection(invoke, ['a:1'], 10_000)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ResourceExhaustedError);
      expect((err as ResourceExhaustedError).retryAfterMs).toBeNull();
      expect(attempts).toHaveLength(1);
    }
  });

  it('caps a huge hint (a node cannot park the client beyond MAX_RETRY_AFTER_MS) and still honours the deadline', async () => {
    const { invoke, attempts } = fake({ 'a:1': [{ retryAfterMs: '999999999' }] });
    const err = await get(connection(invoke, ['a:1'], 1_000)).catch((e: unknown) => e);
    expect((err as ResourceExhaustedError).retryAfterMs).toBe(10_000);
    expect(attempts).toHaveLength(1);
  });
});

import { afterAll, describe, expect, it } from 'vitest';
import { connect, LeaseLostError, UnavailableError, type RaftlockClient } from '../../src/client/index.js';
import { startRealCluster, useRealClusters } from './realCluster.js';

useRealClusters();

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('a lease lost while the client is cut off', () => {
  const clients: RaftlockClient[] = [];
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
  });

  it('SIGSTOP every node: the signal fires (LeaseLostError) before the cluster can grant the lock to anyone else', async () => {
    const cluster = await startRealCluster();
    await cluster.waitForLeader();
    const a = await connect({ endpoints: cluster.addresses(), attemptTimeoutMs: 300, requestTimeoutMs: 1_000 });
    clients.push(a);
    const ttlMs = 1_000;
    const lease = await a.grant(ttlMs);
    const handle = await a.acquire('loss/x', { lease });
    await sleep(500); // a few renewals acknowledged

    // All times are performance.now() in this process (monotonic).
    let abortedAt = -1;
    let lostCalls = 0;
    handle.signal.addEventListener('abort', () => {
      abortedAt = performance.now();
    });
    lease.onLost(() => lostCalls++);

    const pausedAt = performance.now();
    for (const id of cluster.ids) cluster.pause(id);
    let resumedAt = -1;
    try {
      // While every node is stopped nothing answers: requests fail with UnavailableError.
      const err = await a.get('loss/x').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UnavailableError);

      const until = performance.now() + 3 * ttlMs;
      while (abortedAt < 0 && performance.now() < until) await sleep(10);
      expect(abortedAt).toBeGreaterThan(0);
      // Lost no later than TTL - margin after the last acknowledged send, which was before the pause.
      expect(abortedAt - pausedAt).toBeLessThanOrEqual(ttlMs - 100 + 50);
      expect(handle.signal.reason).toBeInstanceOf(LeaseLostError);
      expect((handle.signal.reason as LeaseLostError).reason).toBe('expired');
      expect(lostCalls).toBe(1);
      await sleep(2 * ttlMs - (performance.now() - pausedAt)); // keep them stopped past the server's TTL too
    } finally {
      resumedAt = performance.now();
      for (const id of cluster.ids) cluster.resume(id);
    }
    // Nothing could be granted while every node was stopped, so the first possible grant is after resumedAt.
    expect(abortedAt).toBeLessThan(resumedAt);

    const b = await connect({ endpoints: cluster.addresses() });
    clients.push(b);
    const bHandle = await b.acquire('loss/x', { waitMs: 10_000 });
    const grantedAt = performance.now();
    expect(grantedAt).toBeGreaterThan(abortedAt);
    expect(bHandle.token > handle.token).toBe(true);

    // The lost lease stays lost: late replies never revive it, listeners are not called again.
    await sleep(500);
    expect(lease.lost?.reason).toBe('expired');
    expect(lostCalls).toBe(1);
    await handle.release(); // a no-op for a lost lease: it must not disturb b's grant
    expect((await b.get('loss/x')).holders.map((h) => h.token)).toEqual([bHandle.token]);
    await bHandle.release();
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AbortError,
  connect,
  DeadlineExceededError,
  InvalidArgumentError,
  LeaseLostError,
  LeaseNotFoundError,
  LockConflictError,
  LockHeldError,
  RaftlockError,
  UnavailableError,
  type RaftlockClient,
} from '../../src/client/index.js';
import { startRealCluster, useRealClusters, type RealCluster } from './realCluster.js';

useRealClusters();

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** caught returns what a promise rejects with (failing when it resolves). */
async function caught(p: Promise<unknown>): Promise<RaftlockError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(RaftlockError);
    expect(err, 'no raw gRPC code leaks').not.toHaveProperty('code');
    expect(err, 'no raw gRPC metadata leaks').not.toHaveProperty('metadata');
    return err as RaftlockError;
  }
  throw new Error('expected a rejection');
}

describe('typed errors and cancellation against a real cluster', () => {
  let cluster: RealCluster;
  let client: RaftlockClient;
  let other: RaftlockClient;

  beforeAll(async () => {
    cluster = await startRealCluster();
    client = await connect({ endpoints: cluster.addresses() });
    other = await connect({ endpoints: cluster.addresses() });
  });
  afterAll(async () => {
    await client?.close({ revoke: true });
    await other?.close({ revoke: true });
  });

  it('LockHeldError from tryAcquire carries the holders with exact tokens', async () => {
    const held = await client.acquire('err/held');
    const before = new Set((await other.leases()).map((l) => l.id));
    const err = await caught(other.tryAcquire('err/held'));
    expect(err).toBeInstanceOf(LockHeldError);
    expect(err.name).toBe('LockHeldError');
    const e = err as LockHeldError;
    expect(e.lockName).toBe('err/held');
    expect(e.holders).toEqual([{ leaseId: held.lease.id, token: held.token, mode: 'exclusive' }]);
    expect(e.holdersCount).toBe(1);
    // The failed tryAcquire's private lease is already revoked.
    expect((await other.leases()).filter((l) => !before.has(l.id))).toEqual([]);
    await held.release();
  });

  it('LeaseNotFoundError for an unknown or revoked lease', async () => {
    const unknown = await caught(client.timeToLive('4242424242'));
    expect(unknown).toBeInstanceOf(LeaseNotFoundError);
    expect(unknown.name).toBe('LeaseNotFoundError');
    expect((unknown as LeaseNotFoundError).leaseId).toBe('4242424242');

    const lease = await client.grant(1_000);
    await other.revoke(lease.id); // revoked behind this client's back
    expect(await caught(client.timeToLive(lease))).toBeInstanceOf(LeaseNotFoundError);
    expect(lease.lost?.reason).toBe('gone');
  });

  it('InvalidArgumentError for bad input, from the server or caught locally', async () => {
    const empty = await caught(client.tryAcquire(''));
    expect(empty).toBeInstanceOf(InvalidArgumentError);
    expect(empty.message).toMatch(/empty/);
    const shortTtl = await caught(client.grant(5));
    expect(shortTtl).toBeInstanceOf(InvalidArgumentError);
    expect(shortTtl.message).toMatch(/ttl_ms 5 is out of range/);
    expect(await caught(client.grant(1.5))).toBeInstanceOf(InvalidArgumentError);
    expect(await caught(client.acquire('x', { mode: 'bogus' as 'shared' }))).toBeInstanceOf(InvalidArgumentError);
    expect(await caught(client.acquire('x', { waitMs: -1 }))).toBeInstanceOf(InvalidArgumentError);
  });

  it('LockConflictError when a lease asks for a lock it holds in the other mode', async () => {
    const lease = await client.grant(1_000);
    await client.acquire('err/mode', { lease });
    const err = await caught(client.acquire('err/mode', { lease, mode: 'shared' }));
    expect(err).toBeInstanceOf(LockConflictError);
    await lease.revoke();
  });

  it('DeadlineExceededError when waitMs runs out; the wait is withdrawn', async () => {
    const held = await client.acquire('err/wait');
    const lease = await other.grant(2_000);
    const started = performance.now();
    const err = await caught(other.acquire('err/wait', { lease, waitMs: 300 }));
    expect(err).toBeInstanceOf(DeadlineExceededError);
    expect(err.name).toBe('DeadlineExceededError');
    expect((err as DeadlineExceededError).waitMs).toBe(300);
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    expect((await other.get('err/wait')).waiters).toEqual([]);
    expect(lease.signal.aborted).toBe(false);
    await held.release();
    await lease.revoke();
  });

  it('an AbortSignal cancels a waiting acquire: AbortError, the wait is withdrawn, the lease lives on', async () => {
    const held = await client.acquire('err/abort');
    const lease = await other.grant(2_000);
    const controller = new AbortController();
    const waiting = other.acquire('err/abort', { lease, signal: controller.signal });
    await sleep(300);
    expect((await other.get('err/abort')).waiters).toEqual([{ leaseId: lease.id, mode: 'exclusive' }]);
    const reason = new Error('user gave up');
    // The acquire has no wait limit: only the abort can end it (a broken abort hangs the test).
    controller.abort(reason);
    const err = await caught(waiting);
    expect(err).toBeInstanceOf(AbortError);
    expect(err.name).toBe('AbortError');
    expect(err.cause).toBe(reason);
    await sleep(100);
    expect((await other.get('err/abort')).waiters).toEqual([]);
    expect(lease.signal.aborted).toBe(false);

    // Releasing now must not hand the lock to the abandoned wait.
    await held.release();
    await sleep(400);
    expect((await other.get('err/abort')).holders).toEqual([]);

    // An already-aborted signal fails at once.
    expect(await caught(other.acquire('err/abort', { lease, signal: AbortSignal.abort() }))).toBeInstanceOf(AbortError);
    await lease.revoke();
  });

  it('an aborted private-lease acquire revokes its private lease', async () => {
    const held = await client.acquire('err/abort-private');
    const before = new Set((await other.leases()).map((l) => l.id));
    const controller = new AbortController();
    const waiting = other.acquire('err/abort-private', { signal: controller.signal });
    await sleep(300);
    controller.abort();
    expect(await caught(waiting)).toBeInstanceOf(AbortError);
    await sleep(300);
    expect((await other.leases()).filter((l) => !before.has(l.id))).toEqual([]);
    await held.release();
  });

  it('LeaseLostError as the signal reason, and onLost listeners called exactly once', async () => {
    const lease = await client.grant(1_000);
    const calls: LeaseLostError[] = [];
    lease.onLost((e) => calls.push(e));
    const handle = await client.acquire('err/lost', { lease });
    await other.revoke(lease.id); // the server drops it: the next keepalive reply says ttl 0
    const until = performance.now() + 2_000;
    while (!lease.signal.aborted && performance.now() < until) await sleep(20);
    expect(handle.signal.aborted).toBe(true);
    expect(handle.signal.reason).toBeInstanceOf(LeaseLostError);
    expect(handle.signal.reason.name).toBe('LeaseLostError');
    expect((handle.signal.reason as LeaseLostError).reason).toBe('gone');
    await sleep(500);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toBe(handle.signal.reason);
    // Using a lost lease fails with its LeaseLostError; releasing its lock is a no-op.
    expect(await caught(client.acquire('err/lost2', { lease }))).toBe(handle.signal.reason);
    await handle.release();
  });

  it('UnavailableError when no node answers (short timeouts)', async () => {
    // Ports 1 and 2 are never ours (a port freed by binding 0 could be taken by another test file's cluster).
    const endpoints = ['127.0.0.1:1', '127.0.0.1:2'];
    const err = await caught(connect({ endpoints, connectTimeoutMs: 500 }));
    expect(err).toBeInstanceOf(UnavailableError);
    expect(err.name).toBe('UnavailableError');
    expect((err as UnavailableError).endpoints).toEqual(endpoints);
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { METADATA } from '../../../src/server/statusMapping.js';
import { FakeNode } from './fakeNode.js';
import { call, Cleanup, clients, failure, grpc, LIMITS, meta, serve, sleep, waitFor } from './harness.js';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

/** GRACE_MS: the re-attach grace of most tests; short, so a cancelled wait is withdrawn soon. */
const GRACE_MS = 100;

async function setup(leases: number[] = [1, 2, 3], waitReattachGraceMs = GRACE_MS) {
  const s = await serve(cleanup, new FakeNode('n1', LIMITS), { waitReattachGraceMs });
  s.node.grantLeases(leases);
  return { ...s, ...clients(cleanup, s.address) };
}

const acquire = (name: string, leaseId: number | string, extra: object = {}) => ({ name, leaseId, ...extra });

describe('Lock.Acquire (try once)', () => {
  it('grants with a fencing token; a retry returns the same token', async () => {
    const { node, lock } = await setup();
    const first = await call(lock, 'Acquire', acquire('a', 1));
    expect(first).toMatchObject({ name: 'a', leaseId: '1', mode: 'EXCLUSIVE', existing: false });
    expect(Number(first.token)).toBeGreaterThan(0);
    expect(await call(lock, 'Acquire', acquire('a', 1))).toMatchObject({ token: first.token, existing: true });
    expect(node.proposed('acquire').map((c) => c.wait)).toEqual([false, false]);
  });

  it('shares a shared lock', async () => {
    const { node, lock } = await setup();
    await call(lock, 'Acquire', acquire('s', 1, { mode: 'SHARED' }));
    await call(lock, 'Acquire', acquire('s', 2, { mode: 1 }));
    expect(node.sm.getLock('s')?.holders.map((h) => h.leaseId)).toEqual([1, 2]);
  });

  it('a held lock is FAILED_PRECONDITION with its holders in raftlock-holders', async () => {
    const { lock } = await setup();
    const held = await call(lock, 'Acquire', acquire('a', 1));
    const err = await failure(call(lock, 'Acquire', acquire('a', 2)));
    expect(err.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(err.details).toMatch(/lock "a" is held by lease 1 \(exclusive, token \d+\); an exclusive try-lock needs it free/);
    expect(JSON.parse(meta(err.metadata, METADATA.holders))).toEqual([{ leaseId: 1, token: Number(held.token), mode: 'exclusive' }]);
    expect(meta(err.metadata, METADATA.holdersCount)).toBe('1');
  });

  it('maps the other refusals: unknown lease, mode mismatch, limits', async () => {
    const { lock } = await setup();
    const unknown = await failure(call(lock, 'Acquire', acquire('a', 99)));
    expect(unknown.code).toBe(grpc.status.NOT_FOUND);
    expect(unknown.details).toMatch(/lease 99 not found/);

    await call(lock, 'Acquire', acquire('m', 1));
    const mismatch = await failure(call(lock, 'Acquire', acquire('m', 1, { mode: 'SHARED' })));
    expect(mismatch.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(mismatch.details).toMatch(/already holding on lock "m" in exclusive mode; asked shared/);

    for (const name of ['b', 'c', 'd']) await call(lock, 'Acquire', acquire(name, 1));
    const limit = await failure(call(lock, 'Acquire', acquire('e', 1)));
    expect(limit.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(limit.details).toMatch(/limit maxLocksPerLease reached \(4\)/);
  });

  it('refuses malformed requests before anything is proposed', async () => {
    const { node, lock } = await setup();
    const cases: Array<[object, RegExp]> = [
      [acquire('', 1), /lock name is empty; accepted: 1 to 256 bytes/],
      [acquire('x'.repeat(257), 1), /is 257 bytes of UTF-8; accepted: 1 to 256 bytes/],
      [acquire('é'.repeat(129), 1), /is 258 bytes of UTF-8/],
      [acquire('a\u0007b', 1), /contains control character U\+0007 at position 1/],
      [acquire('a', 1, { mode: 7 }), /mode 7 is unknown; accepted: EXCLUSIVE \(0\) or SHARED \(1\)/],
      [acquire('a', 1, { waitMs: -1 }), /wait_ms -1 is negative; accepted: 0 \(try once\) to 3600000 ms/],
      [acquire('a', 1, { waitMs: '86400000' }), /wait_ms 86400000 is too long/],
      [acquire('a', 0), /lease_id is missing \(0\)/],
      [acquire('a', '9007199254740993'), /lease_id 9007199254740993 is out of range/],
    ];
    for (const [req, message] of cases) {
      const err = await failure(call(lock, 'Acquire', req));
      expect(err.code, message.source).toBe(grpc.status.INVALID_ARGUMENT);
      expect(err.details).toMatch(message);
    }
    expect(node.proposals).toEqual([]);
  });
});

describe('Lock.Release and Lock.Get', () => {
  it('releases with the right token; stale tokens and non-holders are FAILED_PRECONDITION', async () => {
    const { node, lock } = await setup();
    const { token } = await call(lock, 'Acquire', acquire('a', 1));
    const stale = await failure(call(lock, 'Release', { name: 'a', leaseId: 1, token: String(Number(token) - 1) }));
    expect(stale.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(stale.details).toMatch(/release with the current token/);
    const other = await failure(call(lock, 'Release', { name: 'a', leaseId: 2, token }));
    expect(other.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(other.details).toMatch(/lease 2 does not hold lock "a" \(held by lease 1/);
    expect(JSON.parse(meta(other.metadata, METADATA.holders))).toHaveLength(1);
    const gone = await failure(call(lock, 'Release', { name: 'a', leaseId: 42, token }));
    expect(gone.code).toBe(grpc.status.NOT_FOUND);
    expect(await call(lock, 'Release', { name: 'a', leaseId: 1, token })).toEqual({});
    expect(node.sm.getLock('a')).toBeNull();
    const bad = await failure(call(lock, 'Release', { name: 'a', leaseId: 1, token: 0 }));
    expect(bad.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(bad.details).toMatch(/token is missing \(0\)/);
  });

  it('Get shows holders with tokens and waiters in queue order; a free lock is empty', async () => {
    const { node, lock } = await setup();
    expect(await call(lock, 'Get', { name: 'a' })).toEqual({ name: 'a', holders: [], waiters: [] });
    const { token } = await call(lock, 'Acquire', acquire('a', 1));
    node.applyNow({ type: 'acquire', name: 'a', leaseId: 3, mode: 'shared', wait: true });
    node.applyNow({ type: 'acquire', name: 'a', leaseId: 2, mode: 'exclusive', wait: true });
    expect(await call(lock, 'Get', { name: 'a' })).toEqual({
      name: 'a',
      holders: [{ leaseId: '1', token, mode: 'EXCLUSIVE' }],
      waiters: [
        { leaseId: '3', mode: 'SHARED' },
        { leaseId: '2', mode: 'EXCLUSIVE' },
      ],
    });
    const bad = await failure(call(lock, 'Get', { name: '' }));
    expect(bad.code).toBe(grpc.status.INVALID_ARGUMENT);
  });
});

describe('Lock.Acquire with wait_ms', () => {
  it('a free lock is granted at once', async () => {
    const { node, lock } = await setup();
    expect(await call(lock, 'Acquire', acquire('a', 1, { waitMs: 5000 }))).toMatchObject({ existing: false });
    expect(node.proposed('acquire')[0]?.wait).toBe(true);
  });

  it('a queued wait is granted by a release, with the release index as token', async () => {
    const { node, lock } = await setup();
    const held = await call(lock, 'Acquire', acquire('a', 1));
    const waiting = call(lock, 'Acquire', acquire('a', 2, { waitMs: 5000 }));
    await waitFor(() => node.waiting === 1, 'the Acquire to wait');
    await call(lock, 'Release', { name: 'a', leaseId: 1, token: held.token });
    const granted = await waiting;
    expect(Number(granted.token)).toBeGreaterThan(Number(held.token));
    expect(node.sm.getLock('a')?.holders).toEqual([{ leaseId: 2, token: Number(granted.token), mode: 'exclusive' }]);
    expect(node.proposed('withdraw-wait')).toEqual([]);
  });

  it('wait_ms running out is DEADLINE_EXCEEDED and the wait is withdrawn through the log', async () => {
    const { node, lock } = await setup();
    await call(lock, 'Acquire', acquire('a', 1));
    const err = await failure(call(lock, 'Acquire', acquire('a', 2, { waitMs: 100 })));
    expect(err.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(err.details).toMatch(/lock "a" was not granted to lease 2 within wait_ms 100; the wait was withdrawn/);
    expect(node.proposed('withdraw-wait')).toEqual([{ type: 'withdraw-wait', name: 'a', leaseId: 2 }]);
    expect(node.sm.getLock('a')?.waiters).toEqual([]);
    expect(node.waiting).toBe(0);
  });

  it('a grant that beats the withdrawal goes to the caller when the wait timed out', async () => {
    const { node, lock } = await setup();
    const held = await call(lock, 'Acquire', acquire('a', 1));
    node.beforePropose = (cmd) => {
      // The holder releases just before the withdraw applies: the waiter is promoted first.
      if (cmd.type === 'withdraw-wait') node.applyNow({ type: 'release', name: 'a', leaseId: 1, token: Number(held.token) });
      return undefined;
    };
    const granted = await call(lock, 'Acquire', acquire('a', 2, { waitMs: 100 }));
    const holder = node.sm.getLock('a')?.holders[0];
    expect(holder?.leaseId).toBe(2);
    expect(granted).toMatchObject({ token: String(holder?.token), leaseId: '2', existing: false });
    expect(node.proposed('release')).toEqual([]);
  });

  it('a client cancel withdraws the wait once the re-attach grace ends', async () => {
    const { node, lock } = await setup();
    await call(lock, 'Acquire', acquire('a', 1));
    let c!: grpc.ClientUnaryCall;
    const err = failure(call(lock, 'Acquire', acquire('a', 2, { waitMs: 10_000 }), { onCall: (x) => (c = x) }));
    await waitFor(() => node.waiting === 1, 'the Acquire to wait');
    c.cancel();
    expect((await err).code).toBe(grpc.status.CANCELLED);
    await waitFor(() => node.proposed('withdraw-wait').length === 1, 'the withdraw');
    expect(node.sm.getLock('a')?.waiters).toEqual([]);
    expect(node.proposed('release')).toEqual([]);
  });

  it('a grant that beats the withdrawal of a cancelled wait is released after the grace', async () => {
    const { node, lock } = await setup();
    const held = await call(lock, 'Acquire', acquire('a', 1));
    node.beforePropose = (cmd) => {
      if (cmd.type === 'withdraw-wait') node.applyNow({ type: 'release', name: 'a', leaseId: 1, token: Number(held.token) });
      return undefined;
    };
    let c!: grpc.ClientUnaryCall;
    const err = failure(call(lock, 'Acquire', acquire('a', 2, { waitMs: 10_000 }), { onCall: (x) => (c = x) }));
    await waitFor(() => node.waiting === 1, 'the Acquire to wait');
    c.cancel();
    expect((await err).code).toBe(grpc.status.CANCELLED);
    await waitFor(() => node.proposed('release').length === 1, 'the release of the late grant');
    const release = node.proposed('release')[0];
    expect(release).toMatchObject({ name: 'a', leaseId: 2 });
    expect(node.sm.getLock('a')).toBeNull();
  });

  it('a client deadline shorter than wait_ms also withdraws the wait', async () => {
    const { node, lock } = await setup();
    await call(lock, 'Acquire', acquire('a', 1));
    const err = await failure(call(lock, 'Acquire', acquire('a', 2, { waitMs: 10_000 }), { deadlineMs: 150 }));
    expect(err.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    await waitFor(() => node.proposed('withdraw-wait').length === 1, 'the withdraw');
    expect(node.sm.getLock('a')?.waiters).toEqual([]);
  });

  it('a lease revoked while waiting ends the wait with NOT_FOUND', async () => {
    const { node, lock, lease } = await setup();
    await call(lock, 'Acquire', acquire('a', 1));
    const waiting = failure(call(lock, 'Acquire', acquire('a', 2, { waitMs: 10_000 })));
    await waitFor(() => node.waiting === 1, 'the Acquire to wait');
    await call(lease, 'Revoke', { leaseId: 2 });
    const err = await waiting;
    expect(err.code).toBe(grpc.status.NOT_FOUND);
    expect(err.details).toMatch(/lease 2 was revoked or expired while waiting for lock "a"/);
  });

  it('the per-lease wait limit is RESOURCE_EXHAUSTED', async () => {
    const { node, lock } = await setup();
    for (const name of ['a', 'b', 'c']) await call(lock, 'Acquire', acquire(name, 1));
    const pending = ['a', 'b'].map((name) => failure(call(lock, 'Acquire', acquire(name, 2, { waitMs: 300 }))));
    await waitFor(() => node.waiting === 2, 'two waits');
    const err = await failure(call(lock, 'Acquire', acquire('c', 2, { waitMs: 300 })));
    expect(err.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(err.details).toMatch(/maxWaitsPerLease reached \(2\)/);
    for (const p of pending) expect((await p).code).toBe(grpc.status.DEADLINE_EXCEEDED);
    await sleep(10);
  });
});

/** cancelWhileWaiting starts a waiting Acquire, waits until the node has it waiting, cancels it and waits until the server let go of it. */
async function cancelWhileWaiting(node: FakeNode, lock: grpc.Client, name: string, leaseId: number): Promise<void> {
  let c!: grpc.ClientUnaryCall;
  const before = node.waiting;
  const err = failure(call(lock, 'Acquire', acquire(name, leaseId, { waitMs: 30_000 }), { onCall: (x) => (c = x), deadlineMs: 60_000 }));
  await waitFor(() => node.waiting === before + 1, `lease ${leaseId}'s Acquire to wait`);
  c.cancel();
  expect((await err).code).toBe(grpc.status.CANCELLED);
  // The server's cancellation handling runs in microtasks after its waiter is dropped; waitFor polls on timers.
  await waitFor(() => node.waiting === before, `the server to see lease ${leaseId}'s cancel`);
}

describe('Lock.Acquire: a cancelled wait keeps its place for a re-attach', () => {
  it('a retry of the cancelled Acquire takes the wait over in its original place', async () => {
    const { node, lock } = await setup([1, 2, 3], 60_000);
    const held = await call(lock, 'Acquire', acquire('a', 1));
    await cancelWhileWaiting(node, lock, 'a', 2);
    const third = call(lock, 'Acquire', acquire('a', 3, { waitMs: 30_000 }));
    await waitFor(() => node.waiting === 1, "lease 3's Acquire to wait");
    // Held: still queued first, nothing withdrawn.
    expect(node.sm.getLock('a')?.waiters.map((w) => w.leaseId)).toEqual([2, 3]);
    expect(node.proposed('withdraw-wait')).toEqual([]);

    const retry = call(lock, 'Acquire', acquire('a', 2, { waitMs: 30_000 }));
    await waitFor(() => node.waiting === 2, 'the retry to wait');
    expect(node.sm.getLock('a')?.waiters.map((w) => w.leaseId)).toEqual([2, 3]);
    await call(lock, 'Release', { name: 'a', leaseId: 1, token: held.token });
    const granted = await retry;
    expect(granted).toMatchObject({ leaseId: '2', existing: false });
    expect(node.sm.getLock('a')?.holders.map((h) => h.leaseId)).toEqual([2]);
    await call(lock, 'Release', { name: 'a', leaseId: 2, token: granted.token });
    expect(await third).toMatchObject({ leaseId: '3' });
    expect(node.proposed('withdraw-wait')).toEqual([]);
  });

  it('a retry after a grant made during the grace gets that grant, and the grace does not release it', async () => {
    const { node, lock } = await setup([1, 2], GRACE_MS);
    const held = await call(lock, 'Acquire', acquire('a', 1));
    await cancelWhileWaiting(node, lock, 'a', 2);
    await call(lock, 'Release', { name: 'a', leaseId: 1, token: held.token });
    const token = node.sm.getLock('a')?.holders[0]?.token;
    expect(node.sm.getLock('a')?.holders.map((h) => h.leaseId)).toEqual([2]);
    const retry = await call(lock, 'Acquire', acquire('a', 2, { waitMs: 30_000 }));
    expect(retry).toMatchObject({ token: String(token), existing: true });
    // Well past the grace: the taken-over wait is neither withdrawn nor released.
    await sleep(GRACE_MS * 3);
    expect(node.proposed('withdraw-wait')).toEqual([]);
    expect(node.proposed('release').map((r) => r.leaseId)).toEqual([1]);
    expect(node.sm.getLock('a')?.holders).toEqual([{ leaseId: 2, token, mode: 'exclusive' }]);
  });

  it('without a retry, a grant made during the grace is released after it and the next waiter gets the lock', async () => {
    const { node, lock } = await setup([1, 2, 3], GRACE_MS);
    const held = await call(lock, 'Acquire', acquire('a', 1));
    await cancelWhileWaiting(node, lock, 'a', 2);
    const third = call(lock, 'Acquire', acquire('a', 3, { waitMs: 30_000 }));
    await waitFor(() => node.waiting === 1, "lease 3's Acquire to wait");
    await call(lock, 'Release', { name: 'a', leaseId: 1, token: held.token });
    expect(node.sm.getLock('a')?.holders.map((h) => h.leaseId)).toEqual([2]);
    expect(await third).toMatchObject({ leaseId: '3' });
    expect(node.proposed('withdraw-wait')).toEqual([{ type: 'withdraw-wait', name: 'a', leaseId: 2 }]);
    expect(node.proposed('release').map((r) => r.leaseId)).toEqual([1, 2]);
  });

  it('a retry arriving while the grace withdrawal is in flight keeps the grant it reports', async () => {
    const { node, lock } = await setup([1, 2], GRACE_MS);
    const held = await call(lock, 'Acquire', acquire('a', 1));
    await cancelWhileWaiting(node, lock, 'a', 2);
    await call(lock, 'Release', { name: 'a', leaseId: 1, token: held.token });
    const token = node.sm.getLock('a')?.holders[0]?.token;
    // The grace runs out and its withdraw is proposed; the client's retry arrives and proposes before the withdraw applies.
    let retry: Promise<unknown> | null = null;
    let retryProposed!: () => void;
    const retryInLog = new Promise<void>((resolve) => (retryProposed = resolve));
    node.proposeGate = (cmd) => {
      if (cmd.type === 'acquire') retryProposed();
      if (cmd.type !== 'withdraw-wait') return undefined;
      retry = call(lock, 'Acquire', acquire('a', 2, { waitMs: 30_000 }));
      return retryInLog;
    };
    await waitFor(() => retry !== null, 'the grace withdraw');
    expect(await retry).toMatchObject({ token: String(token), existing: true });
    await waitFor(() => node.proposed('withdraw-wait').length === 1, 'the withdraw');
    await sleep(GRACE_MS);
    expect(node.proposed('release').map((r) => r.leaseId)).toEqual([1]);
    expect(node.sm.getLock('a')?.holders).toEqual([{ leaseId: 2, token, mode: 'exclusive' }]);
  });

  it('a retry that waits beside the not yet cancelled call keeps the wait when that call is cancelled', async () => {
    const { node, lock } = await setup([1, 2], GRACE_MS);
    const held = await call(lock, 'Acquire', acquire('a', 1));
    let first!: grpc.ClientUnaryCall;
    const firstErr = failure(call(lock, 'Acquire', acquire('a', 2, { waitMs: 30_000 }), { onCall: (x) => (first = x) }));
    await waitFor(() => node.waiting === 1, 'the first call to wait');
    const retry = call(lock, 'Acquire', acquire('a', 2, { waitMs: 30_000 }));
    await waitFor(() => node.waiting === 2, 'the retry to wait beside it');
    first.cancel();
    expect((await firstErr).code).toBe(grpc.status.CANCELLED);
    await waitFor(() => node.waiting === 1, 'the server to see the cancel');
    await sleep(GRACE_MS * 3);
    expect(node.proposed('withdraw-wait')).toEqual([]);
    await call(lock, 'Release', { name: 'a', leaseId: 1, token: held.token });
    expect(await retry).toMatchObject({ leaseId: '2', existing: false });
  });

  it('a held wait is left queued when leadership changed before its grace ended', async () => {
    const { node, lock } = await setup([1, 2], GRACE_MS);
    await call(lock, 'Acquire', acquire('a', 1));
    await cancelWhileWaiting(node, lock, 'a', 2);
    node.term++;
    await sleep(GRACE_MS * 3);
    expect(node.proposed('withdraw-wait')).toEqual([]);
    expect(node.sm.getLock('a')?.waiters.map((w) => w.leaseId)).toEqual([2]);
  });

  it('the grace never outlasts the wait_ms of the cancelled call', async () => {
    const { node, lock } = await setup([1, 2], 60_000);
    await call(lock, 'Acquire', acquire('a', 1));
    let c!: grpc.ClientUnaryCall;
    const err = failure(call(lock, 'Acquire', acquire('a', 2, { waitMs: 300 }), { onCall: (x) => (c = x) }));
    await waitFor(() => node.waiting === 1, 'the Acquire to wait');
    c.cancel();
    expect((await err).code).toBe(grpc.status.CANCELLED);
    await waitFor(() => node.proposed('withdraw-wait').length === 1, 'the withdraw at the end of wait_ms');
    expect(node.sm.getLock('a')?.waiters).toEqual([]);
  });
});

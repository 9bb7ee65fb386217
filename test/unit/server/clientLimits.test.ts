import { afterEach, describe, expect, it } from 'vitest';
import { resolveLimits } from '../../../src/lock/limits.js';
import { DEFAULT_CLIENT_LIMITS, type ClientLimits } from '../../../src/server/clientLimits.js';
import { RETRY_AFTER_METADATA } from '../../../src/server/fairQueue.js';
import { FakeNode } from './fakeNode.js';
import { call, Cleanup, clients, failure, grpc, LIMITS, meta, serve, sleep, waitFor, type Any } from './harness.js';

/**
 * Client limits at the server edge (ClientLimits): each refusal is
 * RESOURCE_EXHAUSTED naming the limit and its value, with a retry hint, and
 * changes nothing in the node; other clients keep being served.
 */

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

/** SLOW_RATE: one token per 1,000 s, so no token comes back during a test however slow the machine. */
const SLOW_RATE = 0.001;

async function setup(limits: Partial<ClientLimits>, node = new FakeNode('n1', LIMITS)) {
  const s = await serve(cleanup, node, { clientLimits: { ...DEFAULT_CLIENT_LIMITS, ...limits } });
  s.node.grantLeases([1, 2, 3]);
  return s;
}

function expectLimit(err: grpc.ServiceError, limit: RegExp): void {
  expect(err.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
  expect(err.details).toMatch(limit);
  expect(err.details).toMatch(/retry after \d+ ms/);
  expect(Number(meta(err.metadata, RETRY_AFTER_METADATA))).toBeGreaterThan(0);
}

describe('requestsPerSecond', () => {
  it('refuses a caller over its burst without proposing, while another connection is served', async () => {
    const { node, address } = await setup({ requestsPerSecond: SLOW_RATE, requestBurst: 3 });
    const flooder = clients(cleanup, address);
    for (let i = 0; i < 3; i++) await call(flooder.lock, 'Acquire', { name: `a${i}`, leaseId: 1 });
    const proposed = node.proposals.length;
    const err = await failure(call(flooder.lock, 'Acquire', { name: 'x', leaseId: 1 }));
    expectLimit(err, /limit requestsPerSecond reached: accepted 0\.001 calls\/s \(burst 3\) per caller/);
    expect(node.proposals.length).toBe(proposed);
    expect(node.sm.getLock('x')).toBeNull();
    // Every unary call counts, Cluster.Status too.
    expectLimit(await failure(call(flooder.cluster, 'Status', {})), /requestsPerSecond/);
    // A new connection is another caller (plaintext: the connection is the identity).
    const other = clients(cleanup, address, 2);
    expect(await call(other.lock, 'Acquire', { name: 'x', leaseId: 2 })).toMatchObject({ name: 'x', leaseId: '2' });
  });
});

describe('maxInFlightPerConnection', () => {
  it('refuses a call over the in-flight bound on one connection and proposes nothing for it', async () => {
    const { node, address } = await setup({ maxInFlightPerConnection: 2 });
    const c = clients(cleanup, address);
    await call(c.lock, 'Acquire', { name: 'held', leaseId: 1 });
    const waits = Promise.allSettled([2, 3].map((leaseId) => call(c.lock, 'Acquire', { name: 'held', leaseId, waitMs: 2_000 }, { deadlineMs: 10_000 })));
    await waitFor(() => node.waiting === 2, 'both waits');
    const proposed = node.proposals.length;
    const err = await failure(call(c.lock, 'Get', { name: 'held' }));
    expectLimit(err, /limit maxInFlightPerConnection reached: accepted 2 calls in flight per connection/);
    expect(node.proposals.length).toBe(proposed);
    // Another connection is not affected.
    const other = clients(cleanup, address, 2);
    expect((await call(other.lock, 'Get', { name: 'held' })).waiters).toHaveLength(2);
    // Once the waits end, the connection is served again.
    await call(other.lock, 'Release', { name: 'held', leaseId: 1, token: node.sm.getLock('held')!.holders[0]!.token });
    await call(other.lease, 'Revoke', { leaseId: 3 });
    await waits;
    expect((await call(c.lock, 'Get', { name: 'held' })).name).toBe('held');
  });
});

describe('maxConcurrentStreams', () => {
  it('holds further calls in the client until a stream frees up (HTTP/2 flow control, no error)', async () => {
    const { node, address } = await setup({ maxConcurrentStreams: 2 });
    const c = clients(cleanup, address);
    await call(c.lock, 'Acquire', { name: 'held', leaseId: 1 });
    const w2 = call(c.lock, 'Acquire', { name: 'held', leaseId: 2, waitMs: 30_000 }, { deadlineMs: 60_000 });
    const w3 = call(c.lock, 'Acquire', { name: 'other', leaseId: 3 }, { deadlineMs: 60_000 });
    await waitFor(() => node.waiting === 1, 'the wait of lease 2');
    // Stream 1 waits, stream 2 (w3) is served; a third stream has room now.
    expect(await w3).toMatchObject({ name: 'other' });
    const w4 = call(c.lock, 'Acquire', { name: 'held', leaseId: 3, waitMs: 30_000 }, { deadlineMs: 60_000 });
    await waitFor(() => node.sm.getLock('held')?.waiters.length === 2, 'the wait of lease 3');
    // Two streams are open (both waiting): a fifth call must not reach the server until one ends.
    const before = node.proposals.length;
    let fifthDone = false;
    const w5 = call(c.lock, 'Get', { name: 'held' }, { deadlineMs: 60_000 }).then((r: Any) => {
      fifthDone = true;
      return r;
    });
    await sleep(300);
    expect(fifthDone).toBe(false);
    expect(node.proposals.length).toBe(before);
    await call(clients(cleanup, address, 2).lock, 'Release', { name: 'held', leaseId: 1, token: node.sm.getLock('held')!.holders[0]!.token });
    expect(await w2).toMatchObject({ leaseId: '2' });
    expect((await w5).name).toBe('held');
    await call(clients(cleanup, address, 2).lease, 'Revoke', { leaseId: 2 });
    await Promise.allSettled([w4]);
  });
});

describe('keepAlivesPerSecond', () => {
  it('ends a KeepAlive stream over the rate with RESOURCE_EXHAUSTED; the renewals over it never reach the node', async () => {
    const { node, address } = await setup({ keepAlivesPerSecond: SLOW_RATE, keepAliveBurst: 3 });
    const c = clients(cleanup, address);
    const replies: Any[] = [];
    const stream = (c.lease as unknown as { KeepAlive(): grpc.ClientDuplexStream<Any, Any> }).KeepAlive();
    cleanup.add(() => stream.cancel());
    const status = new Promise<grpc.StatusObject>((resolve) => stream.on('status', resolve));
    stream.on('data', (r: Any) => replies.push(r));
    stream.on('error', () => undefined);
    for (let i = 0; i < 6; i++) stream.write({ leaseId: '1' });
    const s = await status;
    expect(s.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(s.details).toMatch(/limit keepAlivesPerSecond reached: accepted 0\.001 KeepAlive messages\/s \(burst 3\) per caller; retry after \d+ ms/);
    expect(Number(meta(s.metadata, RETRY_AFTER_METADATA))).toBeGreaterThan(0);
    expect(node.keepAliveCalls).toBe(3);
    // Unary calls of the same caller have their own budget.
    expect((await call(c.lease, 'TimeToLive', { leaseId: 1 })).leaseId).toBe('1');
  });
});

describe('message size', () => {
  it('refuses a request larger than 64 KiB before decoding it', async () => {
    const { node, address } = await setup({});
    const c = clients(cleanup, address);
    const proposed = node.proposals.length;
    const err = await failure(call(c.lock, 'Acquire', { name: 'n'.repeat(70_000), leaseId: 1 }));
    expect(err.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(err.details).toMatch(/larger than max/);
    expect(node.proposals.length).toBe(proposed);
    expect(await call(c.lock, 'Acquire', { name: 'ok', leaseId: 1 })).toMatchObject({ name: 'ok' });
  });

  it('a name within the message size but over maxNameBytes is INVALID_ARGUMENT naming the accepted size', async () => {
    const { node, address } = await setup({});
    const c = clients(cleanup, address);
    const err = await failure(call(c.lock, 'Acquire', { name: 'n'.repeat(LIMITS.maxNameBytes + 1), leaseId: 1 }));
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.details).toMatch(new RegExp(`accepted: 1 to ${LIMITS.maxNameBytes} bytes`));
    expect(node.proposals).toHaveLength(0);
  });
});

describe('maxWaitersPerLock (replicated)', () => {
  it('a wait on a lock with a full queue is RESOURCE_EXHAUSTED naming the limit; the queue is unchanged', async () => {
    const limits = resolveLimits({ ...LIMITS, maxWaitersPerLock: 1 });
    const { node, address } = await setup({}, new FakeNode('n1', limits));
    const c = clients(cleanup, address);
    await call(c.lock, 'Acquire', { name: 'q', leaseId: 1 });
    const w2 = failure(call(c.lock, 'Acquire', { name: 'q', leaseId: 2, waitMs: 500 }));
    await waitFor(() => node.waiting === 1, 'the wait of lease 2');
    const err = await failure(call(c.lock, 'Acquire', { name: 'q', leaseId: 3, waitMs: 500 }));
    expect(err.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(err.details).toMatch(/limit maxWaitersPerLock reached \(1\)/);
    expect(node.sm.getLock('q')!.waiters.map((w) => w.leaseId)).toEqual([2]);
    expect(node.sm.getLease(3)).toMatchObject({ locksHeld: [], waitingOn: [] });
    expect((await w2).code).toBe(grpc.status.DEADLINE_EXCEEDED);
  });
});

describe('forwarded calls', () => {
  it('the entry member applies the limits; the leader does not count a follower\'s forwarded calls again', async () => {
    const tight = { ...DEFAULT_CLIENT_LIMITS, requestsPerSecond: SLOW_RATE, requestBurst: 2 };
    const leader = await serve(cleanup, new FakeNode('n1', LIMITS), { clientLimits: tight });
    const follower = await serve(cleanup, new FakeNode('n2', LIMITS), { clientLimits: tight }, false);
    follower.node.makeFollower({ id: 'n1', clientAddress: leader.address });
    leader.node.grantLeases([1]);
    // Three clients, two calls each through the follower: six forwarded calls on one connection, over the leader's burst of 2.
    for (const connection of [1, 2, 3]) {
      const c = clients(cleanup, follower.address, connection);
      for (const name of ['a', 'b']) await call(c.lock, 'Get', { name: `${name}${connection}` });
    }
    // Each client is limited at the follower, where it entered.
    const c1 = clients(cleanup, follower.address, 1);
    expectLimit(await failure(call(c1.lock, 'Get', { name: 'x' })), /requestsPerSecond/);
  });

  it('a KeepAlive stream through a follower is charged at the follower, not again at the leader', async () => {
    const tight = { ...DEFAULT_CLIENT_LIMITS, keepAlivesPerSecond: SLOW_RATE, keepAliveBurst: 3 };
    const leader = await serve(cleanup, new FakeNode('n1', LIMITS), { clientLimits: tight });
    const follower = await serve(cleanup, new FakeNode('n2', LIMITS), { clientLimits: tight }, false);
    follower.node.makeFollower({ id: 'n1', clientAddress: leader.address });
    leader.node.grantLeases([1]);
    const open = (connection: number) => {
      const stream = (clients(cleanup, follower.address, connection).lease as unknown as { KeepAlive(): grpc.ClientDuplexStream<Any, Any> }).KeepAlive();
      cleanup.add(() => stream.cancel());
      const replies: Any[] = [];
      stream.on('data', (r: Any) => replies.push(r));
      stream.on('error', () => undefined);
      const status = new Promise<grpc.StatusObject>((resolve) => stream.on('status', resolve));
      return { stream, replies, status };
    };
    // Two clients, three renewals each: six through one follower connection, over the leader's burst, all served.
    for (const connection of [1, 2]) {
      const ka = open(connection);
      for (let i = 0; i < 3; i++) ka.stream.write({ leaseId: '1' });
      await waitFor(() => ka.replies.length === 3, 'three renewals');
      ka.stream.end();
      expect((await ka.status).code).toBe(grpc.status.OK);
    }
    expect(leader.node.keepAliveCalls).toBe(6);
    // A client over its own rate is stopped at the follower; the extra renewal never reaches the leader.
    const over = open(1);
    over.stream.write({ leaseId: '1' });
    const st = await over.status;
    expect(st.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(st.details).toMatch(/limit keepAlivesPerSecond reached/);
    expect(leader.node.keepAliveCalls).toBe(6);
  });

  it('a follower forwards more waits and KeepAlive streams than one connection may carry (maxConcurrentStreams): none is held back', async () => {
    const narrow = { ...DEFAULT_CLIENT_LIMITS, maxConcurrentStreams: 2 };
    const leader = await serve(cleanup, new FakeNode('n1', LIMITS), { clientLimits: narrow });
    const follower = await serve(cleanup, new FakeNode('n2', LIMITS), { clientLimits: narrow }, false);
    follower.node.makeFollower({ id: 'n1', clientAddress: leader.address });
    leader.node.grantLeases([1, 2, 3, 4, 5, 6]);
    await call(clients(cleanup, leader.address).lock, 'Acquire', { name: 'held', leaseId: 1 });
    // Five clients of the follower, each with one wait: five forwarded streams, over the leader's two per connection.
    const waits = [2, 3, 4, 5, 6].map((leaseId) =>
      call(clients(cleanup, follower.address, leaseId).lock, 'Acquire', { name: 'held', leaseId, waitMs: 30_000 }, { deadlineMs: 60_000 }));
    await waitFor(() => leader.node.waiting === 5, 'all five waits at the leader');
    // And a KeepAlive stream through the follower, while those five are open, is still answered.
    const stream = (clients(cleanup, follower.address, 7).lease as unknown as { KeepAlive(): grpc.ClientDuplexStream<Any, Any> }).KeepAlive();
    cleanup.add(() => stream.cancel());
    const replies: Any[] = [];
    stream.on('data', (r: Any) => replies.push(r));
    stream.on('error', () => undefined);
    stream.write({ leaseId: '1' });
    await waitFor(() => replies.length === 1, 'the renewal through the follower');
    // Revoking each holder in turn grants the next wait, answered through the follower's connections.
    for (let i = 0; i < 5; i++) {
      const holder = leader.node.sm.getLock('held')!.holders[0]!.leaseId;
      await call(clients(cleanup, leader.address).lease, 'Revoke', { leaseId: String(holder) });
    }
    expect((await Promise.all(waits)).map((r) => r.leaseId)).toEqual(['2', '3', '4', '5', '6']);
  });

  it('a client faking the forwarded mark is served by the leader as any call, and refused by a follower', async () => {
    const { node, address } = await setup({});
    const md = new grpc.Metadata();
    md.set('raftlock-forwarded', '1');
    md.set('raftlock-caller', 'someone-else');
    const c = clients(cleanup, address);
    expect((await call(c.lock, 'Get', { name: 'a' }, { metadata: md })).name).toBe('a');
    expect(node.proposals).toHaveLength(0);
    const follower = await serve(cleanup, new FakeNode('n2', LIMITS), {}, false);
    follower.node.makeFollower({ id: 'n1', clientAddress: address });
    const err = await failure(call(clients(cleanup, follower.address).lock, 'Get', { name: 'a' }, { metadata: md }));
    expect(err.code).toBe(grpc.status.UNAVAILABLE);
  });
});

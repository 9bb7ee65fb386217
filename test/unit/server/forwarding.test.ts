import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { NotLeaderError } from '../../../src/node/nodeApi.js';
import { METADATA } from '../../../src/server/statusMapping.js';
import { FakeNode } from './fakeNode.js';
import { call, Cleanup, clients, failure, grpc, LIMITS, meta, serve, sleep, waitFor, type Any } from './harness.js';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

/** pair: a leader n1 and a follower n2 that knows n1 leads; the clients talk to the follower. */
async function pair() {
  const leader = await serve(cleanup, new FakeNode('n1', LIMITS), { waitReattachGraceMs: 100 });
  const follower = await serve(cleanup, new FakeNode('n2', LIMITS), {}, false);
  follower.node.makeFollower({ id: 'n1', clientAddress: leader.address });
  return { leader, follower, ...clients(cleanup, follower.address) };
}

function keepAliveStream(client: grpc.Client, metadata = new grpc.Metadata()) {
  const replies: Any[] = [];
  const stream = (client as unknown as { KeepAlive(md: grpc.Metadata): grpc.ClientDuplexStream<Any, Any> }).KeepAlive(metadata);
  const status = new Promise<grpc.StatusObject>((resolve) => stream.on('status', resolve));
  stream.on('data', (r: Any) => replies.push(r));
  stream.on('error', () => undefined);
  cleanup.add(() => stream.cancel());
  return { stream, replies, status };
}

describe('a follower forwards unary calls to the leader', () => {
  it('every Lease and Lock call is served by the leader', async () => {
    const { leader, follower, lease, lock } = await pair();
    const granted = await call(lease, 'Grant', { ttlMs: 5000 });
    const id = Number(granted.leaseId);
    expect(leader.node.sm.getLease(id)?.ttlMs).toBe(5000);
    expect(follower.node.sm.getLease(id)).toBeNull();
    expect(await call(lease, 'Grant', { ttlMs: 5000, leaseId: 77 })).toEqual({ leaseId: '77', ttlMs: '5000' });

    const { token } = await call(lock, 'Acquire', { name: 'a', leaseId: id });
    expect(leader.node.sm.getLock('a')?.holders[0]?.token).toBe(Number(token));
    expect(await call(lock, 'Get', { name: 'a' })).toMatchObject({ holders: [{ leaseId: String(id), token }] });
    expect(await call(lease, 'TimeToLive', { leaseId: id })).toMatchObject({ ttlMs: '5000', locks: ['a'] });
    expect((await call(lease, 'List', {})).leases).toHaveLength(2);
    expect(await call(lock, 'Release', { name: 'a', leaseId: id, token })).toEqual({});
    expect(await call(lease, 'Revoke', { leaseId: 77 })).toEqual({ locksReleased: [] });
    expect(leader.node.sm.getLease(77)).toBeNull();
  });

  it("relays the leader's refusals with their code, message and raftlock metadata", async () => {
    const { leader, lock } = await pair();
    leader.node.grantLeases([1, 2]);
    const { token } = await call(lock, 'Acquire', { name: 'a', leaseId: 1 });
    const err = await failure(call(lock, 'Acquire', { name: 'a', leaseId: 2 }));
    expect(err.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(err.details).toMatch(/lock "a" is held by lease 1/);
    expect(JSON.parse(meta(err.metadata, METADATA.holders))).toEqual([{ leaseId: 1, token: Number(token), mode: 'exclusive' }]);
    const missing = await failure(call(lock, 'Acquire', { name: 'a', leaseId: 3 }));
    expect(missing.code).toBe(grpc.status.NOT_FOUND);
  });

  it('validates before forwarding: bad input never leaves the follower', async () => {
    const { leader, lock, lease } = await pair();
    const err = await failure(call(lock, 'Acquire', { name: 'bad\nname', leaseId: 1 }));
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.details).toMatch(/control character U\+000A/);
    expect((await failure(call(lease, 'Grant', { ttlMs: 1 }))).code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(leader.node.proposals).toEqual([]);
  });

  it('propagates the deadline: a waiting Acquire is withdrawn on the leader when the caller gives up', async () => {
    const { leader, lock } = await pair();
    leader.node.grantLeases([1, 2]);
    await call(lock, 'Acquire', { name: 'a', leaseId: 1 });
    const err = await failure(call(lock, 'Acquire', { name: 'a', leaseId: 2, waitMs: 10_000 }, { deadlineMs: 200 }));
    expect(err.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    await waitFor(() => leader.node.proposed('withdraw-wait').length === 1, 'the withdraw on the leader');
    expect(leader.node.sm.getLock('a')?.waiters).toEqual([]);
  });

  it('propagates cancellation to the leader', async () => {
    const { leader, lock } = await pair();
    leader.node.grantLeases([1, 2]);
    await call(lock, 'Acquire', { name: 'a', leaseId: 1 });
    let c!: grpc.ClientUnaryCall;
    const err = failure(call(lock, 'Acquire', { name: 'a', leaseId: 2, waitMs: 10_000 }, { onCall: (x) => (c = x) }));
    await waitFor(() => leader.node.waiting === 1, 'the wait on the leader');
    c.cancel();
    expect((await err).code).toBe(grpc.status.CANCELLED);
    await waitFor(() => leader.node.proposed('withdraw-wait').length === 1, 'the withdraw on the leader');
  });

  it('a wait granted on the leader is answered through the follower', async () => {
    const { leader, lock } = await pair();
    leader.node.grantLeases([1, 2]);
    const held = await call(lock, 'Acquire', { name: 'a', leaseId: 1 });
    const waiting = call(lock, 'Acquire', { name: 'a', leaseId: 2, waitMs: 5000 });
    await waitFor(() => leader.node.waiting === 1, 'the wait on the leader');
    await call(lock, 'Release', { name: 'a', leaseId: 1, token: held.token });
    expect(Number((await waiting).token)).toBeGreaterThan(Number(held.token));
  });

  it('Cluster.Status is answered by the follower itself', async () => {
    const { cluster } = await pair();
    expect(await call(cluster, 'Status', {})).toMatchObject({ id: 'n2', role: 'follower', leader: 'n1' });
  });
});

describe('no leader, a dead leader, no loops', () => {
  it('no known leader: UNAVAILABLE without leader metadata', async () => {
    const { follower, lease } = await pair();
    follower.node.makeFollower(null);
    const err = await failure(call(lease, 'Grant', { ttlMs: 5000 }));
    expect(err.code).toBe(grpc.status.UNAVAILABLE);
    expect(err.details).toMatch(/no leader is known yet/);
    expect(meta(err.metadata, METADATA.leader)).toBe('');
  });

  it('an unreachable leader: UNAVAILABLE naming the leader, so the client can try it itself', async () => {
    const { follower, lock } = await pair();
    const dead = await closedPort();
    follower.node.makeFollower({ id: 'n3', clientAddress: dead });
    const err = await failure(call(lock, 'Get', { name: 'a' }));
    expect(err.code).toBe(grpc.status.UNAVAILABLE);
    expect(err.details).toMatch(new RegExp(`forwarding to the leader n3 at ${dead} failed`));
    expect(meta(err.metadata, METADATA.leader)).toBe(dead);
    expect(meta(err.metadata, METADATA.leaderId)).toBe('n3');
  });

  it('no known leader: the call is parked and forwarded to the leader the moment one is known', async () => {
    const { leader, follower, lease } = await pair();
    follower.node.makeFollower(null);
    const pending = call(lease, 'Grant', { ttlMs: 5000, leaseId: 41 });
    await sleep(100);
    expect(leader.node.sm.getLease(41)).toBeNull();
    follower.node.makeFollower({ id: 'n1', clientAddress: leader.address });
    expect(await pending).toEqual({ leaseId: '41', ttlMs: '5000' });
    expect(leader.node.sm.getLease(41)?.ttlMs).toBe(5000);
  });

  it('an unreachable leader: the call, never sent, waits for its successor and is forwarded there', async () => {
    const { leader, follower, lock } = await pair();
    leader.node.grantLeases([1]);
    const dead = await closedPort();
    follower.node.makeFollower({ id: 'n3', clientAddress: dead });
    const pending = call(lock, 'Acquire', { name: 'p', leaseId: 1 });
    await sleep(200);
    follower.node.makeFollower({ id: 'n1', clientAddress: leader.address });
    const { token } = await pending;
    expect(leader.node.sm.getLock('p')?.holders[0]?.token).toBe(Number(token));
  });

  it('parking is bounded by leaderWaitMs: then UNAVAILABLE', async () => {
    const follower = await serve(cleanup, new FakeNode('n2', LIMITS), { leaderWaitMs: 100 }, false);
    follower.node.makeFollower(null);
    const { lease } = clients(cleanup, follower.address);
    const err = await failure(call(lease, 'Grant', { ttlMs: 5000 }));
    expect(err.code).toBe(grpc.status.UNAVAILABLE);
    expect(err.details).toMatch(/no leader is known yet/);
  });

  it('a forwarded call reaching a non-leader is refused, never forwarded again', async () => {
    // n2 and n3 each believe the other leads: without the forwarded mark, calls would bounce forever.
    const a = await serve(cleanup, new FakeNode('n2', LIMITS), {}, false);
    const b = await serve(cleanup, new FakeNode('n3', LIMITS), {}, false);
    a.node.makeFollower({ id: 'n3', clientAddress: b.address });
    b.node.makeFollower({ id: 'n2', clientAddress: a.address });
    const { lease, lock } = clients(cleanup, a.address);
    const err = await failure(call(lease, 'Grant', { ttlMs: 5000 }));
    expect(err.code).toBe(grpc.status.UNAVAILABLE);
    expect(err.details).toMatch(/node n3 received a forwarded call but is not the leader/);
    expect(meta(err.metadata, METADATA.leaderId)).toBe('n2');

    const md = new grpc.Metadata();
    md.set(METADATA.forwarded, '1');
    const direct = await failure(call(lock, 'Get', { name: 'a' }, { metadata: md }));
    expect(direct.code).toBe(grpc.status.UNAVAILABLE);
    expect(direct.details).toMatch(/node n2 received a forwarded call/);
    expect(meta(direct.metadata, METADATA.leader)).toBe(b.address);
  });

  it('a leader that lost leadership mid-call: its UNAVAILABLE and its leader hint reach the client', async () => {
    const { leader, lease } = await pair();
    leader.node.beforePropose = () => new NotLeaderError('n9', '10.1.1.9:7000');
    const err = await failure(call(lease, 'Grant', { ttlMs: 5000, leaseId: 5 }));
    expect(err.code).toBe(grpc.status.UNAVAILABLE);
    expect(meta(err.metadata, METADATA.leader)).toBe('10.1.1.9:7000');
    expect(meta(err.metadata, METADATA.leaderId)).toBe('n9');
  });
});

describe('a follower proxies KeepAlive streams to the leader', () => {
  it('renews 2,000 leases through the follower', async () => {
    const { leader, lease } = await pair();
    const ids = Array.from({ length: 2000 }, (_, i) => i + 1);
    leader.node.grantLeases(ids, 4000);
    const ka = keepAliveStream(lease);
    for (const id of ids) ka.stream.write({ leaseId: id });
    ka.stream.write({ leaseId: 5000 });
    ka.stream.end();
    expect((await ka.status).code).toBe(grpc.status.OK);
    expect(ka.replies).toHaveLength(2001);
    expect(ka.replies.filter((r) => r.ttlMs === '4000')).toHaveLength(2000);
    expect(ka.replies.find((r) => r.leaseId === '5000')?.ttlMs).toBe('0');
    expect(leader.node.keepAliveCalls).toBe(2001);
  });

  it("ends with the leader's UNAVAILABLE and leader metadata when it stops leading", async () => {
    const { leader, lease } = await pair();
    leader.node.grantLeases([1]);
    const ka = keepAliveStream(lease);
    ka.stream.write({ leaseId: 1 });
    await waitFor(() => ka.replies.length === 1, 'the first renewal');
    leader.node.keepAliveError = new NotLeaderError('n3', '10.0.0.3:7000');
    ka.stream.write({ leaseId: 1 });
    const status = await ka.status;
    expect(status.code).toBe(grpc.status.UNAVAILABLE);
    expect(meta(status.metadata, METADATA.leader)).toBe('10.0.0.3:7000');
  });

  it('a client cancel closes the upstream stream on the leader', async () => {
    const { leader, lease } = await pair();
    leader.node.grantLeases([1]);
    const ka = keepAliveStream(lease);
    ka.stream.write({ leaseId: 1 });
    await waitFor(() => ka.replies.length === 1, 'the first renewal');
    ka.stream.cancel();
    expect((await ka.status).code).toBe(grpc.status.CANCELLED);
    await sleep(50);
    // The leader still serves new streams normally.
    const again = keepAliveStream(clients(cleanup, leader.address).lease);
    again.stream.write({ leaseId: 1 });
    again.stream.end();
    expect((await again.status).code).toBe(grpc.status.OK);
  });

  it('no leader: the stream ends UNAVAILABLE at once; a forwarded stream to a non-leader too', async () => {
    const { follower, lease } = await pair();
    follower.node.makeFollower(null);
    const ka = keepAliveStream(lease);
    expect((await ka.status).code).toBe(grpc.status.UNAVAILABLE);

    follower.node.makeFollower({ id: 'n1', clientAddress: '127.0.0.1:1' });
    const md = new grpc.Metadata();
    md.set(METADATA.forwarded, '1');
    const fwd = keepAliveStream(lease, md);
    const status = await fwd.status;
    expect(status.code).toBe(grpc.status.UNAVAILABLE);
    expect(status.details).toMatch(/received a forwarded call/);
    expect(meta(status.metadata, METADATA.leader)).toBe('127.0.0.1:1');
  });

  it('an unreachable leader ends the stream UNAVAILABLE with its address', async () => {
    const { follower, lease } = await pair();
    const dead = await closedPort();
    follower.node.makeFollower({ id: 'n3', clientAddress: dead });
    const ka = keepAliveStream(lease);
    ka.stream.write({ leaseId: 1 });
    const status = await ka.status;
    expect(status.code).toBe(grpc.status.UNAVAILABLE);
    expect(meta(status.metadata, METADATA.leader)).toBe(dead);
  });
});

/** closedPort returns an address nothing listens on. */
async function closedPort(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return `127.0.0.1:${address.port}`;
}

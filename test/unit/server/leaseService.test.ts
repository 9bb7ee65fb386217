import { afterEach, describe, expect, it } from 'vitest';
import { NotLeaderError, ProposalOutcomeUnknownError } from '../../../src/node/nodeApi.js';
import { GRANT_ID_ATTEMPTS } from '../../../src/server/leaseService.js';
import { METADATA } from '../../../src/server/statusMapping.js';
import { FakeNode } from './fakeNode.js';
import { call, Cleanup, clients, failure, grpc, LIMITS, meta, serve, waitFor, type Any } from './harness.js';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

async function setup(options: Parameters<typeof serve>[2] = {}) {
  const s = await serve(cleanup, new FakeNode('n1', LIMITS), options);
  return { ...s, ...clients(cleanup, s.address) };
}

describe('Lease.Grant', () => {
  it('picks a random safe id when lease_id is 0 and proposes a non-idempotent grant', async () => {
    const { node, lease } = await setup();
    const a = await call(lease, 'Grant', { ttlMs: 5000 });
    const b = await call(lease, 'Grant', { ttlMs: 5000, leaseId: 0 });
    for (const r of [a, b]) {
      expect(r.ttlMs).toBe('5000');
      const id = Number(r.leaseId);
      expect(Number.isSafeInteger(id) && id >= 1).toBe(true);
      expect(node.sm.getLease(id)?.ttlMs).toBe(5000);
    }
    expect(a.leaseId).not.toBe(b.leaseId);
    expect(node.proposed('grant-lease').map((c) => c.idempotent)).toEqual([false, false]);
  });

  it('retries with another id when a picked id is taken, a bounded number of times', async () => {
    const { node, lease } = await setup();
    let taken = 2;
    node.beforePropose = (cmd) => (cmd.type === 'grant-lease' && taken-- > 0 ? { kind: 'lease-id-taken', leaseId: cmd.leaseId } : undefined);
    const r = await call(lease, 'Grant', { ttlMs: 5000 });
    const ids = node.proposed('grant-lease').map((c) => c.leaseId);
    expect(ids).toHaveLength(3);
    expect(new Set(ids).size).toBe(3);
    expect(r.leaseId).toBe(String(ids[2]));

    node.beforePropose = (cmd) => (cmd.type === 'grant-lease' ? { kind: 'lease-id-taken', leaseId: cmd.leaseId } : undefined);
    const err = await failure(call(lease, 'Grant', { ttlMs: 5000 }));
    expect(err.code).toBe(grpc.status.ALREADY_EXISTS);
    expect(err.details).toMatch(new RegExp(`no free lease id after ${GRANT_ID_ATTEMPTS} random picks`));
    expect(node.proposed('grant-lease')).toHaveLength(3 + GRANT_ID_ATTEMPTS);
  });

  it('a client-chosen id is idempotent: same ttl returns it, another ttl is ALREADY_EXISTS', async () => {
    const { node, lease } = await setup();
    expect(await call(lease, 'Grant', { ttlMs: 5000, leaseId: '9007199254740991' })).toEqual({ leaseId: '9007199254740991', ttlMs: '5000' });
    expect(await call(lease, 'Grant', { ttlMs: 5000, leaseId: '9007199254740991' })).toEqual({ leaseId: '9007199254740991', ttlMs: '5000' });
    const err = await failure(call(lease, 'Grant', { ttlMs: 6000, leaseId: '9007199254740991' }));
    expect(err.code).toBe(grpc.status.ALREADY_EXISTS);
    expect(err.details).toMatch(/already exists with ttl 5000 ms; a retry must ask for the same ttl \(asked 6000 ms\)/);
    expect(node.proposed('grant-lease').every((c) => c.idempotent)).toBe(true);
  });

  it('refuses bad input before anything is proposed', async () => {
    const { node, lease } = await setup();
    const cases: Array<[object, RegExp]> = [
      [{ ttlMs: 10 }, /ttl_ms 10 is out of range; accepted: 500 to 3600000 ms/],
      [{ ttlMs: -1 }, /ttl_ms -1 is out of range/],
      [{ ttlMs: 5000, leaseId: '9007199254740992' }, /lease_id 9007199254740992 is out of range/],
      [{ ttlMs: 5000, leaseId: '18446744073709551615' }, /lease_id 18446744073709551615 is out of range/],
    ];
    for (const [req, message] of cases) {
      const err = await failure(call(lease, 'Grant', req));
      expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(err.details).toMatch(message);
    }
    expect(node.proposals).toEqual([]);
  });

  it('maps the limit on leases to RESOURCE_EXHAUSTED', async () => {
    const node = new FakeNode('n1', { ...LIMITS, maxLeases: 1 });
    const s = await serve(cleanup, node);
    const { lease } = clients(cleanup, s.address);
    await call(lease, 'Grant', { ttlMs: 5000 });
    const err = await failure(call(lease, 'Grant', { ttlMs: 5000 }));
    expect(err.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(err.details).toMatch(/limit maxLeases reached \(1\)/);
  });

  it('maps node errors to UNAVAILABLE with the leader', async () => {
    const { node, lease, address } = await setup();
    node.beforePropose = () => new ProposalOutcomeUnknownError('leadership was lost before the request committed');
    const err = await failure(call(lease, 'Grant', { ttlMs: 5000, leaseId: 4 }));
    expect(err.code).toBe(grpc.status.UNAVAILABLE);
    expect(err.details).toMatch(/may or may not have taken effect/);
    expect(meta(err.metadata, METADATA.leader)).toBe(address);
    expect(meta(err.metadata, METADATA.leaderId)).toBe('n1');

    node.beforePropose = () => new NotLeaderError('n3', '10.9.9.9:1');
    const moved = await failure(call(lease, 'Grant', { ttlMs: 5000, leaseId: 4 }));
    expect(moved.code).toBe(grpc.status.UNAVAILABLE);
    expect(meta(moved.metadata, METADATA.leader)).toBe('10.9.9.9:1');
    expect(meta(moved.metadata, METADATA.leaderId)).toBe('n3');
  });
});

describe('Lease.Revoke, TimeToLive, List', () => {
  it('Revoke deletes the lease and reports the locks it held; an unknown lease is NOT_FOUND', async () => {
    const { node, lease } = await setup();
    node.grantLeases([5]);
    node.applyNow({ type: 'acquire', name: 'b', leaseId: 5, mode: 'exclusive', wait: false });
    node.applyNow({ type: 'acquire', name: 'a', leaseId: 5, mode: 'exclusive', wait: false });
    expect(await call(lease, 'Revoke', { leaseId: 5 })).toEqual({ locksReleased: ['a', 'b'] });
    expect(node.sm.getLease(5)).toBeNull();
    const err = await failure(call(lease, 'Revoke', { leaseId: 5 }));
    expect(err.code).toBe(grpc.status.NOT_FOUND);
    expect(err.details).toBe('lease 5 not found: it expired, was revoked or never existed; grant a new lease');
    const bad = await failure(call(lease, 'Revoke', { leaseId: 0 }));
    expect(bad.code).toBe(grpc.status.INVALID_ARGUMENT);
  });

  it('TimeToLive reports granted ttl, the remaining time and the locks held', async () => {
    const { node, lease } = await setup();
    node.grantLeases([5], 8000);
    node.applyNow({ type: 'acquire', name: 'x', leaseId: 5, mode: 'shared', wait: false });
    expect(await call(lease, 'TimeToLive', { leaseId: 5 })).toEqual({ leaseId: '5', ttlMs: '8000', remainingMs: '8000', locks: ['x'] });
    node.remaining.set(5, 1234.4);
    expect(await call(lease, 'TimeToLive', { leaseId: '5' })).toMatchObject({ remainingMs: '1234' });
    const err = await failure(call(lease, 'TimeToLive', { leaseId: 6 }));
    expect(err.code).toBe(grpc.status.NOT_FOUND);
  });

  it('List returns every lease in id order', async () => {
    const { node, lease } = await setup();
    expect(await call(lease, 'List', {})).toEqual({ leases: [] });
    node.grantLeases([30, 2, 9007199254740991], 700);
    expect(await call(lease, 'List', {})).toEqual({
      leases: [
        { leaseId: '2', ttlMs: '700' },
        { leaseId: '30', ttlMs: '700' },
        { leaseId: '9007199254740991', ttlMs: '700' },
      ],
    });
  });

  it('a read that throws a plain error is INTERNAL, and the server keeps serving', async () => {
    const { node, lease } = await setup();
    node.beforeRead = () => new TypeError('query exploded');
    const err = await failure(call(lease, 'List', {}));
    expect(err.code).toBe(grpc.status.INTERNAL);
    expect(err.details).toBe('internal error: query exploded');
    node.beforeRead = null;
    expect(await call(lease, 'List', {})).toEqual({ leases: [] });
  });
});

/** openKeepAlive opens a KeepAlive stream and collects replies and the final status. */
export function openKeepAlive(client: grpc.Client, metadata = new grpc.Metadata()) {
  const replies: Any[] = [];
  let resolveStatus!: (s: grpc.StatusObject) => void;
  const status = new Promise<grpc.StatusObject>((resolve) => {
    resolveStatus = resolve;
  });
  const stream = (client as unknown as { KeepAlive(md: grpc.Metadata): grpc.ClientDuplexStream<Any, Any> }).KeepAlive(metadata);
  stream.on('data', (r: Any) => replies.push(r));
  stream.on('error', () => undefined);
  stream.on('status', (s: grpc.StatusObject) => resolveStatus(s));
  cleanup.add(() => stream.cancel());
  return { stream, replies, status };
}

describe('Lease.KeepAlive', () => {
  it('renews 5,000 leases on one stream concurrently, one reply each', async () => {
    const { node, lease } = await setup();
    const ids = Array.from({ length: 5000 }, (_, i) => i + 1);
    node.grantLeases(ids, 3000);
    // Hold every renewal until all 5,000 are outstanding: served one after another, this would never happen.
    let open!: () => void;
    node.keepAliveGate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const ka = openKeepAlive(lease);
    for (const id of ids) ka.stream.write({ leaseId: String(id) });
    ka.stream.end();
    await waitFor(() => node.pendingKeepAlives === 5000, '5,000 keepalives in flight');
    open();
    const status = await ka.status;
    expect(status.code).toBe(grpc.status.OK);
    expect(ka.replies).toHaveLength(5000);
    expect(ka.replies.map((r) => Number(r.leaseId)).sort((a, b) => a - b)).toEqual(ids);
    expect(ka.replies.every((r) => r.ttlMs === '3000')).toBe(true);
    expect(node.keepAliveCalls).toBe(5000);
  });

  it('answers ttl 0 for a lease that is gone, and keeps the stream open', async () => {
    const { node, lease } = await setup();
    node.grantLeases([1]);
    const ka = openKeepAlive(lease);
    ka.stream.write({ leaseId: '2' });
    ka.stream.write({ leaseId: '1' });
    ka.stream.end();
    expect((await ka.status).code).toBe(grpc.status.OK);
    expect(ka.replies.sort((a, b) => Number(a.leaseId) - Number(b.leaseId))).toEqual([
      { leaseId: '1', ttlMs: '10000' },
      { leaseId: '2', ttlMs: '0' },
    ]);
  });

  it('bounds the keepalives in flight per stream and applies backpressure beyond it', async () => {
    const { node, lease } = await setup({ maxKeepAlivesInFlight: 50 });
    node.grantLeases(Array.from({ length: 400 }, (_, i) => i + 1));
    let open!: () => void;
    node.keepAliveGate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const ka = openKeepAlive(lease);
    for (let id = 1; id <= 400; id++) ka.stream.write({ leaseId: String(id) });
    ka.stream.end();
    // 50 arrive while the gate is shut; the other 350 must wait behind them.
    await waitFor(() => node.pendingKeepAlives === 50, '50 keepalives in flight');
    await new Promise((r) => setTimeout(r, 100));
    expect(node.pendingKeepAlives).toBe(50);
    expect(node.maxPendingKeepAlives).toBe(50);
    open();
    expect((await ka.status).code).toBe(grpc.status.OK);
    expect(ka.replies).toHaveLength(400);
    expect(node.maxPendingKeepAlives).toBe(50);
  });

  it('ends the stream with UNAVAILABLE and the leader when this node stops leading', async () => {
    const { node, lease } = await setup();
    node.grantLeases([1]);
    const ka = openKeepAlive(lease);
    ka.stream.write({ leaseId: '1' });
    await waitFor(() => ka.replies.length === 1, 'the first renewal');
    node.keepAliveError = new NotLeaderError('n2', '127.0.0.1:1');
    ka.stream.write({ leaseId: '1' });
    const status = await ka.status;
    expect(status.code).toBe(grpc.status.UNAVAILABLE);
    expect(meta(status.metadata, METADATA.leader)).toBe('127.0.0.1:1');
    expect(meta(status.metadata, METADATA.leaderId)).toBe('n2');
    expect(ka.replies).toEqual([{ leaseId: '1', ttlMs: '10000' }]);
  });

  it('ends the stream with INVALID_ARGUMENT on a malformed lease id', async () => {
    const { lease } = await setup();
    const ka = openKeepAlive(lease);
    ka.stream.write({ leaseId: '0' });
    const status = await ka.status;
    expect(status.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(status.details).toMatch(/lease_id is missing \(0\)/);
  });
});

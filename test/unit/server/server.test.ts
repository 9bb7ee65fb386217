import { connect as http2Connect, constants as h2 } from 'node:http2';
import { connect as tcpConnect } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { NodeStoppedError } from '../../../src/node/nodeApi.js';
import { createApiServer } from '../../../src/server/server.js';
import { METADATA } from '../../../src/server/statusMapping.js';
import { FakeNode } from './fakeNode.js';
import { call, Cleanup, clients, failure, grpc, LIMITS, meta, serve, sleep, waitFor, type Any } from './harness.js';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

const members = [
  { id: 'n1', clientAddress: '127.0.0.1:7001', peerAddress: '127.0.0.1:8001' },
  { id: 'n2', clientAddress: '127.0.0.1:7002', peerAddress: '127.0.0.1:8002' },
];

describe('Cluster.Status', () => {
  it("reports this node's role, term, indexes and members", async () => {
    const node = new FakeNode('n1', LIMITS, members);
    const s = await serve(cleanup, node);
    node.grantLeases([1, 2]);
    node.term = 3;
    const { cluster } = clients(cleanup, s.address);
    expect(await call(cluster, 'Status', {})).toEqual({
      id: 'n1',
      role: 'leader',
      term: '3',
      leader: 'n1',
      commitIndex: '2',
      appliedIndex: '2',
      snapshotIndex: '0',
      members: members.map((m) => ({ ...m, role: 'voter', matchIndex: '0' })),
    });
    node.makeFollower(null);
    expect(await call(cluster, 'Status', {})).toMatchObject({ role: 'follower', leader: '' });
  });
});

describe('node errors', () => {
  it('a stopping node answers UNAVAILABLE', async () => {
    const s = await serve(cleanup);
    s.node.beforeRead = () => new NodeStoppedError();
    const { lock } = clients(cleanup, s.address);
    const err = await failure(call(lock, 'Get', { name: 'a' }));
    expect(err.code).toBe(grpc.status.UNAVAILABLE);
    expect(err.details).toBe('this node is shutting down; retry on another member');
    // It leads, so it names no leader: a client must not come back here.
    expect(meta(err.metadata, METADATA.leaderId)).toBe('');
  });
});

describe('grpc.health.v1.Health', () => {
  it('is SERVING while a leader is known and NOT_SERVING otherwise, for the server and each service', async () => {
    const s = await serve(cleanup);
    const { health } = clients(cleanup, s.address);
    expect(await call(health, 'Check', { service: '' })).toEqual({ status: 'SERVING' });
    expect(await call(health, 'Check', { service: 'raftlock.v1.Lock' })).toEqual({ status: 'SERVING' });
    s.node.makeFollower({ id: 'n2', clientAddress: '127.0.0.1:1' });
    expect(await call(health, 'Check', { service: 'raftlock.v1.Lease' })).toEqual({ status: 'SERVING' });
    s.node.makeFollower(null);
    expect(await call(health, 'Check', { service: '' })).toEqual({ status: 'NOT_SERVING' });
    const unknown = await failure(call(health, 'Check', { service: 'nope' }));
    expect(unknown.code).toBe(grpc.status.NOT_FOUND);
  });

  it('Watch streams see leadership come and go', async () => {
    const s = await serve(cleanup);
    const { health } = clients(cleanup, s.address);
    const seen: string[] = [];
    const watch = (health as unknown as { Watch(req: object): grpc.ClientReadableStream<Any> }).Watch({ service: '' });
    watch.on('data', (r: Any) => seen.push(r.status as string));
    watch.on('error', () => undefined);
    cleanup.add(() => watch.cancel());
    await waitFor(() => seen.length === 1, 'the first status');
    s.node.makeFollower(null);
    await waitFor(() => seen.length === 2, 'NOT_SERVING');
    s.node.makeLeader(s.address);
    await waitFor(() => seen.length === 3, 'SERVING again');
    expect(seen).toEqual(['SERVING', 'NOT_SERVING', 'SERVING']);
  });
});

describe('robustness', () => {
  it('garbage on a method path or on the port never crashes or wedges the server', async () => {
    const s = await serve(cleanup);
    s.node.grantLeases([1]);
    const bodies = [
      Buffer.from([0, 0, 0, 0, 6, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), // a framed message that is not protobuf
      Buffer.from([0, 0, 0, 0, 3, 0x0a, 0x10, 0x41]), // a string field longer than the message
      Buffer.from([0, 0xff, 0xff, 0xff, 0xff, 1, 2, 3]), // a frame claiming 4 GiB
      Buffer.from([1, 0, 0, 0, 2, 9, 9]), // "compressed" with no encoding negotiated
      Buffer.from('GET / HTTP/1.1\r\n\r\n'),
    ];
    const paths = ['/raftlock.v1.Lock/Acquire', '/raftlock.v1.Lease/KeepAlive', '/raftlock.v1.Lease/Grant', '/raftlock.v1.Nope/Nope'];
    for (const path of paths) {
      for (const body of bodies) {
        const status = await rawGrpcPost(s.port, path, body);
        // A unary call must fail; a stream may also end OK if grpc-js dropped the bad frame.
        if (!path.endsWith('KeepAlive')) expect(status, `${path} ${body.toString('hex')}`).not.toBe('0');
      }
    }
    for (const junk of [Buffer.from('hello\r\n\r\n'), Buffer.alloc(4096, 0xab), Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x04\xff\xff\xff\xff\xff')]) {
      await rawTcp(s.port, junk);
    }
    const { lock, lease } = clients(cleanup, s.address);
    expect(await call(lock, 'Acquire', { name: 'after', leaseId: 1 })).toMatchObject({ name: 'after' });
    expect((await call(lease, 'List', {})).leases).toHaveLength(1);
  });

  it('an empty request body decodes to defaults and is refused by validation', async () => {
    const s = await serve(cleanup);
    const status = await rawGrpcPost(s.port, '/raftlock.v1.Lock/Acquire', Buffer.from([0, 0, 0, 0, 0]));
    expect(status).toBe(String(grpc.status.INVALID_ARGUMENT));
    expect(s.node.proposals).toEqual([]);
  });
});

describe('listen and stop', () => {
  it('listen reports a port in use', async () => {
    const s = await serve(cleanup);
    const other = createApiServer({ node: new FakeNode('n2', LIMITS), limits: LIMITS, members: [], logger: pino({ level: 'silent' }) });
    cleanup.add(() => other.stop());
    await expect(other.listen(s.address)).rejects.toThrow(new RegExp(`cannot listen for clients on ${s.address}`));
  });

  it('stop() returns promptly with open KeepAlive streams, a waiting Acquire, a proxied stream and a health watch', async () => {
    const leader = await serve(cleanup);
    const follower = await serve(cleanup, new FakeNode('n2', LIMITS), {}, false);
    follower.node.makeFollower({ id: 'n1', clientAddress: leader.address });
    leader.node.grantLeases([1, 2]);
    const direct = clients(cleanup, leader.address);
    const viaFollower = clients(cleanup, follower.address);

    const statuses: Array<Promise<grpc.StatusObject>> = [];
    for (const c of [direct, viaFollower]) {
      const ka = (c.lease as unknown as { KeepAlive(): grpc.ClientDuplexStream<Any, Any> }).KeepAlive();
      ka.on('error', () => undefined);
      ka.on('data', () => undefined);
      statuses.push(new Promise((resolve) => ka.on('status', resolve)));
      ka.write({ leaseId: 1 });
      cleanup.add(() => ka.cancel());
    }
    const watch = (direct.health as unknown as { Watch(req: object): grpc.ClientReadableStream<Any> }).Watch({ service: '' });
    watch.on('data', () => undefined);
    watch.on('error', () => undefined);
    cleanup.add(() => watch.cancel());
    await call(direct.lock, 'Acquire', { name: 'a', leaseId: 1 });
    const waiting = failure(call(direct.lock, 'Acquire', { name: 'a', leaseId: 2, waitMs: 60_000 }, { deadlineMs: 60_000 }));
    await waitFor(() => leader.node.waiting === 1 && leader.node.keepAliveCalls === 2, 'streams and the wait to be open');

    const started = Date.now();
    await Promise.all([follower.server.stop(), leader.server.stop()]);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect((await waiting).code).not.toBe(grpc.status.OK);
    for (const s of await Promise.all(statuses)) expect(s.code).not.toBe(grpc.status.OK);
    // stop() is idempotent.
    await leader.server.stop();
    await sleep(10);
  });
});

/** rawGrpcPost sends `body` as a gRPC request over a plain HTTP/2 client and returns grpc-status ('' if none came). */
function rawGrpcPost(port: number, path: string, body: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const session = http2Connect(`http://127.0.0.1:${port}`);
    session.on('error', reject);
    const req = session.request({
      [h2.HTTP2_HEADER_METHOD]: 'POST',
      [h2.HTTP2_HEADER_PATH]: path,
      [h2.HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc',
      te: 'trailers',
    });
    let status = '';
    const take = (headers: Record<string, unknown>): void => {
      const s = headers['grpc-status'];
      if (typeof s === 'string') status = s;
    };
    req.on('response', take);
    req.on('trailers', take);
    req.on('data', () => undefined);
    req.on('error', () => undefined);
    req.on('close', () => {
      session.close();
      resolve(status);
    });
    req.end(body);
  });
}

/** rawTcp writes junk to the port and waits for the server to close the connection (or 500 ms). */
function rawTcp(port: number, junk: Buffer): Promise<void> {
  return new Promise((resolve) => {
    const socket = tcpConnect(port, '127.0.0.1', () => socket.write(junk));
    const done = (): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve();
    };
    const timer = setTimeout(done, 500);
    socket.on('data', () => undefined);
    socket.on('error', done);
    socket.on('close', done);
  });
}

import * as grpc from '@grpc/grpc-js';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Message } from '../../../src/raft/types.js';
import { encodeMessage, type PeerAckWire, type PeerBatchWire, type RaftMessageWire } from '../../../src/transport/messageCodec.js';
import { PeerTransport } from '../../../src/transport/peerTransport.js';
import { STREAM_METHOD_PATH, streamMethod } from '../../../src/transport/raftProto.js';
import {
  addr, blackhole, captureLogger, Cleanup, CLUSTER, resetter, FreezableProxy, freePort, INFO, makeCluster, makeNode, sleep, waitFor, WARN, type TestNode,
} from './harness.js';
import { appendOf, bytesOf, comparable, everyVariant, heartbeat, seqOf } from './messages.js';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

const seqs = (ms: readonly Message[], from?: string): number[] => ms.filter((m) => from === undefined || m.from === from).map(seqOf);
const range = (lo: number, hi: number): number[] => Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
const warnings = (n: TestNode, text: string): number => n.logs.filter((l) => l.level === WARN && l.msg.includes(text)).length;
const peerStats = (n: TestNode, peer: string) => n.transport.stats().peers.get(peer) as NonNullable<ReturnType<PeerTransport['stats']>['peers'] extends ReadonlyMap<string, infer S> ? S : never>;

/** rawStream opens RaftPeer.Stream with a plain gRPC client; `done` resolves to the final status code. */
function rawStream<T>(port: number, serialize: (v: T) => Buffer) {
  const method = streamMethod();
  const client = new grpc.Client(addr(port), grpc.credentials.createInsecure());
  cleanup.add(() => client.close());
  let resolveDone!: (r: { code: number; details: string }) => void;
  const done = new Promise<{ code: number; details: string }>((resolve) => { resolveDone = resolve; });
  const call = client.makeClientStreamRequest<T, PeerAckWire>(STREAM_METHOD_PATH, serialize, method.responseDeserialize, (err) => {
    resolveDone(err === null ? { code: grpc.status.OK, details: '' } : { code: err.code, details: err.details });
  });
  call.on('error', () => undefined);
  cleanup.add(() => call.cancel());
  return { call, done };
}

function batch(from: string, to: string, messages: Message[], clusterId = CLUSTER): PeerBatchWire {
  return { clusterId, from, to, messages: messages.map(encodeMessage) };
}

describe('PeerTransport delivery', () => {
  it('two transports exchange messages in order on each link', async () => {
    const [a, b] = (await makeCluster(cleanup, 2)) as [TestNode, TestNode];
    for (let i = 1; i <= 1000; i += 100) {
      a.transport.send(range(i, i + 99).map((n) => heartbeat('n1', 'n2', n)));
      b.transport.send(range(i, i + 99).map((n) => heartbeat('n2', 'n1', n)));
      await sleep(1);
    }
    await waitFor(() => a.received.length === 1000 && b.received.length === 1000, 'both directions delivered');
    expect(seqs(b.received)).toEqual(range(1, 1000));
    expect(seqs(a.received)).toEqual(range(1, 1000));
    expect(b.received.every((m) => m.from === 'n1' && m.to === 'n2')).toBe(true);
    const s = peerStats(a, 'n2');
    expect(s).toMatchObject({ sent: 1000, dropped: 0, queued: 0, connected: true, reconnects: 0, received: 1000, invalid: 0 });
  });

  it('adds a peer at run time (a member joining) and drops its link when it leaves', async () => {
    const [pa, pb] = [await freePort(), await freePort()];
    const a = await makeNode(cleanup, 'n1', new Map(), pa);
    const b = await makeNode(cleanup, 'n4', new Map([['n1', addr(pa)]]), pb);
    // n1 does not know n4 yet: its stream is refused, and n1 cannot route to it.
    b.transport.send([heartbeat('n4', 'n1', 1)]);
    a.transport.send([heartbeat('n1', 'n4', 1)]);
    await waitFor(() => a.transport.stats().refusedStreams > 0, 'the stream from the unknown n4 refused');
    expect(a.received).toEqual([]);
    expect(a.transport.stats().unroutable).toBe(1);

    a.transport.setPeer('n4', addr(pb));
    expect(a.transport.peerIds()).toEqual(['n4']);
    a.transport.send([heartbeat('n1', 'n4', 2)]);
    await waitFor(() => b.received.length === 1, 'n1 reaches the added n4');
    // n4's link was refused a moment ago and may still be backing off; a link drops what it is
    // given meanwhile (Raft resends), so n4 sends a heartbeat every 50 ms, as Raft would, until one arrives.
    const resend = setInterval(() => b.transport.send([heartbeat('n4', 'n1', 3)]), 50);
    try {
      await waitFor(() => a.received.some((m) => seqOf(m) === 3), 'n4 reaches n1 once added', 15_000);
    } finally {
      clearInterval(resend);
    }

    a.transport.removePeer('n4');
    expect(a.transport.peerIds()).toEqual([]);
    a.transport.send([heartbeat('n1', 'n4', 4)]);
    expect(a.transport.stats().unroutable).toBe(2);
  });

  it('three transports route by `to` and keep each link in order', async () => {
    const nodes = await makeCluster(cleanup, 3);
    for (let round = 0; round < 5; round++) {
      for (const from of nodes) {
        const out: Message[] = [];
        for (let k = 1; k <= 50; k++) {
          for (const to of nodes) if (to !== from) out.push(heartbeat(from.id, to.id, round * 50 + k));
        }
        from.transport.send(out);
      }
      await sleep(2);
    }
    await waitFor(() => nodes.every((n) => n.received.length === 500), 'every node got 250 from each peer');
    for (const to of nodes) {
      for (const from of nodes) if (from !== to) expect(seqs(to.received, from.id), `${from.id} -> ${to.id}`).toEqual(range(1, 250));
      expect(to.received.every((m) => m.to === to.id)).toBe(true);
    }
  });

  it('carries every message variant, including 1 MiB entries and snapshot chunks', async () => {
    const [a, b] = (await makeCluster(cleanup, 2)) as [TestNode, TestNode];
    const all = everyVariant.map(([, m]) => m);
    a.transport.send(all);
    await waitFor(() => b.received.length === all.length, 'all variants delivered');
    expect(comparable(b.received)).toEqual(comparable(all));
  });

  it('drops messages for an unknown node or not from us, without throwing', async () => {
    const [a, b] = (await makeCluster(cleanup, 2)) as [TestNode, TestNode];
    expect(() => a.transport.send([heartbeat('n1', 'n7', 1), heartbeat('n1', 'n1', 2), heartbeat('n3', 'n2', 3), heartbeat('n1', 'n2', 4)])).not.toThrow();
    await waitFor(() => b.received.length === 1, 'the routable message');
    expect(seqs(b.received)).toEqual([4]);
    expect(a.transport.stats().unroutable).toBe(3);
    expect(warnings(a, 'dropped a heartbeat message')).toBe(1);
  });
});

describe('PeerTransport with a down peer', () => {
  it('drops and counts while the peer is down, warns once, then reconnects and delivers', async () => {
    const down = await resetter(cleanup);
    const portB = down.port;
    const portA = await freePort();
    const a = await makeNode(cleanup, 'n1', new Map([['n2', addr(portB)]]), portA, { unreachableGraceMs: 0 });
    a.transport.send(range(1, 50).map((n) => heartbeat('n1', 'n2', n)));
    // send() returned at once: the messages wait for the first attempt, not the caller.
    expect(peerStats(a, 'n2')).toMatchObject({ queued: 50, sent: 0, connected: false });
    await waitFor(() => peerStats(a, 'n2').dropped === 50, 'the queued messages dropped when the attempt failed');
    await waitFor(() => peerStats(a, 'n2').reconnects >= 3, 'several retries');
    a.transport.send([heartbeat('n1', 'n2', 51)]);
    const stats = peerStats(a, 'n2');
    expect(stats.connected).toBe(false);
    expect(stats.sent).toBe(0);
    expect(stats.dropped + stats.queued).toBe(51);
    expect(warnings(a, 'unreachable')).toBe(1);
    const warn = a.logs.find((l) => l.level === WARN && l.msg.includes('unreachable')) as { msg: string };
    expect(warn.msg).toContain(addr(portB));
    expect(warn.msg).toContain('check that the node is running');

    await down.close();
    const b = await makeNode(cleanup, 'n2', new Map([['n1', addr(portA)]]), portB);
    await waitFor(() => peerStats(a, 'n2').connected, 'the link reconnects');
    a.transport.send(range(100, 199).map((n) => heartbeat('n1', 'n2', n)));
    await waitFor(() => b.received.length === 100, 'new messages delivered');
    expect(seqs(b.received)).toEqual(range(100, 199));
    expect(a.logs.some((l) => l.level === INFO && l.msg.includes('reachable again'))).toBe(true);
    expect(warnings(a, 'unreachable')).toBe(1);
  });

  it('a link that never connected is warned about only after unreachableGraceMs (members start at different moments)', async () => {
    const down = await resetter(cleanup);
    const patient = await makeNode(cleanup, 'n1', new Map([['n2', addr(down.port)]]), null, { unreachableGraceMs: 600_000 });
    patient.transport.send([heartbeat('n1', 'n2', 1)]);
    await waitFor(() => peerStats(patient, 'n2').reconnects >= 3, 'several failed attempts');
    expect(warnings(patient, 'unreachable')).toBe(0);

    const prompt = await makeNode(cleanup, 'n3', new Map([['n2', addr(down.port)]]), null, { unreachableGraceMs: 300 });
    prompt.transport.send([heartbeat('n3', 'n2', 1)]);
    await waitFor(() => warnings(prompt, 'unreachable') === 1, 'the warning once the grace has passed');
    expect(prompt.logs.find((l) => l.level === WARN)?.msg).toContain('check that the node is running');
  });

  it('reconnects after the peer restarts on the same port', async () => {
    const ports = [await freePort(), await freePort()] as const;
    const peers = new Map([['n1', addr(ports[0])], ['n2', addr(ports[1])]]);
    const a = await makeNode(cleanup, 'n1', peers, ports[0]);
    const b1 = await makeNode(cleanup, 'n2', peers, ports[1]);
    a.transport.send([heartbeat('n1', 'n2', 1)]);
    await waitFor(() => b1.received.length === 1, 'first delivery');
    await b1.transport.stop();
    await waitFor(() => !peerStats(a, 'n2').connected, 'the link notices');
    const b2 = await makeNode(cleanup, 'n2', peers, ports[1]);
    await waitFor(() => {
      a.transport.send([heartbeat('n1', 'n2', 2)]);
      return b2.received.length > 0;
    }, 'delivery to the restarted peer');
    expect(peerStats(a, 'n2').reconnects).toBeGreaterThanOrEqual(1);
    expect(a.logs.some((l) => l.level === INFO && /reconnected|reachable again/.test(l.msg))).toBe(true);
    expect(b2.transport.stats().inboundStreams).toBe(1);
    await a.transport.stop();
    await waitFor(() => b2.transport.stats().inboundStreams === 0, 'the receiver forgets the closed stream');
  });

  it('bounds the queue under a flood to a peer that never answers, and stop() still resolves', async () => {
    const hole = await blackhole(cleanup);
    const a = await makeNode(cleanup, 'n1', new Map([['n2', addr(hole)]]), null, { maxQueuedPerPeer: 100 });
    for (let i = 0; i < 10; i++) a.transport.send(range(i * 1000 + 1, i * 1000 + 1000).map((n) => heartbeat('n1', 'n2', n)));
    expect(peerStats(a, 'n2')).toMatchObject({ queued: 100, dropped: 9900, sent: 0, connected: false });
    await sleep(50);
    expect(peerStats(a, 'n2').queued).toBeLessThanOrEqual(100);
    await a.transport.stop();
    expect(peerStats(a, 'n2')).toMatchObject({ queued: 0, dropped: 10_000, sent: 0 });
  });

  it('gives up on a handshake nobody answers and says what to check', async () => {
    const hole = await blackhole(cleanup);
    const a = await makeNode(cleanup, 'n1', new Map([['n2', addr(hole)]]), null, { handshakeTimeoutMs: 150 });
    a.transport.send([heartbeat('n1', 'n2', 1)]);
    await waitFor(() => warnings(a, 'unreachable') === 1, 'the unreachable warning');
    expect(a.logs.find((l) => l.level === WARN)?.msg).toContain('did not answer as a raftlock peer');
    await waitFor(() => peerStats(a, 'n2').reconnects >= 1, 'a retry');
  });
});

describe('PeerTransport with a slow peer', () => {
  it('a frozen peer blocks neither the caller nor other peers; memory stays bounded; order holds after thaw', async () => {
    const [pa, pb, pc] = [await freePort(), await freePort(), await freePort()];
    const proxy = await FreezableProxy.start(cleanup, pb);
    const opts = { maxQueuedPerPeer: 32, maxBatchBytes: 1 << 20 };
    const a = await makeNode(cleanup, 'n1', new Map([['n2', addr(proxy.port)], ['n3', addr(pc)]]), pa, opts);
    const b = await makeNode(cleanup, 'n2', new Map([['n1', addr(pa)], ['n3', addr(pc)]]), pb, opts);
    const c = await makeNode(cleanup, 'n3', new Map([['n1', addr(pa)], ['n2', addr(pb)]]), pc, opts);
    a.transport.send([appendOf('n1', 'n2', 1, 10), heartbeat('n1', 'n3', 0)]);
    await waitFor(() => b.received.length === 1 && c.received.length === 1, 'the links to n2 and n3 are up');
    proxy.freeze();

    const data = bytesOf(64 * 1024);
    const flood: Message[] = range(2, 501).map((n) => ({
      type: 'append', from: 'n1', to: 'n2', term: 1, prevIndex: n - 1, prevTerm: 1, commit: 0,
      entries: [{ term: 1, index: n, type: 'normal', data }],
    }));
    for (let i = 0; i < flood.length; i += 50) {
      a.transport.send(flood.slice(i, i + 50));
      a.transport.send(range(i / 5 + 1, i / 5 + 10).map((n) => heartbeat('n1', 'n3', n)));
      await sleep(2);
    }
    await waitFor(() => c.received.length === 101, 'n3 gets everything while n2 is frozen');
    expect(seqs(c.received)).toEqual(range(0, 100));
    await sleep(100);
    const frozen = peerStats(a, 'n2');
    expect(frozen.queued).toBeLessThanOrEqual(32);
    expect(frozen.sent + frozen.dropped + frozen.queued).toBe(501);
    expect(frozen.dropped).toBeGreaterThan(0);
    expect(frozen.connected).toBe(true);

    proxy.thaw();
    await waitFor(() => b.received.length > 0 && seqOf(b.received[b.received.length - 1] as Message) === 501, 'the newest message arrives after the thaw');
    const got = seqs(b.received);
    for (let i = 1; i < got.length; i++) expect(got[i] as number).toBeGreaterThan(got[i - 1] as number);
    expect(got.length).toBe(peerStats(a, 'n2').sent);
  });

  it('stop() resolves when a connected peer stops reading', async () => {
    const [pa, pb] = [await freePort(), await freePort()];
    const proxy = await FreezableProxy.start(cleanup, pb);
    const a = await makeNode(cleanup, 'n1', new Map([['n2', addr(proxy.port)]]), pa);
    const b = await makeNode(cleanup, 'n2', new Map([['n1', addr(pa)]]), pb);
    a.transport.send([heartbeat('n1', 'n2', 1)]);
    await waitFor(() => b.received.length === 1, 'the link is up');
    proxy.freeze();
    a.transport.send(range(2, 2000).map((n) => appendOf('n1', 'n2', n, 1024)));
    await a.transport.stop();
    expect(peerStats(a, 'n2').connected).toBe(false);
    await a.transport.stop(); // idempotent
  }, 5000);
});

describe('PeerTransport refuses foreign streams', () => {
  it('refuses a stream from another cluster: nothing delivered, both sides warn', async () => {
    const [pa, pb] = [await freePort(), await freePort()];
    const peers = new Map([['n1', addr(pa)], ['n2', addr(pb)]]);
    const a = await makeNode(cleanup, 'n1', peers, pa, { clusterId: 'other-cluster' });
    const b = await makeNode(cleanup, 'n2', peers, pb);
    a.transport.send([heartbeat('n1', 'n2', 1)]);
    await waitFor(() => warnings(b, 'refused a peer stream from cluster "other-cluster"') === 1, 'the receiver warns');
    await waitFor(() => warnings(a, 'unreachable') === 1, 'the sender warns');
    expect(a.logs.find((l) => l.level === WARN)?.msg).toContain('belongs to another cluster');
    expect(b.received).toEqual([]);
    expect(b.transport.stats().refusedStreams).toBeGreaterThanOrEqual(1);
    expect(peerStats(a, 'n2').connected).toBe(false);
  });

  it('refuses a stream from a node that is not a configured peer', async () => {
    const [pb, p9] = [await freePort(), await freePort()];
    const b = await makeNode(cleanup, 'n2', new Map([['n1', addr(p9)]]), pb);
    const stranger = await makeNode(cleanup, 'n9', new Map([['n2', addr(pb)]]), null);
    stranger.transport.send([heartbeat('n9', 'n2', 1)]);
    await waitFor(() => warnings(b, 'unknown node "n9"') === 1, 'the receiver warns');
    await waitFor(() => warnings(stranger, 'refused us as a peer') === 1, 'the sender warns');
    expect(b.received).toEqual([]);
  });

  it('answers raw batches with the right status codes and delivers nothing', async () => {
    const b = await makeNode(cleanup, 'n2', new Map([['n1', addr(1)]]), await freePort());
    const method = streamMethod();
    const cases: ReadonlyArray<readonly [PeerBatchWire, grpc.status]> = [
      [batch('n1', 'n2', [heartbeat('n1', 'n2', 1)], 'wrong-cluster'), grpc.status.FAILED_PRECONDITION],
      [batch('n1', 'n2', [heartbeat('n1', 'n2', 1)], ''), grpc.status.FAILED_PRECONDITION],
      [batch('n5', 'n2', [heartbeat('n5', 'n2', 1)]), grpc.status.PERMISSION_DENIED],
      [batch('n2', 'n2', [heartbeat('n2', 'n2', 1)]), grpc.status.PERMISSION_DENIED],
      [batch('', 'n2', [heartbeat('n1', 'n2', 1)]), grpc.status.PERMISSION_DENIED],
      [batch('n1', 'n3', [heartbeat('n1', 'n3', 1)]), grpc.status.PERMISSION_DENIED],
    ];
    for (const [first, code] of cases) {
      const { call, done } = rawStream<PeerBatchWire>(b.port, method.requestSerialize);
      call.write(first);
      const status = await done;
      expect(status.code, JSON.stringify(first).slice(0, 80)).toBe(code);
      expect(status.details.length).toBeGreaterThan(10);
    }
    expect(b.received).toEqual([]);
    expect(b.transport.stats().refusedStreams).toBe(cases.length);
    // Warnings are rate-limited per kind and remote, but each kind was seen.
    expect(warnings(b, 'refused a peer stream from cluster "wrong-cluster"')).toBe(1);
    expect(warnings(b, 'unknown node "n5"')).toBe(1);
  });

  it('refuses a stream whose sender changes mid-stream, after delivering what was valid', async () => {
    const b = await makeNode(cleanup, 'n2', new Map([['n1', addr(1)], ['n3', addr(2)]]), await freePort());
    const { call, done } = rawStream<PeerBatchWire>(b.port, streamMethod().requestSerialize);
    call.write(batch('n1', 'n2', [heartbeat('n1', 'n2', 1)]));
    call.write(batch('n3', 'n2', [heartbeat('n3', 'n2', 2)]));
    expect((await done).code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(seqs(b.received)).toEqual([1]);
  });

  it('closes a stream that never identifies itself', async () => {
    const b = await makeNode(cleanup, 'n2', new Map([['n1', addr(1)]]), await freePort(), { handshakeTimeoutMs: 200 });
    const { done } = rawStream<PeerBatchWire>(b.port, streamMethod().requestSerialize);
    expect((await done).code).toBe(grpc.status.DEADLINE_EXCEEDED);
  });
});

describe('PeerTransport survives bad input', () => {
  it('drops malformed messages with rate-limited warnings and keeps the stream', async () => {
    const b = await makeNode(cleanup, 'n2', new Map([['n1', addr(1)]]), await freePort());
    const { call, done } = rawStream<PeerBatchWire>(b.port, streamMethod().requestSerialize);
    const good = (n: number): RaftMessageWire => encodeMessage(heartbeat('n1', 'n2', n));
    const gap: RaftMessageWire = encodeMessage({ ...(appendOf('n1', 'n2', 5, 4) as Message & { type: 'append' }), prevIndex: 9 });
    const misaddressed = encodeMessage(heartbeat('n1', 'n3', 99));
    const forged = encodeMessage(heartbeat('n3', 'n2', 98));
    const noBody: RaftMessageWire = { from: 'n1', to: 'n2', term: 1 };
    for (let round = 0; round < 20; round++) {
      call.write({ clusterId: CLUSTER, from: 'n1', to: 'n2', messages: [good(round * 2 + 1), gap, misaddressed, forged, noBody, good(round * 2 + 2)] });
    }
    await waitFor(() => b.received.length === 40, 'the valid messages');
    expect(seqs(b.received)).toEqual(range(1, 40));
    expect(peerStats(b, 'n1')).toMatchObject({ received: 40, invalid: 80 });
    expect(warnings(b, 'dropped a malformed message from peer n1')).toBe(1);
    call.end();
    expect((await done).code).toBe(grpc.status.OK);
  });

  it('garbage bytes on the method or the port crash nothing, and the transport keeps serving', async () => {
    const [a, b] = (await makeCluster(cleanup, 2)) as [TestNode, TestNode];
    const identity = (v: Buffer): Buffer => v;
    const garbage = [
      Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]),
      Buffer.from(bytesOf(4096, 3)),
      Buffer.from([0x0a, 0x80]), // truncated length prefix
      Buffer.from([0x22, 0x05, 0x18, 0xff, 0xff, 0xff, 0xff]), // a message with a truncated varint
    ];
    for (const g of garbage) {
      const { call, done } = rawStream<Buffer>(b.port, identity);
      call.write(g);
      call.end();
      expect((await done).code).not.toBe(grpc.status.OK);
    }
    // A valid header followed by a garbage frame.
    const method = streamMethod();
    const { call, done } = rawStream<Buffer>(b.port, identity);
    call.write(method.requestSerialize(batch('n1', 'n2', [heartbeat('n1', 'n2', 1000)])));
    call.write(Buffer.from([0x22, 0x7f, 0x01]));
    expect((await done).code).not.toBe(grpc.status.OK);

    // Raw TCP: random bytes, and an HTTP/2 preface followed by junk.
    for (const payload of [Buffer.from(bytesOf(8192, 9)), Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), Buffer.from(bytesOf(512, 5))])]) {
      await new Promise<void>((resolve) => {
        const s = connect(b.port, '127.0.0.1', () => s.end(payload));
        s.on('error', () => resolve());
        s.on('close', () => resolve());
        s.resume();
      });
    }

    a.transport.send(range(1, 10).map((n) => heartbeat('n1', 'n2', n)));
    const fromA = (): number[] => seqs(b.received).filter((n) => n !== 1000);
    await waitFor(() => fromA().length === 10, 'real traffic still flows');
    expect(fromA()).toEqual(range(1, 10));
    expect(peerStats(b, 'n1').invalid).toBe(0);
  });
});

describe('PeerTransport lifecycle', () => {
  it('stop() on a transport that never listened or sent resolves', async () => {
    const { logger } = captureLogger();
    const t = new PeerTransport({ nodeId: 'n1', clusterId: 'c', peers: new Map([['n2', addr(1)]]), onMessage: () => undefined, logger });
    await t.stop();
    await expect(t.listen('127.0.0.1:0')).rejects.toThrow(/stopped/);
    expect(() => t.send([heartbeat('n1', 'n2', 1)])).not.toThrow();
    expect(t.stats().peers.get('n2')?.dropped).toBe(1);
  });

  it('rejects bad options naming the option', () => {
    const { logger } = captureLogger();
    const base = { nodeId: 'n1', clusterId: 'c', peers: new Map([['n2', addr(1)]]), onMessage: () => undefined, logger };
    expect(() => new PeerTransport({ ...base, clusterId: '' })).toThrow(/clusterId/);
    expect(() => new PeerTransport({ ...base, nodeId: '' })).toThrow(/nodeId/);
    expect(() => new PeerTransport({ ...base, maxQueuedPerPeer: 0 })).toThrow(/maxQueuedPerPeer/);
    expect(() => new PeerTransport({ ...base, reconnectBackoffMinMs: 500, reconnectBackoffMaxMs: 100 })).toThrow(/reconnectBackoffMinMs/);
    expect(() => new PeerTransport({ ...base, maxBatchBytes: 64 << 20 })).toThrow(/maxBatchBytes/);
    expect(() => new PeerTransport({ ...base, peers: new Map([['n2', '']]) })).toThrow(/address of peer n2/);
  });

  it('listen() reports a port that cannot be bound', async () => {
    const [a] = (await makeCluster(cleanup, 1)) as [TestNode];
    const { logger } = captureLogger();
    const t = new PeerTransport({ nodeId: 'n2', clusterId: 'c', peers: new Map(), onMessage: () => undefined, logger });
    cleanup.add(() => t.stop());
    await expect(t.listen(addr(a.port))).rejects.toThrow(/cannot listen on/);
  });
});

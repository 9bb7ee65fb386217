import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import type { NodeId } from '../../../src/raft/types.js';
import { encodeMessage, type PeerAckWire, type PeerBatchWire } from '../../../src/transport/messageCodec.js';
import type { PeerTransportOptions } from '../../../src/transport/peerTransport.js';
import { STREAM_METHOD_PATH, streamMethod } from '../../../src/transport/raftProto.js';
import { addr, Cleanup, CLUSTER, freePort, INFO, makeNode, waitFor, WARN, type TestNode } from './harness.js';
import { heartbeat, seqOf } from './messages.js';

/**
 * A node accepts a stream from a node of its cluster that it has no link to
 * (its config file does not name it and its log has not reached the entry
 * that does: a joiner led by a member added at run time) when the stream
 * carries the sender's own address and the node's learnPeer hook agrees; it
 * then links back so that replies flow. Everything else about the sender is
 * still checked: its cluster, its address, and (mutual TLS) that the
 * certificate names the node it claims to be.
 */
const cleanup = new Cleanup();
afterEach(() => cleanup.run());

const logged = (n: TestNode, level: number, text: string): number => n.logs.filter((l) => l.level === level && l.msg.includes(text)).length;

/** receiver starts n2, whose configured peers are n1 only, recording every learnPeer call. */
async function receiver(answer: boolean, overrides: Partial<PeerTransportOptions> = {}): Promise<{ node: TestNode; asked: Array<[NodeId, string]> }> {
  const asked: Array<[NodeId, string]> = [];
  const node = await makeNode(cleanup, 'n2', new Map([['n1', addr(await freePort())]]), await freePort(), {
    learnPeer: (peer, address) => {
      asked.push([peer, address]);
      return answer;
    },
    ...overrides,
  });
  return { node, asked };
}

/** rawStream writes `first` on a new RaftPeer.Stream to `port` and resolves to the final status. */
function rawStream(port: number, first: PeerBatchWire): Promise<{ code: number; details: string }> {
  const method = streamMethod();
  const client = new grpc.Client(addr(port), grpc.credentials.createInsecure());
  cleanup.add(() => client.close());
  return new Promise((resolve) => {
    const call = client.makeClientStreamRequest<PeerBatchWire, PeerAckWire>(STREAM_METHOD_PATH, method.requestSerialize, method.responseDeserialize, (err) => {
      resolve(err === null ? { code: grpc.status.OK, details: '' } : { code: err.code, details: err.details });
    });
    call.on('error', () => undefined);
    cleanup.add(() => call.cancel());
    call.write(first);
  });
}

describe('PeerTransport learns a sender its config does not name', () => {
  it('accepts a node of its cluster that sends its address, links back to it, and its replies arrive', async () => {
    const { node: b, asked } = await receiver(true);
    const p4 = await freePort();
    const n4 = await makeNode(cleanup, 'n4', new Map([['n2', addr(b.port)]]), p4);
    n4.transport.send([heartbeat('n4', 'n2', 1)]);
    await waitFor(() => b.received.length === 1, 'n2 accepts the stream of n4');
    expect(b.received[0]).toMatchObject({ from: 'n4', to: 'n2' });
    expect(asked).toEqual([['n4', addr(p4)]]);
    expect(b.transport.peerIds().sort()).toEqual(['n1', 'n4']);
    expect(logged(b, INFO, `learned peer n4 at ${addr(p4)}`)).toBe(1);
    expect(logged(b, WARN, 'refused')).toBe(0);
    // The link back carries n2's replies to n4.
    b.transport.send([heartbeat('n2', 'n4', 7)]);
    await waitFor(() => n4.received.length === 1, 'n4 receives the reply of n2');
    expect(seqOf(n4.received[0] as never)).toBe(7);
    expect(b.transport.stats().refusedStreams).toBe(0);
  });

  it('refuses a sender of another cluster, even with its address, and asks nothing', async () => {
    const { node: b, asked } = await receiver(true);
    const n4 = await makeNode(cleanup, 'n4', new Map([['n2', addr(b.port)]]), await freePort(), { clusterId: 'other-cluster' });
    n4.transport.send([heartbeat('n4', 'n2', 1)]);
    await waitFor(() => logged(b, WARN, 'refused a peer stream from cluster "other-cluster"') === 1, 'n2 warns');
    expect(b.received).toEqual([]);
    expect(asked).toEqual([]);
    expect(b.transport.peerIds()).toEqual(['n1']);
  });

  it('refuses a sender whose address is missing (an older node) or malformed, and asks nothing', async () => {
    const { node: b, asked } = await receiver(true);
    const bad = [undefined, '', 'n4', '127.0.0.1', '127.0.0.1:0', '127.0.0.1:65536', 'a b:7001', `${'h'.repeat(300)}:7001`];
    for (const senderPeerAddress of bad) {
      const first: PeerBatchWire = { clusterId: CLUSTER, from: 'n4', to: 'n2', messages: [encodeMessage(heartbeat('n4', 'n2', 1))] };
      if (senderPeerAddress !== undefined) first.senderPeerAddress = senderPeerAddress;
      const status = await rawStream(b.port, first);
      expect(status.code, String(senderPeerAddress)).toBe(grpc.status.PERMISSION_DENIED);
      expect(status.details).toContain('accepts peer streams only from n1');
    }
    expect(b.received).toEqual([]);
    expect(asked).toEqual([]);
    expect(b.transport.peerIds()).toEqual(['n1']);
    expect(b.transport.stats().refusedStreams).toBe(bad.length);
    expect(logged(b, WARN, 'refused a peer stream from unknown node "n4"')).toBeGreaterThanOrEqual(1);
  });

  it('refuses a sender the node declines, with a warning, and links nowhere', async () => {
    const { node: b, asked } = await receiver(false);
    const p4 = await freePort();
    const status = await rawStream(b.port, {
      clusterId: CLUSTER, from: 'n4', to: 'n2', messages: [encodeMessage(heartbeat('n4', 'n2', 1))], senderPeerAddress: addr(p4),
    });
    expect(status.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(asked).toEqual([['n4', addr(p4)]]);
    expect(b.received).toEqual([]);
    expect(b.transport.peerIds()).toEqual(['n1']);
    expect(logged(b, WARN, 'refused a peer stream from unknown node "n4"')).toBe(1);
  });

  it('refuses a stream not addressed to it before learning anything', async () => {
    const { node: b, asked } = await receiver(true);
    const status = await rawStream(b.port, {
      clusterId: CLUSTER, from: 'n4', to: 'n3', messages: [], senderPeerAddress: addr(await freePort()),
    });
    expect(status.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(asked).toEqual([]);
    expect(b.transport.peerIds()).toEqual(['n1']);
  });

  it('without a learnPeer hook, a sender it has no link to is refused as before', async () => {
    const b = await makeNode(cleanup, 'n2', new Map([['n1', addr(await freePort())]]), await freePort());
    const status = await rawStream(b.port, {
      clusterId: CLUSTER, from: 'n4', to: 'n2', messages: [], senderPeerAddress: addr(await freePort()),
    });
    expect(status.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(b.transport.peerIds()).toEqual(['n1']);
  });
});

describe('PeerTransport learns only the node a certificate names (mutual TLS)', () => {
  it('refuses a stream whose certificate names another node than it claims, and asks nothing', async () => {
    const { node: b, asked } = await receiver(true, { authenticate: () => ({ ok: true, nodeId: 'n3' }) });
    const n4 = await makeNode(cleanup, 'n4', new Map([['n2', addr(b.port)]]), await freePort());
    n4.transport.send([heartbeat('n4', 'n2', 1)]);
    await waitFor(() => logged(b, WARN, 'claiming to be "n4": its certificate names "n3"') >= 1, 'n2 warns');
    expect(b.received).toEqual([]);
    expect(asked).toEqual([]);
    expect(b.transport.peerIds()).toEqual(['n1']);
  });

  it('refuses a connection without a certificate of the cluster, and asks nothing', async () => {
    const { node: b, asked } = await receiver(true, { authenticate: () => ({ ok: false, reason: 'no certificate from the cluster CA' }) });
    const n4 = await makeNode(cleanup, 'n4', new Map([['n2', addr(b.port)]]), await freePort());
    n4.transport.send([heartbeat('n4', 'n2', 1)]);
    await waitFor(() => logged(b, WARN, 'no certificate from the cluster CA') >= 1, 'n2 warns');
    expect(b.received).toEqual([]);
    expect(asked).toEqual([]);
    expect(b.transport.peerIds()).toEqual(['n1']);
  });

  it('learns a sender whose certificate names it', async () => {
    const { node: b, asked } = await receiver(true, { authenticate: () => ({ ok: true, nodeId: 'n4' }) });
    const p4 = await freePort();
    const n4 = await makeNode(cleanup, 'n4', new Map([['n2', addr(b.port)]]), p4);
    n4.transport.send([heartbeat('n4', 'n2', 1)]);
    await waitFor(() => b.received.length === 1, 'n2 accepts the certified n4');
    expect(asked).toEqual([['n4', addr(p4)]]);
    expect(b.transport.peerIds().sort()).toEqual(['n1', 'n4']);
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import type { PeerTransportOptions } from '../../../src/transport/peerTransport.js';
import { addr, Cleanup, freePort, makeNode, waitFor, WARN, type TestNode } from './harness.js';
import { heartbeat } from './messages.js';

/**
 * The transport's `authenticate` hook (what mutual TLS plugs into, see
 * src/security/nodeTls.ts): a connection it does not name a member is
 * refused, and a stream may only speak for the member it names. Here the
 * hook's answer is fixed, so these run without certificates; the TLS
 * plumbing itself is tested with real processes in test/integration/tls.test.ts.
 */
const cleanup = new Cleanup();
afterEach(() => cleanup.run());

const warnings = (n: TestNode, text: string): number => n.logs.filter((l) => l.level === WARN && l.msg.includes(text)).length;

async function pair(authenticate: NonNullable<PeerTransportOptions['authenticate']>): Promise<{ a: TestNode; b: TestNode }> {
  const [pa, pb] = [await freePort(), await freePort()];
  const peers = new Map([['n1', addr(pa)], ['n2', addr(pb)], ['n3', addr(await freePort())]]);
  const a = await makeNode(cleanup, 'n1', peers, pa);
  const b = await makeNode(cleanup, 'n2', peers, pb, { authenticate });
  return { a, b };
}

describe('PeerTransport authenticate', () => {
  it('delivers from the member the connection is authenticated as', async () => {
    const { a, b } = await pair(() => ({ ok: true, nodeId: 'n1' }));
    a.transport.send([heartbeat('n1', 'n2', 1)]);
    await waitFor(() => b.received.length === 1, 'the heartbeat arrives');
    expect(b.transport.stats().refusedStreams).toBe(0);
  });

  it('refuses a connection it cannot authenticate, and logs the reason', async () => {
    const { a, b } = await pair(() => ({ ok: false, reason: 'no certificate from the cluster CA' }));
    a.transport.send([heartbeat('n1', 'n2', 1)]);
    await waitFor(() => warnings(b, 'no certificate from the cluster CA') >= 1, 'the receiver warns');
    expect(b.received).toEqual([]);
    expect(b.transport.stats().refusedStreams).toBeGreaterThanOrEqual(1);
  });

  it('refuses a stream that claims another member than it is authenticated as', async () => {
    const { a, b } = await pair(() => ({ ok: true, nodeId: 'n3' }));
    a.transport.send([heartbeat('n1', 'n2', 1)]);
    await waitFor(() => warnings(b, 'claiming to be "n1": its certificate names "n3"') >= 1, 'the receiver warns');
    expect(b.received).toEqual([]);
    expect(b.transport.stats().refusedStreams).toBeGreaterThanOrEqual(1);
  });
});

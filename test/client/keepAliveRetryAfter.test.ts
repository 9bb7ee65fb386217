import { afterEach, describe, expect, it } from 'vitest';
import { connect } from '../../src/client/index.js';
import { DEFAULT_CLIENT_LIMITS } from '../../src/server/clientLimits.js';
import { FakeNode } from '../unit/server/fakeNode.js';
import { Cleanup, grpc, LIMITS, serve, waitFor } from '../unit/server/harness.js';

/**
 * The client's KeepAlive stream honours `raftlock-retry-after-ms`: a stream a
 * node ends for its KeepAlive rate limit is reopened no sooner than the hint
 * (here far beyond it, so capped at a sixth of the TTL), not at the
 * reconnect backoff's pace (from 25 ms), so a refused client does not hammer
 * the node. Counted by the server's request counter, an upper bound that a
 * slow machine can only lower.
 */

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

const TTL_MS = 3_000;

describe('KeepAlive stream over keepAlivesPerSecond', () => {
  it('reopens no sooner than the hint allows (capped at TTL/6), not at the backoff pace', async () => {
    const refusedAt: number[] = [];
    const { node, address } = await serve(cleanup, new FakeNode('n1', LIMITS), {
      // One token per 1,000 s after a burst of 2: every renewal after the second is refused, with a hint of about 1,000 s.
      clientLimits: { ...DEFAULT_CLIENT_LIMITS, keepAlivesPerSecond: 0.001, keepAliveBurst: 2 },
      countRequest: (method, code) => {
        if (method.endsWith('/KeepAlive') && code === grpc.status.RESOURCE_EXHAUSTED) refusedAt.push(performance.now());
      },
    });
    const client = await connect({ endpoints: [address], backoff: { initialMs: 25, maxMs: 250, multiplier: 2 } });
    cleanup.add(() => client.close());
    const lease = await client.grant(TTL_MS);
    await waitFor(() => lease.signal.aborted, 'the lease to be lost (every renewal after the burst is refused)', 20_000);
    expect(node.keepAliveCalls).toBe(2);
    expect(refusedAt.length).toBeGreaterThan(0);
    // Between the first refusal and the loss, reopening every TTL/6 gives at most this many refusals; the backoff's pace about three times as many.
    const windowMs = refusedAt[refusedAt.length - 1]! - refusedAt[0]!;
    expect(refusedAt.length).toBeLessThanOrEqual(Math.floor(windowMs / (TTL_MS / 6 - 2)) + 1);
  });
});

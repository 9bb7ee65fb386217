import { afterEach, describe, expect, it } from 'vitest';
import { fetchSnapshot } from '../../../src/client/snapshot.js';
import { UnavailableError } from '../../../src/client/errors.js';
import { resolveLimits } from '../../../src/lock/limits.js';
import { LockStateMachine } from '../../../src/lock/stateMachine.js';
import { MAINTENANCE_CHUNK_BYTES, snapshotChunks } from '../../../src/server/maintenanceService.js';
import { FakeNode } from './fakeNode.js';
import { Cleanup, serve } from './harness.js';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

/** bigState fills a node with enough long-named locks that its snapshot spans several chunks. */
async function bigState(node: FakeNode): Promise<void> {
  const perLease = 1000;
  const locks = Math.ceil((2.5 * MAINTENANCE_CHUNK_BYTES) / 250);
  node.grantLeases(Array.from({ length: Math.ceil(locks / perLease) }, (_, i) => i + 1));
  for (let i = 0; i < locks; i++) {
    const name = `${String(i).padStart(8, '0')}-${'x'.repeat(240)}`;
    await node.propose({ type: 'acquire', name, leaseId: 1 + Math.floor(i / perLease), mode: 'exclusive', wait: false });
  }
}

describe('Maintenance.Snapshot', () => {
  it('streams a multi-chunk snapshot through a follower, byte for byte what the leader holds', async () => {
    const limits = resolveLimits({});
    const leader = await serve(cleanup, new FakeNode('n1', limits));
    const follower = await serve(cleanup, new FakeNode('n2', limits), {}, false);
    follower.node.makeFollower({ id: 'n1', clientAddress: leader.address });
    await bigState(leader.node);
    const expected = leader.node.sm.snapshot();
    expect(expected.length).toBeGreaterThan(2 * MAINTENANCE_CHUNK_BYTES);

    const got = await fetchSnapshot({ endpoints: [follower.address], timeoutMs: 30_000 });
    expect(got.clusterId).toBe('fake-cluster');
    expect(got.index).toBe(leader.node.sm.lastAppliedIndex);
    expect(Buffer.from(got.data).equals(Buffer.from(expected))).toBe(true);
    expect(LockStateMachine.restore(got.data).listLocks()).toEqual(leader.node.sm.listLocks());
  });

  it('follows a leader hint, and gives up with UnavailableError when no member leads', async () => {
    const alone = await serve(cleanup, new FakeNode('n2'), {}, false);
    alone.node.makeFollower(null);
    const err = await fetchSnapshot({ endpoints: [alone.address], timeoutMs: 5_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    expect((err as Error).message).toMatch(/no member served a snapshot \(tried 127\.0\.0\.1:\d+\)/);
  });

  it('splits into chunks of at most MAINTENANCE_CHUNK_BYTES, the header in the first (also for empty data)', () => {
    const data = new Uint8Array(2 * MAINTENANCE_CHUNK_BYTES + 5).map((_, i) => i & 0xff);
    const chunks = [...snapshotChunks({ clusterId: 'c', index: 9, term: 2, data })];
    expect(chunks.map((c) => c.data.length)).toEqual([MAINTENANCE_CHUNK_BYTES, MAINTENANCE_CHUNK_BYTES, 5]);
    expect(chunks.map((c) => c.clusterId)).toEqual(['c', '', '']);
    expect(chunks[0]).toMatchObject({ index: '9', term: '2', totalBytes: String(data.length) });
    expect(Buffer.concat(chunks.map((c) => c.data)).equals(Buffer.from(data))).toBe(true);
    const empty = [...snapshotChunks({ clusterId: 'c', index: 1, term: 1, data: new Uint8Array(0) })];
    expect(empty).toHaveLength(1);
    expect(empty[0]).toMatchObject({ clusterId: 'c', totalBytes: '0' });
  });
});

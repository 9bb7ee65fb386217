import { describe, expect, it } from 'vitest';
import { eventually, startCluster, useClusterHarness } from './cluster.js';

/**
 * Issue test 4: a member down while the others take snapshots and compact
 * their logs catches up by InstallSnapshot (its snapshotIndex, applied index
 * and its "installed a snapshot" log line), and the state it installed is
 * complete (read back while it is the only member holding data).
 */

useClusterHarness();

describe('a node that was down while the others compacted', () => {
  it('catches up by InstallSnapshot after restart', async () => {
    // Snapshots every 40 entries keeping 5 behind, sent in 256-byte chunks.
    const c = await startCluster({ nodes: 3, snapshot: { everyEntries: 40, trailingEntries: 5, chunkBytes: 256 } });
    const leader = await c.leader();
    const down = c.ids.find((id) => id !== leader) as string;
    const api = c.client();
    // Some state before the node goes down.
    const early = await api.grant(120_000);
    const first = await api.acquire('held-before', early.leaseId);
    const before = await c.waitCaughtUp(down);

    await c.kill(down);
    // Enough writes for several snapshots, leaving state behind worth restoring:
    // 30 held locks (a snapshot of several chunks) and a churned lock.
    const lease = await api.grant(120_000);
    const tokens = new Map<string, string>();
    for (let i = 0; i < 30; i++) {
      const name = `held-${String(i).padStart(2, '0')}-${'x'.repeat(24)}`;
      tokens.set(name, (await api.acquire(name, lease.leaseId)).token);
    }
    for (let i = 0; i < 60; i++) {
      const { token } = await api.acquire('churn', lease.leaseId);
      await api.release('churn', lease.leaseId, token);
    }
    const others = c.ids.filter((id) => id !== down);
    const compacted = await eventually('the live members compacted past what the down node has', async () => {
      const s = await Promise.all(others.map((id) => c.status(id)));
      return s.every((x) => x.snapshotIndex > before.node.appliedIndex + 5) ? s : null;
    });
    expect(compacted.every((s) => s.snapshotIndex > 0)).toBe(true);

    await c.start(down);
    const { node, leader: leaderNow } = await c.waitCaughtUp(down, 30_000);
    expect(node.snapshotIndex).toBeGreaterThan(before.node.appliedIndex);
    expect(node.appliedIndex).toBeGreaterThanOrEqual(leaderNow.commitIndex);
    await eventually(`${down} logs that it installed a snapshot`, async () =>
      /installed a snapshot/.test(c.logs(down, { latestStart: true })) ? true : null, 10_000);

    // What it restored is the whole state. Read it from this node alone: kill the
    // other two, wipe one of them and start it empty. Raft lets only a member with
    // an up-to-date log win an election, so the restarted node leads, and every
    // read below is served from the state it installed (and then sent on to the
    // empty member, by snapshot again).
    const [a, b] = others as [string, string];
    await c.kill(a);
    await c.kill(b);
    await c.wipeData(b);
    await c.start(b);
    expect(await c.leader({ timeoutMs: 30_000 })).toBe(down);
    for (const [name, token] of tokens) {
      expect((await api.get(name)).holders, name).toEqual([{ leaseId: lease.leaseId, token, mode: 'EXCLUSIVE' }]);
    }
    expect((await api.get('held-before')).holders).toEqual([{ leaseId: early.leaseId, token: first.token, mode: 'EXCLUSIVE' }]);
    expect((await api.get('churn')).holders).toEqual([]);
    expect(await api.timeToLive(lease.leaseId)).toMatchObject({ ttlMs: '120000', locks: [...tokens.keys()].sort() });
    const { node: empty } = await c.waitCaughtUp(b, 30_000);
    expect(empty.snapshotIndex).toBeGreaterThan(0);
  }, 90_000);
});

import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { GetLockResponse, ListLeasesResponse } from '../../src/server/apiProto.js';
import { decodeSnapshotFile } from '../../src/backup/snapshotFile.js';
import { killStrays, runCli, type CliResult } from '../cli/realCluster.js';
import { eventually, freePorts, startCluster, useClusterHarness, type Cluster } from './cluster.js';

/**
 * Backup and recovery against real processes: `raftlock snapshot save` from
 * a running cluster, `raftlock snapshot restore` into the data dirs of a new
 * cluster, and `raftlock recover --force-new-cluster` from the one survivor
 * of a cluster that lost its majority.
 */

useClusterHarness();
afterAll(() => killStrays());

/** TTL_MS: long enough that no lease lapses during a test (keepalives are not sent). */
const TTL_MS = 120_000;

interface LockState {
  readonly leases: ListLeasesResponse;
  readonly alpha: GetLockResponse;
  readonly beta: GetLockResponse;
  /** maxToken: the highest fencing token the cluster handed out. */
  readonly maxToken: number;
}

/**
 * someLocks builds a state with every kind of thing a snapshot must carry:
 * an exclusive holder with a FIFO queue of two waiters (one exclusive, one
 * shared), a lock held shared by two leases, an idle lease, and tokens from a
 * few earlier grants and releases.
 */
async function someLocks(c: Cluster): Promise<LockState> {
  const api = c.api;
  const ids = [];
  for (let i = 0; i < 6; i++) ids.push((await api.grant(TTL_MS)).leaseId);
  const [l1, l2, l3, l4, l5, l6] = ids as [string, string, string, string, string, string];
  // Earlier grants and releases push the tokens up.
  for (let i = 0; i < 3; i++) {
    const got = await api.acquire('churn', l6);
    await api.release('churn', l6, got.token);
  }
  await api.acquire('alpha', l1);
  // Waiters: an Acquire with wait_ms queues; the call is left waiting (the test never needs its answer).
  void api.acquire('alpha', l2, { waitMs: TTL_MS }).catch(() => undefined);
  await eventually('l2 queued on alpha', async () => ((await api.get('alpha')).waiters.length === 1 ? true : null));
  void api.acquire('alpha', l3, { mode: 'SHARED', waitMs: TTL_MS }).catch(() => undefined);
  await eventually('l3 queued on alpha', async () => ((await api.get('alpha')).waiters.length === 2 ? true : null));
  await api.acquire('beta', l4, { mode: 'SHARED' });
  await api.acquire('beta', l5, { mode: 'SHARED' });
  const alpha = await api.get('alpha');
  const beta = await api.get('beta');
  const leases = await api.list();
  const maxToken = Math.max(...[...alpha.holders, ...beta.holders].map((h) => Number(h.token)));
  return { leases, alpha, beta, maxToken };
}

function sortedLeases(l: ListLeasesResponse): string[] {
  return l.leases.map((x) => `${x.leaseId}/${x.ttlMs}`).sort();
}

function expectCli(r: CliResult, what: string): void {
  expect(r.code, `${what}: exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`).toBe(0);
}

/** startExpectingExit starts a member that must refuse to start, and returns its exit and its output. */
async function startExpectingExit(c: Cluster, id: string): Promise<{ code: number | null; output: string }> {
  c.spawn(id, { expectExit: true });
  const exit = await c.exitOf(id, 30_000);
  return { code: exit.code, output: c.logs(id, { latestStart: true }) };
}

/** expectSameLocks checks the new cluster holds exactly the old holders, tokens, waiters (in order) and leases. */
async function expectSameLocks(c: Cluster, before: LockState): Promise<void> {
  expect(await c.api.get('alpha')).toEqual(before.alpha);
  expect(await c.api.get('beta')).toEqual(before.beta);
  expect(sortedLeases(await c.api.list())).toEqual(sortedLeases(before.leases));
}

/** expectTokensContinue: a new grant, and the promotion of the first waiter, get tokens above every old one and above `index`. */
async function expectTokensContinue(c: Cluster, before: LockState, index: number): Promise<void> {
  const api = c.api;
  const fresh = await api.grant(TTL_MS);
  const gamma = await api.acquire('gamma', fresh.leaseId);
  expect(Number(gamma.token)).toBeGreaterThan(before.maxToken);
  expect(Number(gamma.token)).toBeGreaterThan(index);
  // The exclusive holder releases with its old token: the queue moves on, in order, with a new token.
  const holder = before.alpha.holders[0]!;
  await api.release('alpha', holder.leaseId, holder.token);
  const after = await api.get('alpha');
  expect(after.holders.map((h) => h.leaseId)).toEqual([before.alpha.waiters[0]!.leaseId]);
  expect(Number(after.holders[0]!.token)).toBeGreaterThan(Number(gamma.token));
  expect(after.waiters.map((w) => w.leaseId)).toEqual([before.alpha.waiters[1]!.leaseId]);
  // A lease from the snapshot is live under the new leader's clock.
  const ttl = await api.timeToLive(before.beta.holders[0]!.leaseId);
  expect(Number(ttl.ttlMs)).toBe(TTL_MS);
  expect(Number(ttl.remainingMs)).toBeGreaterThan(0);
}

describe('snapshot save and restore', () => {
  it('saves through a follower, restores into a new 3-member cluster with the same locks, and tokens continue above the old ones', async () => {
    const a = await startCluster({ nodes: 3, clusterId: 'old-cluster' });
    const before = await someLocks(a);
    const leader = await a.leader();
    const follower = a.ids.find((id) => id !== leader) as string;
    const file = join(a.dir, 'backup.rlsnap');
    const saved = await runCli(['snapshot', 'save', file, '--endpoints', a.spec(follower).clientAddress, '--json']);
    expectCli(saved, 'snapshot save');
    const header = decodeSnapshotFile(readFileSync(file), file).header;
    expect(JSON.parse(saved.stdout)).toMatchObject({ clusterId: 'old-cluster', index: header.index, term: header.term });
    expect(header.clusterId).toBe('old-cluster');
    // Linearizable: the snapshot is at or after every write acknowledged before the save began.
    expect(header.index).toBeGreaterThanOrEqual(before.maxToken);

    // A damaged copy is refused before anything is written.
    const damaged = join(a.dir, 'damaged.rlsnap');
    const bytes = readFileSync(file);
    bytes[bytes.length >> 1] ^= 0x01;
    writeFileSync(damaged, bytes);
    const target = join(a.dir, 'never');
    const refusedDamaged = await runCli(['snapshot', 'restore', damaged, '--config', a.configPath, '--node-id', 'n1', '--data-dir', target]);
    expect(refusedDamaged.code).toBe(1);
    expect(refusedDamaged.stderr).toMatch(/checksum mismatch/);
    // The old cluster's own id is refused: a restore makes a new cluster.
    const refusedSameId = await runCli(['snapshot', 'restore', file, '--config', a.configPath, '--node-id', 'n1', '--data-dir', target]);
    expect(refusedSameId.code).toBe(1);
    expect(refusedSameId.stderr).toContain('give the config a new clusterId');
    expect(existsSync(target)).toBe(false);

    const b = await startCluster({
      nodes: 3,
      clusterId: 'new-cluster',
      beforeStart: async (c) => {
        for (const id of c.ids) expectCli(await runCli(['snapshot', 'restore', file, '--config', c.configPath, '--node-id', id]), `restore ${id}`);
      },
    });
    await expectSameLocks(b, before);
    await expectTokensContinue(b, before, header.index);

    // A restored member's data dir belongs to the new cluster: under the old cluster id it refuses to start.
    await b.stopNode('n3');
    const newConfig = structuredClone(b.config) as Record<string, unknown> & { nodes: Array<Record<string, string>> };
    b.writeConfig({ ...newConfig, clusterId: 'old-cluster' });
    const foreign = await startExpectingExit(b, 'n3');
    expect(foreign.code).not.toBe(0);
    expect(foreign.output).toContain(`belongs to another cluster: it holds node "n3" of cluster "new-cluster", but this process was started as node "n3" of cluster "old-cluster"`);

    // An old member (its own data, the old cluster id) pointed at the new cluster's addresses is refused by every new member.
    await a.stopNode('n3');
    newConfig.nodes[2]!.dataDir = a.spec('n3').dataDir;
    b.writeConfig({ ...newConfig, clusterId: 'old-cluster' });
    b.spawn('n3');
    for (const id of ['n1', 'n2']) {
      await eventually(`${id} refuses the old member`, async () => (b.logs(id).includes('refused a peer stream from cluster \\"old-cluster\\"') ? true : null));
    }
    // The new cluster keeps serving with its own two members.
    await expectServes(b);
  }, 180_000);
});

describe('snapshot save without a cluster', () => {
  it('exits 69 (unavailable) naming the members it tried, and writes no file', async () => {
    const [port] = await freePorts(1);
    const dir = mkdtempSync(join(tmpdir(), 'raftlock-save-'));
    try {
      const file = join(dir, 'never.rlsnap');
      const r = await runCli(['snapshot', 'save', file, '--endpoints', `127.0.0.1:${port}`, '--timeout', '1s']);
      expect(r.code, r.stderr).toBe(69);
      expect(r.stderr).toContain(`no member served a snapshot (tried 127.0.0.1:${port})`);
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('disaster recovery', () => {
  it('recovers the one survivor of a 3-member cluster as a single-member cluster with every lock, lease and token', async () => {
    const a = await startCluster({ nodes: 3, clusterId: 'lost-cluster' });
    const before = await someLocks(a);
    await a.waitCaughtUp('n1');
    const survivorIndex = (await a.status('n1')).appliedIndex;
    // The majority is lost for good; the survivor crashes too (recovery is offline).
    await a.kill('n2');
    await a.kill('n3');
    await a.kill('n1');
    const from = a.spec('n1').dataDir;

    const b = await startCluster({
      nodes: 1,
      clusterId: 'recovered',
      beforeStart: async (c) => {
        const args = ['recover', '--from-data-dir', from, '--config', c.configPath, '--node-id', 'n1'];
        const unconfirmed = await runCli(args);
        expect(unconfirmed.code).toBe(2);
        expect(unconfirmed.stderr).toContain('DISASTER RECOVERY');
        expect(unconfirmed.stderr).toContain('refusing to recover without --force-new-cluster');
        expect(existsSync(c.spec('n1').dataDir)).toBe(false);
        const r = await runCli([...args, '--force-new-cluster', '--json']);
        expectCli(r, 'recover');
        expect(r.stderr).toContain('DISASTER RECOVERY');
        const summary = JSON.parse(r.stdout) as { index: number; fromClusterId: string; locks: number; leases: number };
        expect(summary).toMatchObject({ fromClusterId: 'lost-cluster', leases: before.leases.leases.length });
        expect(summary.index).toBeGreaterThanOrEqual(survivorIndex);
      },
    });
    const status = await b.status('n1');
    expect(status.role).toBe('leader');
    expect(status.members.map((m) => m.id)).toEqual(['n1']);
    await expectSameLocks(b, before);
    await expectTokensContinue(b, before, survivorIndex);
  }, 180_000);

  it('refuses a config that keeps the lost cluster id or lists more than the survivor', async () => {
    const a = await startCluster({ nodes: 3, clusterId: 'lost-cluster' });
    await a.api.grant(TTL_MS);
    await a.kill('n1');
    const from = a.spec('n1').dataDir;
    const sameId = await runCli(['recover', '--from-data-dir', from, '--config', a.configPath, '--node-id', 'n1', '--force-new-cluster']);
    expect(sameId.code).toBe(1);
    expect(sameId.stderr).toContain('the config lists 3 members (n1, n2, n3)');
    const single = { ...structuredClone(a.config), clusterId: 'lost-cluster', nodes: [(a.config as { nodes: unknown[] }).nodes[0]], dataDir: join(a.dir, 'recovered') };
    const singlePath = join(a.dir, 'single.json');
    writeFileSync(singlePath, JSON.stringify(single));
    const keepsId = await runCli(['recover', '--from-data-dir', from, '--config', singlePath, '--node-id', 'n1', '--force-new-cluster']);
    expect(keepsId.code).toBe(1);
    expect(keepsId.stderr).toContain('is the lost cluster\'s own; the recovered member forms a new cluster');
    expect(existsSync(join(a.dir, 'recovered'))).toBe(false);
  }, 120_000);
});

/** expectServes: the new cluster still answers reads and writes (its leader and quorum are intact). */
async function expectServes(c: Cluster): Promise<void> {
  const lease = await c.api.grant(TTL_MS);
  const got = await c.api.acquire('delta', lease.leaseId);
  expect(Number(got.token)).toBeGreaterThan(0);
}

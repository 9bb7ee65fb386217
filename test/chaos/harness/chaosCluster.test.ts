import { afterAll, describe, expect, it } from 'vitest';
import { Connection } from '../../../src/client/connection.js';
import { ChaosCluster } from './chaosCluster.js';
import { Recorder } from './recorder.js';
import { RecordedClient } from './recordedClient.js';

/**
 * The harness's fault points on a real 3-node cluster: what the scenarios
 * and the randomised run rely on. One cluster for the file, destroyed in
 * afterAll whatever happens.
 */
const recorder = new Recorder({ seed: 1, nodes: ['n1', 'n2', 'n3'], electionTimeoutMs: 400, fencing: true });
let cluster: ChaosCluster | null = null;
const clients: RecordedClient[] = [];

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  await cluster?.destroy();
}, 30_000);

async function started(): Promise<ChaosCluster> {
  cluster ??= await ChaosCluster.start({ nodes: 3, recorder });
  return cluster;
}

describe('ChaosCluster', () => {
  it('an isolated leader is replaced by the majority; healing reunites the cluster', async () => {
    const c = await started();
    const old = await c.leader();
    c.isolate(old);
    const next = await c.leader({ notId: old });
    expect(next).not.toBe(old);
    c.healNetwork();
    const statuses = await c.statuses();
    expect(statuses.size).toBe(3);
    expect(recorder.history.nemesis.map((e) => e.kind)).toEqual(expect.arrayContaining(['partition', 'heal']));
  });

  it('a client cut off from every node gets no answer; healed, it is served again', async () => {
    const c = await started();
    const client = await RecordedClient.connect(c, 'c1', { requestTimeoutMs: 1_500 });
    clients.push(client);
    expect((await client.get('lock-a')).outcome).toBe('ok');
    c.cutClient('c1');
    const cut = await client.get('lock-a');
    expect(cut.outcome).toBe('unknown');
    c.healClient('c1');
    expect((await client.get('lock-a')).outcome).toBe('ok');
  });

  it('the addresses nodes give out for each other (leader hints) refuse the harness process, so a cut client cannot slip around its proxies', async () => {
    const c = await started();
    const options = { endpoints: [], attemptTimeoutMs: 1_000, requestTimeoutMs: 1_000, backoff: { initialMs: 10, maxMs: 10, multiplier: 1 }, discoverMembers: false };
    const connection = new Connection(options);
    try {
      const own = (await c.clientEndpoints('probe'))[0]!;
      const s = await connection.statusOf(own, 1_000);
      const hinted = s.members.find((m) => m.id !== s.id)!.clientAddress;
      expect(hinted).not.toBe(own);
      await expect(connection.statusOf(hinted, 1_000)).rejects.toThrow(/Status failed/);
    } finally {
      connection.close();
    }
  });

  it('a SIGKILLed node restarts from its data dir and rejoins', async () => {
    const c = await started();
    const victim = c.ids.find((id) => c.isRunning(id))!;
    await c.kill(victim);
    expect(c.isRunning(victim)).toBe(false);
    await c.restart(victim);
    expect((await c.status(victim)).id).toBe(victim);
  });

  it('finish heals, restarts every node and reads the final state back', async () => {
    const c = await started();
    const client = await RecordedClient.connect(c, 'c2');
    clients.push(client);
    const lease = await client.grant(10_000);
    if (lease.outcome !== 'ok') throw new Error(`grant: ${lease.error.message}`);
    const got = await client.acquire(lease.value, 'lock-b', { mode: 'exclusive', waitMs: 0 });
    if (got.outcome !== 'ok') throw new Error(`acquire: ${got.error.message}`);
    c.pause(c.ids[0]!);
    const h = await c.finish(['lock-b']);
    expect(h.healedMs).not.toBeNull();
    expect(h.final?.servedAgainMs).not.toBeNull();
    expect(h.final?.locks['lock-b']?.holders.map((x) => x.token)).toEqual([got.value.token]);
    expect(h.final?.leases.map((l) => l.leaseId)).toContain(lease.value.id);
  });
});

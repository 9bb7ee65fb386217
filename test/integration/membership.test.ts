import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { connect, MembershipError, type RaftlockClient } from '../../src/client/index.js';
import { eventually, startCluster, useClusterHarness, type Cluster } from './cluster.js';

/**
 * Membership changes against real node processes: a learner joins (caught up
 * by InstallSnapshot), is promoted, members are removed (a follower, then the
 * leader), a removed node refuses to start from its data dir again, and a
 * 5-node cluster shrinks to 3 and grows back to 5 while a client holds a lock,
 * keeps its lease alive and uses it.
 */

useClusterHarness();

async function clientOf(c: Cluster): Promise<RaftlockClient> {
  const client = await connect({ endpoints: c.addresses(), requestTimeoutMs: 15_000 });
  return client;
}

/** churn writes `rounds` acquire/release pairs (two log entries each). */
async function churn(client: RaftlockClient, rounds: number): Promise<void> {
  const lease = await client.grant(60_000);
  for (let i = 0; i < rounds; i++) {
    const lock = await client.acquire('churn', { lease, waitMs: 0 });
    await lock.release();
  }
}

/** retried repeats a membership call the leader refused for now (not caught up, just elected, a change in progress). */
async function retried<T>(what: string, call: () => Promise<T>): Promise<T> {
  return eventually(what, async () => {
    try {
      return await call();
    } catch (err) {
      if (err instanceof MembershipError && err.reason === 'refused' && /retry|not caught up/.test(err.message)) return null;
      throw err;
    }
  });
}

async function roleOf(c: Cluster, id: string): Promise<string | undefined> {
  return (await c.status(id)).members.find((m) => m.id === id)?.role;
}

describe('membership changes', () => {
  it('adds a learner (caught up by snapshot), promotes it, removes a follower and then the leader', async () => {
    const c = await startCluster({ nodes: 3, snapshot: { everyEntries: 30, trailingEntries: 5, chunkBytes: 512 } });
    const client = await clientOf(c);
    try {
      await churn(client, 60);
      const leader = await c.leader();
      await eventually('the leader compacted its log', async () => ((await c.status(leader)).snapshotIndex > 30 ? true : null));

      // A new node: in the config file with "join": true, started empty; it waits to be added.
      const n4 = await c.addJoiner('n4');
      await c.start('n4');
      await eventually('n4 says it waits to be added', async () => (/joining: this node waits to be added/.test(c.logs('n4')) ? true : null));
      expect((await c.status('n4')).commitIndex).toBe(0);

      const added = await client.addMember('n4', { clientAddress: n4.clientAddress, peerAddress: n4.peerAddress });
      expect(added.members.find((m) => m.id === 'n4')).toMatchObject({ role: 'learner', clientAddress: n4.clientAddress });
      const { node } = await c.waitCaughtUp('n4', 30_000);
      expect(node.snapshotIndex).toBeGreaterThan(0);
      expect(c.logs('n4')).toMatch(/installed a snapshot/);
      expect(await roleOf(c, 'n4')).toBe('learner');
      await expect(client.addMember('n4', { clientAddress: n4.clientAddress, peerAddress: n4.peerAddress })).rejects.toMatchObject({ name: 'MembershipError', reason: 'already-member' });
      await expect(client.promoteMember('n9')).rejects.toBeInstanceOf(MembershipError);

      await retried('promote n4', () => client.promoteMember('n4'));
      const listed = await client.members();
      expect(listed.members.map((m) => [m.id, m.role])).toEqual([['n1', 'voter'], ['n2', 'voter'], ['n3', 'voter'], ['n4', 'voter']]);

      // Remove a follower: it records its removal and refuses to start again from its data.
      const follower = c.ids.find((id) => id !== leader && id !== 'n4') as string;
      await retried(`remove ${follower}`, () => client.removeMember(follower));
      await eventually(`${follower} applied its removal`, async () => (/this node was removed from the cluster/.test(c.logs(follower)) ? true : null));
      await c.stopNode(follower);
      c.spawn(follower, { expectExit: true });
      const exit = await c.exitOf(follower);
      expect(exit.code).not.toBe(0);
      expect(c.logs(follower, { latestStart: true })).toMatch(/was removed from cluster raftlock-it .* will not start/);

      // Remove the leader: it leads until the removal commits, then hands over.
      await retried(`remove ${leader}`, () => client.removeMember(leader));
      const next = await eventually('a new leader among the remaining voters', async () => {
        const others = c.ids.filter((id) => id !== leader && id !== follower);
        const s = await Promise.all(others.map((id) => c.status(id)));
        const l = s.find((x) => x.role === 'leader');
        return l !== undefined && l.id !== leader ? l.id : null;
      });
      expect((await c.status(leader)).role).not.toBe('leader');
      const after = await client.members();
      expect(after.leader).toBe(next);
      expect(after.members.map((m) => m.id).sort()).toEqual(c.ids.filter((id) => id !== leader && id !== follower).sort());
      // The cluster still serves writes with its two remaining voters.
      await churn(client, 3);
    } finally {
      await client.close();
    }
  });

  it('a joiner whose config file does not name the leader (itself added at run time) catches up, is promoted and serves', async () => {
    const c = await startCluster({ nodes: 3 });
    const client = await clientOf(c);
    try {
      await churn(client, 5);
      const n4 = await c.addJoiner('n4');
      await c.start('n4');
      await client.addMember('n4', { clientAddress: n4.clientAddress, peerAddress: n4.peerAddress });
      await c.waitCaughtUp('n4', 30_000);
      await retried('promote n4', () => client.promoteMember('n4'));
      await eventually('n4 leads', async () => {
        try {
          await client.transferLeader('n4');
        } catch {
          return null;
        }
        return (await c.status('n4')).role === 'leader' ? true : null;
      });

      // n5's file was written before n4 existed: it names n1-n3 and itself, not its leader.
      const n5 = await c.addJoiner('n5', { fileNames: ['n1', 'n2', 'n3'] });
      expect(readFileSync(join(c.dir, 'cluster-n5.json'), 'utf8')).not.toContain('"n4"');
      await c.start('n5');
      await client.addMember('n5', { clientAddress: n5.clientAddress, peerAddress: n5.peerAddress });
      const { node, leader } = await c.waitCaughtUp('n5', 30_000);
      expect(leader.id).toBe('n4');
      expect(node.leader).toBe('n4');
      expect(c.logs('n5')).toMatch(/learned peer n4 at 127\.0\.0\.1:\d+ from its stream/);
      await retried('promote n5', () => client.promoteMember('n5'));
      const listed = await client.members();
      expect(listed.members.map((m) => [m.id, m.role])).toEqual([['n1', 'voter'], ['n2', 'voter'], ['n3', 'voter'], ['n4', 'voter'], ['n5', 'voter']]);

      // n5 serves: a client that knows only n5 takes a lock through it, and n5 holds the state.
      const viaN5 = await connect({ endpoints: [n5.clientAddress], requestTimeoutMs: 15_000 });
      try {
        const lease = await viaN5.grant(60_000);
        const lock = await viaN5.acquire('joined', { lease, waitMs: 0 });
        const state = await viaN5.get('joined');
        expect(state.holders.map((h) => h.token)).toEqual([lock.token]);
        await lock.release();
      } finally {
        await viaN5.close();
      }
      await c.waitCaughtUp('n5', 30_000);
    } finally {
      await client.close();
    }
  });

  it('shrinks 5 -> 3 and grows back to 5 while a client holds a lock and keeps using it', async () => {
    const c = await startCluster({ nodes: 5 });
    const client = await clientOf(c);
    try {
      const leader = await c.leader();
      const termBefore = (await c.status(leader)).term;
      // A TTL well above an election (200-400 ms) plus the client's safety margin, on a loaded test machine.
      const lease = await client.grant(5_000);
      let lost: Error | null = null;
      lease.onLost((err) => { lost = err; });
      const lock = await client.acquire('resource', { lease, waitMs: 0 });

      // The client uses its lock throughout: a linearizable read that must show it as the holder, every 100 ms.
      let reads = 0;
      const wrong: string[] = [];
      let using = true;
      const use = (async () => {
        while (using) {
          const state = await client.get('resource');
          const holder = state.holders[0];
          if (state.holders.length !== 1 || holder?.leaseId !== lease.id || holder.token !== lock.token) wrong.push(JSON.stringify(state, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));
          reads++;
          await new Promise((r) => setTimeout(r, 100));
        }
      })();

      // Shrink: remove the leader (one election), then a follower of the new leader.
      const removeAndKill = async (id: string): Promise<void> => {
        await retried(`remove ${id}`, () => client.removeMember(id));
        await eventually(`${id} applied its removal`, async () => (/this node was removed from the cluster/.test(c.logs(id)) ? true : null));
        await c.kill(id);
      };
      await removeAndKill(leader);
      const successor = await c.waitForLeader({ notId: leader });
      const follower = c.ids.find((id) => id !== leader && id !== successor) as string;
      await removeAndKill(follower);
      expect((await client.members()).members.filter((m) => m.role === 'voter')).toHaveLength(3);

      // Grow back with two new members (a removed id never comes back).
      for (const id of ['n6', 'n7']) {
        const spec = await c.addJoiner(id);
        await c.start(id);
        await retried(`add ${id}`, () => client.addMember(id, { clientAddress: spec.clientAddress, peerAddress: spec.peerAddress }));
        await c.waitCaughtUp(id, 30_000);
        await retried(`promote ${id}`, () => client.promoteMember(id));
      }
      const final = await client.members();
      expect(final.members.filter((m) => m.role === 'voter').map((m) => m.id).sort()).toEqual(
        c.ids.filter((id) => id !== leader && id !== follower).sort(),
      );
      await new Promise((r) => setTimeout(r, 500));
      using = false;
      await use;

      expect(lost).toBeNull();
      expect(lease.signal.aborted).toBe(false);
      expect(wrong).toEqual([]);
      expect(reads).toBeGreaterThan(10);
      const state = await client.get('resource');
      expect(state.holders).toEqual([expect.objectContaining({ leaseId: lease.id, token: lock.token })]);
      // One election (the removed leader's hand-over), no more.
      const newLeader = final.leader as string;
      const elections = c.ids.flatMap((id) => c.logs(id).split('\n').filter((l) => /"became leader"|membership change committed/.test(l)).map((l) => `${id}: ${l.slice(0, 300)}`));
      expect((await c.status(newLeader)).term, elections.join('\n')).toBe(termBefore + 1);
      await lock.release();
    } finally {
      await client.close();
    }
  });
});

import { describe, expect, it } from 'vitest';
import { eventually, startCluster, useClusterHarness, type Cluster } from './cluster.js';
import { logLines, WARN, type LogLine } from '../support/observability.js';
import { sleep } from '../support/poll.js';

/**
 * Faults are logged at warn, once (rate-limited), with what to check: a peer
 * killed (unreachable), a leader left without a majority (lost quorum, then
 * no leader), a follower that fell behind a compaction (snapshot sent and
 * installed). Each is provoked against real processes and read from the log.
 */

useClusterHarness();

/** warnings returns the warn lines of a member's log, logged at or after `sinceMs` (wall clock), whose message matches `pattern`. */
function warnings(c: Cluster, id: string, pattern: RegExp, sinceMs = 0): LogLine[] {
  return logLines(c.logs(id)).filter((l) => l.level === WARN && Number(l.time) >= sinceMs && pattern.test(l.msg));
}

function waitWarning(c: Cluster, id: string, pattern: RegExp, sinceMs = 0, timeoutMs = 20_000): Promise<LogLine> {
  return eventually(`${id} logs a warning matching ${pattern}`, async () => warnings(c, id, pattern, sinceMs)[0] ?? null, timeoutMs);
}

describe('fault log lines', () => {
  it('a killed peer, then a lost quorum, are warned about once each, saying what to check', async () => {
    const c = await startCluster({ nodes: 3 });
    const leader = await c.leader();
    const [first, second] = c.ids.filter((id) => id !== leader) as [string, string];
    const term = (await c.status(leader)).term;

    // Wall-clock time, as in pino's "time": only what is logged after the kill counts.
    const killedAtMs = Date.now();
    await c.kill(first);
    const address = c.spec(first).peerAddress;
    const unreachable = new RegExp(`^peer ${first} unreachable at ${address.replace(/\./g, '\\.')} `);
    const line = await waitWarning(c, leader, unreachable, killedAtMs);
    expect(line.msg).toMatch(/check that the node is running and listening on .*, that the address in the cluster config is right/);
    expect(line).toMatchObject({ peer: first, address });
    // The link retries with backoff many times in two seconds; the warning is not repeated.
    await sleep(2_000);
    expect(warnings(c, leader, unreachable, killedAtMs)).toHaveLength(1);

    await c.kill(second);
    const stepped = await waitWarning(c, leader, new RegExp(`^stepped down as leader of term ${term}: lost quorum`));
    expect(stepped.msg).toMatch(/check that the other members are running and reachable/);
    const noLeader = await waitWarning(c, leader, /^no leader for \d+\.\d s \(this node is (pre-candidate|candidate|follower) in term \d+\): it cannot reach a majority of the 3 members/);
    expect(noLeader.msg).toMatch(/check that a majority is running/);
  });

  it('a follower that fell behind a compaction: the leader warns it sends a snapshot, the follower that it installed one', async () => {
    const c = await startCluster({ nodes: 3, snapshot: { everyEntries: 40, trailingEntries: 5, chunkBytes: 256 } });
    const leader = await c.leader();
    const down = c.ids.find((id) => id !== leader) as string;
    await c.kill(down);
    const api = c.client();
    const lease = await api.grant(60_000);
    for (let i = 0; i < 60; i++) {
      const { token } = await api.acquire('churn', lease.leaseId);
      await api.release('churn', lease.leaseId, token);
    }
    await eventually('the leader compacted', async () => ((await c.status(leader)).snapshotIndex > 40 ? true : null));
    await c.start(down);
    await c.waitCaughtUp(down);
    const sent = await waitWarning(c, leader, new RegExp(`^sending a snapshot \\(index \\d+, \\d+ bytes\\) to follower ${down}: it is too far behind`));
    expect(sent.msg).toMatch(/if it repeats check that follower's log, disk and network/);
    const installed = await waitWarning(c, down, /^installed a snapshot from the leader/);
    expect(installed.msg).toMatch(/if it repeats check this node's disk, load and network/);
  });
});

import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { beforeAll, describe, expect, it } from 'vitest';
import { failure, HOLDERS_METADATA, type ApiClient, type CallError } from './apiClient.js';
import { pollUntil } from '../support/poll.js';
import { eventually, startCluster, useClusterHarness, type Cluster, type Exit } from './cluster.js';

/**
 * Issue test 6: bad requests get the conventional status codes and messages
 * that say what is accepted (and never reach the log); a member refuses to
 * start from a corrupt or foreign data dir, or from a bad config, exiting
 * non-zero with a message naming the problem.
 */

useClusterHarness();

function expectError(err: CallError, code: grpc.status, details: RegExp): void {
  expect({ code: grpc.status[err.code], details: err.details }).toMatchObject({ code: grpc.status[code], details: expect.stringMatching(details) });
}

describe('bad requests get the right status and a message saying what is accepted', () => {
  let c: Cluster;
  let api: ApiClient;
  let viaFollower: ApiClient;

  beforeAll(async () => {
    c = await startCluster({ nodes: 3, scope: 'file' });
    const leader = await c.leader();
    api = c.client();
    viaFollower = c.clientFor(c.ids.find((id) => id !== leader) as string);
  }, 60_000);

  it('malformed input is INVALID_ARGUMENT on every node, and never reaches the log', async () => {
    const lease = await api.grant(60_000);
    const leader = await c.leader();
    const before = await c.status(leader);
    for (const client of [api, viaFollower]) {
      expectError(await failure(client.acquire('', lease.leaseId)), grpc.status.INVALID_ARGUMENT, /^lock name is empty; accepted: 1 to 256 bytes of printable UTF-8/);
      expectError(await failure(client.acquire('x'.repeat(257), lease.leaseId)), grpc.status.INVALID_ARGUMENT, /is 257 bytes of UTF-8; accepted: 1 to 256 bytes/);
      expectError(await failure(client.acquire('é'.repeat(129), lease.leaseId)), grpc.status.INVALID_ARGUMENT, /is 258 bytes of UTF-8; accepted: 1 to 256 bytes/);
      expectError(await failure(client.acquire('bad\nname', lease.leaseId)), grpc.status.INVALID_ARGUMENT, /contains control character U\+000A at position 3/);
      expectError(await failure(client.get('')), grpc.status.INVALID_ARGUMENT, /lock name is empty/);
      expectError(await failure(client.release('', lease.leaseId, 1)), grpc.status.INVALID_ARGUMENT, /lock name is empty/);
      expectError(await failure(client.grant(100)), grpc.status.INVALID_ARGUMENT, /^ttl_ms 100 is out of range; accepted: 500 to 3600000 ms$/);
      expectError(await failure(client.grant(499)), grpc.status.INVALID_ARGUMENT, /ttl_ms 499 is out of range; accepted: 500 to 3600000 ms/);
      expectError(await failure(client.grant(3_600_001)), grpc.status.INVALID_ARGUMENT, /ttl_ms 3600001 is out of range; accepted: 500 to 3600000 ms/);
      expectError(await failure(client.grant(-5)), grpc.status.INVALID_ARGUMENT, /ttl_ms -5 is out of range/);
      expectError(await failure(client.acquire('a', 0)), grpc.status.INVALID_ARGUMENT, /lease_id is missing \(0\); accepted: a lease id, 1 to 9007199254740991/);
      expectError(await failure(client.acquire('a', '9007199254740992')), grpc.status.INVALID_ARGUMENT, /lease_id 9007199254740992 is out of range/);
      expectError(await failure(client.acquire('a', lease.leaseId, { waitMs: -1 })), grpc.status.INVALID_ARGUMENT, /wait_ms -1 is negative; accepted: 0 \(try once\) to 3600000 ms/);
      expectError(await failure(client.release('a', lease.leaseId, 0)), grpc.status.INVALID_ARGUMENT, /token is missing/);
      expectError(await failure(client.timeToLive(0)), grpc.status.INVALID_ARGUMENT, /lease_id is missing/);
    }
    // Bad input never reaches the log: the leader's commit index did not move.
    const after = await c.status(leader);
    expect(after.term).toBe(before.term);
    expect(after.commitIndex).toBe(before.commitIndex);
  });

  it('an unknown lease is NOT_FOUND', async () => {
    const unknown = '4242424242';
    for (const client of [api, viaFollower]) {
      expectError(await failure(client.acquire('a', unknown)), grpc.status.NOT_FOUND, /^lease 4242424242 not found: it expired, was revoked or never existed; grant a new lease$/);
      expectError(await failure(client.timeToLive(unknown)), grpc.status.NOT_FOUND, /lease 4242424242 not found/);
      expectError(await failure(client.revoke(unknown)), grpc.status.NOT_FOUND, /lease 4242424242 not found/);
      expectError(await failure(client.release('a', unknown, 7)), grpc.status.NOT_FOUND, /lease 4242424242 not found/);
    }
    const ka = api.keepAlive(unknown, 100);
    await ka.done;
    expect(ka.lost).toBe(true);
  });

  it('release by a non-holder, a stale token and a try-lock on a held lock are FAILED_PRECONDITION', async () => {
    const a = await api.grant(60_000);
    const b = await api.grant(60_000);
    const held = await api.acquire('contended', a.leaseId);
    const holders = [{ leaseId: Number(a.leaseId), token: Number(held.token), mode: 'exclusive' }];
    for (const client of [api, viaFollower]) {
      const tryLock = await failure(client.acquire('contended', b.leaseId));
      expectError(tryLock, grpc.status.FAILED_PRECONDITION, new RegExp(`^lock "contended" is held by lease ${a.leaseId} \\(exclusive, token ${held.token}\\); an exclusive try-lock needs it free`));
      expect(JSON.parse(tryLock.meta(HOLDERS_METADATA) ?? 'null')).toEqual(holders);
      const shared = await failure(client.acquire('contended', b.leaseId, { mode: 'SHARED' }));
      expectError(shared, grpc.status.FAILED_PRECONDITION, /is held by .*a shared try-lock needs it free or shared/);

      const notHolder = await failure(client.release('contended', b.leaseId, held.token));
      expectError(notHolder, grpc.status.FAILED_PRECONDITION, new RegExp(`^lease ${b.leaseId} does not hold lock "contended" \\(held by lease ${a.leaseId}.*\\); only a current holder can release it`));
      expect(JSON.parse(notHolder.meta(HOLDERS_METADATA) ?? 'null')).toEqual(holders);
      const free = await failure(client.release('never-held', b.leaseId, 5));
      expectError(free, grpc.status.FAILED_PRECONDITION, /does not hold lock "never-held" \(it is free\)/);

      const stale = await failure(client.release('contended', a.leaseId, Number(held.token) + 1));
      expectError(stale, grpc.status.FAILED_PRECONDITION, new RegExp(`token ${Number(held.token) + 1} does not match lock "contended": lease ${a.leaseId} holds it with token ${held.token}; release with the current token`));
      const mode = await failure(client.acquire('contended', a.leaseId, { mode: 'SHARED' }));
      expectError(mode, grpc.status.FAILED_PRECONDITION, /already holding|mode changes are not supported/);
    }
    // None of that changed the lock.
    expect(await api.get('contended')).toMatchObject({ holders: [{ leaseId: a.leaseId, token: held.token }], waiters: [] });
  });

  it('a wait that runs out is DEADLINE_EXCEEDED and is withdrawn', async () => {
    const a = await api.grant(60_000);
    const b = await api.grant(60_000);
    await api.acquire('waited', a.leaseId);
    const timedOut = await failure(viaFollower.acquire('waited', b.leaseId, { waitMs: 600 }));
    expectError(timedOut, grpc.status.DEADLINE_EXCEEDED, new RegExp(`^lock "waited" was not granted to lease ${b.leaseId} within wait_ms 600; the wait was withdrawn`));
    expect((await api.get('waited')).waiters).toEqual([]);
  });
});

/** startExpectingFailure starts a member that should refuse to start: it resolves with its exit, or null once it serves instead. */
async function startExpectingFailure(c: Cluster, id: string, timeoutMs = 30_000): Promise<{ exit: Exit | null; output: string }> {
  c.spawn(id, { expectExit: true });
  const exited = c.exitOf(id, timeoutMs).then((e) => e, () => null);
  let serving = false;
  const exit = await Promise.race([
    exited,
    pollUntil(async () => {
      try {
        await c.status(id, 300);
        serving = true;
        return true;
      } catch {
        return null;
      }
    }, timeoutMs, 100).then(() => null),
  ]);
  const e = serving ? null : (exit ?? (await exited));
  return { exit: e, output: c.logs(id, { latestStart: true }) };
}

/** restoredFrom reads what a member said it restored from its data dir at its latest start. */
function restoredFrom(c: Cluster, id: string): string {
  const line = c.logs(id, { latestStart: true }).split('\n').find((l) => l.includes('node started from its data dir'));
  if (line === undefined) return 'nothing logged';
  const j = JSON.parse(line) as { term: number; commit: number; snapshot: number; entries: number };
  return `term ${j.term}, commit ${j.commit}, snapshot ${j.snapshot}, ${j.entries} entries`;
}

function dataFiles(dir: string, suffix: string): string[] {
  return readdirSync(dir).filter((f) => f.endsWith(suffix) && /^\d+\.(ldb|log)$/.test(f)).map((f) => join(dir, f));
}

/** someLoad writes a few dozen entries through the cluster and waits until `id` has them all. */
let loads = 0;
async function someLoad(c: Cluster, id: string, locks = 20): Promise<void> {
  const api = c.client();
  const lease = await api.grant(120_000);
  const batch = ++loads;
  for (let i = 0; i < locks; i++) await api.acquire(`load-${batch}-${i}`, lease.leaseId);
  await c.waitCaughtUp(id);
}

describe('a member refuses to start from a damaged or foreign data dir, with a clear error', () => {
  it('a corrupt LevelDB table (.ldb): exits non-zero naming the corrupt record and the data dir', async () => {
    const c = await startCluster({ nodes: 3 });
    const victim = c.ids.find((id) => id !== 'n1') as string;
    await someLoad(c, victim);
    // A graceful stop leaves the data in LevelDB's log; the next open turns it into a table.
    await c.stopNode(victim);
    await c.start(victim);
    await someLoad(c, victim, 5);
    expect((await c.stopNode(victim)).code).toBe(0);

    // Flip a byte inside the identity record (its cluster id is stored verbatim in the table).
    const dir = c.spec(victim).dataDir;
    const tables = dataFiles(dir, '.ldb');
    const target = tables.find((f) => readFileSync(f).includes('raftlock-it'));
    if (target === undefined) throw new Error(`no .ldb table in ${dir} holds the identity record; files: ${readdirSync(dir).join(' ')}`);
    const bytes = readFileSync(target);
    bytes[bytes.indexOf('raftlock-it') + 4] ^= 0x55;
    writeFileSync(target, bytes);

    const { exit, output } = await startExpectingFailure(c, victim);
    expect(exit, `${victim} started from a corrupt table; it restored ${restoredFrom(c, victim)}`).not.toBeNull();
    expect(exit?.code).not.toBe(0);
    expect(output).toMatch(new RegExp(`corrupt .* in data dir ${escape(dir)}: expected .*restore the data dir from a healthy member or from a backup`));
  }, 60_000);

  it('a flipped byte in LevelDB\'s write-ahead log (.log): exits non-zero instead of starting from what precedes it', async () => {
    const c = await startCluster({ nodes: 3 });
    const victim = c.ids.find((id) => id !== 'n1') as string;
    await someLoad(c, victim, 40);
    const before = await c.status(victim);
    // SIGKILL: everything acknowledged is in the synced write-ahead log, nothing in tables yet.
    await c.kill(victim);
    const dir = c.spec(victim).dataDir;
    const logs = dataFiles(dir, '.log').filter((f) => readFileSync(f).length > 0);
    expect(logs.length, `files: ${readdirSync(dir).join(' ')}`).toBe(1);
    const target = logs[0] as string;
    const bytes = readFileSync(target);
    const at = Math.floor(bytes.length / 2);
    bytes[at] ^= 0x55;
    writeFileSync(target, bytes);

    const { exit, output } = await startExpectingFailure(c, victim);
    expect(
      exit,
      `${victim} started from a data dir whose write-ahead log has a flipped byte at offset ${at} of ${bytes.length}: ` +
        `it restored ${restoredFrom(c, victim)}, silently dropping what follows the flipped byte, although before the kill it had ` +
        `persisted, acknowledged and applied up to index ${before.appliedIndex} (term ${before.term}, commit ${before.commitIndex})`,
    ).not.toBeNull();
    expect(exit?.code).not.toBe(0);
    expect(output).toMatch(/corrupt/i);
    expect(output).toContain(dir);
  }, 60_000);

  it("another member's data dir: exits non-zero saying whose it is", async () => {
    const c = await startCluster({ nodes: 3 });
    const [owner, intruder] = ['n1', 'n3'];
    await c.stopNode(owner);
    await c.stopNode(intruder);
    const config = structuredClone(c.config) as { nodes: Array<Record<string, string>> };
    (config.nodes[2] as Record<string, string>).dataDir = c.spec(owner).dataDir;
    c.writeConfig(config);

    const { exit, output } = await startExpectingFailure(c, intruder);
    expect(exit).not.toBeNull();
    expect(exit?.code).not.toBe(0);
    expect(output).toContain(
      `data dir ${c.spec(owner).dataDir} belongs to another node: it holds node "${owner}" of cluster "raftlock-it", but this process was started as node "${intruder}"`,
    );

    // While the owner runs, the dir is locked: that is named too.
    await c.start(owner);
    const locked = await startExpectingFailure(c, intruder);
    expect(locked.exit?.code).not.toBe(0);
    expect(locked.output).toMatch(/is locked: is another raftlock process .* using this data dir\?/);
  }, 60_000);

  it('start-up storage errors are reported like config errors: one line, no stack trace', async () => {
    const c = await startCluster({ nodes: 3 });
    await c.stopNode('n3');
    const config = structuredClone(c.config) as { nodes: Array<Record<string, string>> };
    (config.nodes[2] as Record<string, string>).dataDir = c.spec('n2').dataDir;
    c.writeConfig(config);
    await c.stopNode('n2');

    const { exit, output } = await startExpectingFailure(c, 'n3');
    expect(exit?.code).not.toBe(0);
    // src/cli/main.ts: "Mistakes the user can fix end in a one-line error and a non-zero exit, never a stack trace."
    const problem = output.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('{'));
    expect(problem, output).toEqual([expect.stringMatching(/^raftlock(?: node n3)?: .*belongs to another node.*Point this node at its own data dir/)]);
  }, 60_000);

  it('a config error (a port used twice): exits non-zero with the problem and what is accepted', async () => {
    const c = await startCluster({ nodes: 3 });
    await c.stopNode('n3');
    const config = structuredClone(c.config) as { nodes: Array<Record<string, string>> };
    const n3 = config.nodes[2] as Record<string, string>;
    n3.peerAddress = c.spec('n1').clientAddress;
    c.writeConfig(config);

    const { exit, output } = await startExpectingFailure(c, 'n3');
    expect(exit?.signal).toBeNull();
    expect(exit?.code).not.toBe(0);
    expect(output.trim()).toMatch(new RegExp(`^raftlock: invalid cluster config ${escape(c.configPath)}:`));
    expect(output).toContain(`nodes[2].peerAddress ${c.spec('n1').clientAddress} is already used by n1.clientAddress; every listener needs its own port`);
    expect(output).not.toMatch(/^\s+at /m);
    // The running members were not disturbed.
    await eventually('a leader among the others', async () => c.leader({ timeoutMs: 10_000 }));
  }, 60_000);
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

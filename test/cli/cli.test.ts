import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/errors.js';
import { cleanEnv, freePorts, killStrays, runCli, startCli, startRealCluster, type CliResult, type CliRun, type RealCluster } from './realCluster.js';

/**
 * The `raftlock` command against a real 3-node cluster: every run is a child
 * process (`node scripts/raftlock.mjs ...`), as a user or a script would run it.
 */

let c: RealCluster;

beforeAll(async () => {
  c = await startRealCluster(3);
}, 60_000);

afterAll(async () => {
  killStrays(c?.nodes.map((n) => n.proc) ?? []);
  await c?.destroy();
}, 30_000);

/** raftlock runs the CLI with RAFTLOCK_ENDPOINTS pointing at the test cluster. */
function raftlock(args: readonly string[], extraEnv: Record<string, string> = {}): Promise<CliResult> {
  return runCli(args, { env: { ...c.env, ...extraEnv } });
}

function json<T = Record<string, unknown>>(r: CliResult): T {
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as T;
}

/** oneLineError: a failed run printed exactly one line on stderr, prefixed `raftlock: `, and no stack trace. */
function oneLineError(r: CliResult, code: number, pattern: RegExp): void {
  expect(r.code, `stdout: ${r.stdout}\nstderr: ${r.stderr}`).toBe(code);
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^raftlock: /);
  expect(lines[0]).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

/** waitForOutput waits until a running CLI printed `text` on stdout (or exited). */
async function waitForOutput(run: CliRun, text: string, timeoutMs = 15_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!run.stdout().includes(text)) {
    if (run.proc.exitCode !== null || run.proc.signalCode !== null) throw new Error(`exited before printing ${JSON.stringify(text)}: ${JSON.stringify(await run.done)}`);
    if (performance.now() > deadline) throw new Error(`no ${JSON.stringify(text)} within ${timeoutMs} ms; stdout so far: ${run.stdout()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('raftlock lock', () => {
  it('runs the command with the token, lock and lease in its environment and exits with its code', async () => {
    const r = await raftlock(['lock', 'cli-env', '--', 'sh', '-c', 'echo "$RAFTLOCK_TOKEN $RAFTLOCK_LOCK $RAFTLOCK_LEASE"']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const [token, lock, lease] = r.stdout.trim().split(' ');
    expect(token).toMatch(/^[1-9]\d*$/);
    expect(lock).toBe('cli-env');
    expect(lease).toMatch(/^[1-9]\d*$/);

    // The child's own exit status is passed through; the lock was released after it.
    const failed = await raftlock(['lock', 'cli-env', '--', 'sh', '-c', 'echo "$RAFTLOCK_TOKEN"; exit 7']);
    expect(failed.code).toBe(7);
    expect(BigInt(failed.stdout.trim())).toBeGreaterThan(BigInt(token as string));
    const after = json<{ holders: unknown[] }>(await raftlock(['get', 'cli-env', '--json']));
    expect(after.holders).toEqual([]);
  });

  it('a held lock: --wait runs out with the "not acquired" code; get shows the holder; the holder gets forwarded signals and releases', async () => {
    const holder = startCli(['lock', 'cli-held', '--', 'sh', '-c', 'echo "ready $RAFTLOCK_TOKEN $RAFTLOCK_LEASE"; exec sleep 60'], { env: c.env });
    await waitForOutput(holder, 'ready');

    const [waited, tried, got, gotJson] = await Promise.all([
      raftlock(['lock', '--wait', '200ms', 'cli-held', '--', 'echo', 'never']),
      raftlock(['lock', '--wait', '0', 'cli-held', '--', 'echo', 'never']),
      raftlock(['get', 'cli-held']),
      raftlock(['get', 'cli-held', '--json']),
    ]);
    oneLineError(waited, EXIT.notAcquired, /^raftlock: lock cli-held not acquired within 200ms: held by lease \d+ \(token \d+, exclusive\)$/);
    expect(waited.stdout).not.toContain('never');
    oneLineError(tried, EXIT.notAcquired, /not acquired on a single try \(--wait 0\): held by lease \d+/);
    expect(tried.stdout).not.toContain('never');

    const view = json<{ name: string; holders: { leaseId: string; token: string; mode: string }[]; waiters: unknown[] }>(gotJson);
    expect(view.name).toBe('cli-held');
    expect(view.holders).toHaveLength(1);
    const h = view.holders[0] as { leaseId: string; token: string; mode: string };
    expect(h.mode).toBe('exclusive');
    expect(h.token).toMatch(/^\d+$/);
    expect(got.code).toBe(0);
    expect(got.stdout).toContain('lock cli-held is held');
    expect(got.stdout).toMatch(new RegExp(`holder\\s+${h.leaseId}\\s+exclusive\\s+${h.token}`));

    // SIGTERM to raftlock goes to the command (sleep dies of it: 128+15), then the lock is released.
    holder.proc.kill('SIGTERM');
    const ended = await holder.done;
    expect(ended.code, ended.stderr).toBe(128 + 15);
    expect(json<{ holders: unknown[] }>(await raftlock(['get', 'cli-held', '--json'])).holders).toEqual([]);
  });
});

describe('raftlock lease', () => {
  it('grant, list, ttl, revoke (text and --json)', async () => {
    const granted = json<{ leaseId: string; ttlMs: number }>(await raftlock(['lease', 'grant', '30s', '--json']));
    expect(granted.leaseId).toMatch(/^[1-9]\d*$/);
    expect(granted.ttlMs).toBe(30_000);
    const id = granted.leaseId;

    const [text, list, listText, ttl, ttlText] = await Promise.all([
      raftlock(['lease', 'grant', '1m30s', '--endpoints', c.endpoints]),
      raftlock(['lease', 'list', '--json']),
      raftlock(['lease', 'list']),
      raftlock(['lease', 'ttl', id, '--json']),
      raftlock(['lease', 'ttl', id]),
    ]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^lease [1-9]\d* granted with TTL 1m30s\n$/);
    expect(json<{ leases: { leaseId: string; ttlMs: number }[] }>(list).leases).toContainEqual({ leaseId: id, ttlMs: 30_000 });
    expect(listText.stdout).toMatch(/^LEASE\s+TTL\n/);
    expect(listText.stdout).toMatch(new RegExp(`^${id}\\s+30s$`, 'm'));
    const t = json<{ leaseId: string; ttlMs: number; remainingMs: number; locks: string[] }>(ttl);
    expect(t).toMatchObject({ leaseId: id, ttlMs: 30_000, locks: [] });
    expect(t.remainingMs).toBeGreaterThan(0);
    expect(t.remainingMs).toBeLessThanOrEqual(30_000);
    expect(ttlText.stdout).toMatch(new RegExp(`^lease ${id}: TTL 30s, remaining [\\d.]+m?s, holds no locks\\n$`));

    const revoked = await raftlock(['lease', 'revoke', id]);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout).toBe(`lease ${id} revoked\n`);
    const [gone, goneRevoke] = await Promise.all([raftlock(['lease', 'ttl', id]), raftlock(['lease', 'revoke', id, '--json'])]);
    oneLineError(gone, EXIT.failed, new RegExp(`lease ${id} not found`));
    oneLineError(goneRevoke, EXIT.failed, new RegExp(`lease ${id} not found`));
  });

  it('keep-alive renews a lease past its TTL; revoking the lease ends it with an error, SIGINT with exit 0', async () => {
    const [a, b] = (await Promise.all([raftlock(['lease', 'grant', '6s', '--json']), raftlock(['lease', 'grant', '6s', '--json'])])).map((r) => json<{ leaseId: string }>(r).leaseId) as [string, string];
    const keeper = startCli(['lease', 'keep-alive', a], { env: c.env });
    const interrupted = startCli(['lease', 'keep-alive', b], { env: c.env });
    await Promise.all([waitForOutput(keeper, `keeping lease ${a} alive (TTL 6s)`), waitForOutput(interrupted, `keeping lease ${b} alive`)]);

    // Interrupted: exit 0, and the lease is left to expire.
    interrupted.proc.kill('SIGINT');
    const stopped = await interrupted.done;
    expect(stopped.code, `signal=${stopped.signal} stdout=${JSON.stringify(stopped.stdout)} stderr=${JSON.stringify(stopped.stderr)}`).toBe(0);
    expect(stopped.stderr).toBe(`raftlock: stopped (SIGINT); lease ${b} expires within 6s unless renewed\n`);

    await new Promise((r) => setTimeout(r, 6_500)); // longer than the TTL
    const t = json<{ remainingMs: number }>(await raftlock(['lease', 'ttl', a, '--json']));
    expect(t.remainingMs).toBeGreaterThan(0);
    expect((await raftlock(['lease', 'revoke', a])).code).toBe(0);
    oneLineError(await keeper.done, EXIT.failed, new RegExp(`stopped keeping lease ${a} alive: .*no longer exists`));
  });
});

describe('raftlock status', () => {
  it('shows every member as a table, and as JSON', async () => {
    const [text, asJson] = await Promise.all([raftlock(['status']), raftlock(['status', '--json'])]);
    expect(text.code, text.stderr).toBe(0);
    const lines = text.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^3 of 3 members up, leader n[123] \(term \d+\)$/);
    expect(lines[1]).toMatch(/^ID\s+ENDPOINT\s+STATE\s+ROLE\s+TERM\s+LEADER\s+COMMIT\s+APPLIED\s+SNAPSHOT$/);
    expect(lines.slice(2)).toHaveLength(3);
    for (const [i, n] of c.nodes.entries()) {
      expect(lines[2 + i]).toMatch(new RegExp(`^${n.id}\\s+${n.clientAddress}\\s+up\\s+(leader|follower)\\s+\\d+\\s+n\\d\\s+\\d+\\s+\\d+\\s+\\d+$`));
    }

    const view = json<{ leader: string; term: number; up: number; members: Record<string, unknown>[] }>(asJson);
    expect(view.up).toBe(3);
    expect(view.leader).toMatch(/^n[123]$/);
    expect(view.members.map((m) => m.id)).toEqual(['n1', 'n2', 'n3']);
    for (const m of view.members) {
      expect(m).toMatchObject({ up: true, leader: view.leader, error: null });
      expect(m.role === 'leader' || m.role === 'follower').toBe(true);
      expect(typeof m.commitIndex).toBe('number');
      expect(typeof m.appliedIndex).toBe('number');
    }
    expect(view.members.filter((m) => m.role === 'leader').map((m) => m.id)).toEqual([view.leader]);
  });

  it('shows a member that does not answer as down', async () => {
    // Port 1 is never ours: a port freed by binding 0 could be taken by a cluster another test file starts.
    const dead = 1;
    const r = await raftlock(['status', '--endpoints', `${c.nodes[0]?.clientAddress},127.0.0.1:${dead}`]);
    expect(r.code, r.stderr).toBe(0);
    // Whether port 1 refuses at once or drops the connect depends on the machine's firewall; both are "down" with the reason.
    expect(r.stdout).toMatch(
      new RegExp(`^-\\s+127\\.0\\.0\\.1:${dead}\\s+down\\s+-.*(connection refused|did not answer in time\\))$`, 'm'),
    );
    // The members the answering node names are asked too.
    expect(r.stdout).toMatch(/^3 of 4 members up/);
  });
});

describe('mistakes and failures: one line, a documented exit code, no stack trace', () => {
  it('bad input', async () => {
    const runs = await Promise.all([
      raftlock(['lock', 'x', '--ttl', 'abc', '--', 'true']),
      raftlock(['lock', 'x', '--wait', '5 minutes', '--', 'true']),
      raftlock(['lock', 'x', '--ttl', '100ms', '--', 'true']),
      raftlock(['lock', 'x']),
      raftlock(['lock', 'x', '--bogus', '--', 'true']),
      raftlock(['lease', 'ttl', 'abc']),
      raftlock(['lease', 'grant', '10x']),
      raftlock(['get', 'x', '--endpoints', 'localhost']),
      raftlock(['get', 'x'], { RAFTLOCK_ENDPOINTS: 'http://127.0.0.1:1' }),
      raftlock(['get', 'a'.repeat(300)]),
      raftlock(['lock', 'cli-nocmd', '--', '/nonexistent/raftlock-cli-test']),
    ]);
    const [ttl, wait, shortTtl, noCommand, unknownFlag, leaseId, grant, endpoint, envEndpoint, longName, notFound] = runs as CliResult[];
    const accepted = 'expected a duration such as 500ms, 10s, 2m or 1m30s, or plain milliseconds such as 1500';
    oneLineError(ttl, EXIT.usage, new RegExp(`^raftlock: invalid --ttl "abc": ${accepted}$`));
    oneLineError(wait, EXIT.usage, /^raftlock: invalid --wait "5 minutes": expected a duration/);
    oneLineError(shortTtl, EXIT.usage, /^raftlock: --ttl "100ms" refused by the cluster: .*400/);
    oneLineError(noCommand, EXIT.usage, /missing required argument 'command'.*raftlock lock --help/);
    oneLineError(unknownFlag, EXIT.usage, /unknown option '--bogus'/);
    oneLineError(leaseId, EXIT.usage, /^raftlock: invalid lease id "abc": expected a decimal number/);
    oneLineError(grant, EXIT.usage, /^raftlock: invalid TTL "10x": expected a duration/);
    oneLineError(endpoint, EXIT.usage, /^raftlock: invalid endpoint "localhost" in --endpoints: no port; expected host:port/);
    oneLineError(envEndpoint, EXIT.usage, /^raftlock: invalid endpoint "http:\/\/127\.0\.0\.1:1" in \$RAFTLOCK_ENDPOINTS: drop the scheme/);
    oneLineError(longName, EXIT.usage, /300 bytes.*accepted: 1 to 256 bytes/);
    oneLineError(notFound, EXIT.notFound, /^raftlock: command not found: \/nonexistent\/raftlock-cli-test$/);
    for (const r of runs) expect(r.stdout).toBe('');
  });

  it('an unreachable cluster: the "unavailable" code', async () => {
    const ports = await freePorts(2);
    const nowhere = ports.map((p) => `127.0.0.1:${p}`).join(',');
    const env = cleanEnv();
    const [lock, get, status, statusJson] = await Promise.all([
      runCli(['lock', 'x', '--endpoints', nowhere, '--timeout', '300ms', '--', 'echo', 'never'], { env }),
      runCli(['get', 'x', '--timeout', '300ms'], { env: cleanEnv({ RAFTLOCK_ENDPOINTS: nowhere }) }),
      runCli(['status', '--endpoints', nowhere, '--timeout', '300ms'], { env }),
      runCli(['status', '--endpoints', nowhere, '--timeout', '300ms', '--json'], { env }),
    ]);
    oneLineError(lock, EXIT.unavailable, new RegExp(`^raftlock: cluster unavailable at ${nowhere}: `));
    expect(lock.stdout).toBe('');
    oneLineError(get, EXIT.unavailable, /cluster unavailable at .* \(from \$RAFTLOCK_ENDPOINTS\)/);
    oneLineError(status, EXIT.unavailable, /no member answered within 300ms/);
    expect(statusJson.code).toBe(EXIT.unavailable);
    expect(JSON.parse(statusJson.stdout)).toMatchObject({ up: 0, leader: null });
  });

  it('--help on every command has examples', async () => {
    const helps = await Promise.all(
      [['lock'], ['lease'], ['lease', 'grant'], ['lease', 'keep-alive'], ['lease', 'revoke'], ['lease', 'ttl'], ['lease', 'list'], ['get'], ['status'], ['snapshot'], ['snapshot', 'save'], ['snapshot', 'restore'], ['recover'], []].map((a) =>
        runCli([...a, '--help']),
      ),
    );
    for (const h of helps) {
      expect(h.code).toBe(0);
      expect(h.stdout).toMatch(/Examples:\n\s+(raftlock|npm)/);
    }
    expect(helps[0]?.stdout).toContain(`${EXIT.notAcquired}   the lock was not acquired within --wait`);
    expect(helps[0]?.stdout).toContain(`${EXIT.lockLost}   the lock was lost while the command ran`);
  });
});

// Last: it pauses the whole cluster.
describe('losing the lock', () => {
  it('stops the command when the lease is lost: SIGTERM, then SIGKILL after --grace; exits with the "lock lost" code', async () => {
    const marks = c.dir;
    const polite = startCli(
      ['lock', 'cli-lost-1', '--ttl', '1s', '--grace', '5s', '--', 'sh', '-c', `trap 'echo TERM > ${join(marks, 'polite')}; exit 0' TERM; echo started; while :; do sleep 0.05; done`],
      { env: c.env },
    );
    const stubborn = startCli(
      ['lock', 'cli-lost-2', '--ttl', '1s', '--grace', '300ms', '--', 'sh', '-c', `trap '' TERM; echo $$ > ${join(marks, 'stubborn')}; echo started; while :; do sleep 0.05; done`],
      { env: c.env },
    );
    await Promise.all([waitForOutput(polite, 'started'), waitForOutput(stubborn, 'started')]);
    const stubbornPid = Number(readFileSync(join(marks, 'stubborn'), 'utf8'));
    c.pauseAll(); // every keepalive now goes unanswered
    try {
      const [p, s] = await Promise.all([polite.done, stubborn.done]);
      expect(p.code, p.stderr).toBe(EXIT.lockLost);
      expect(readFileSync(join(marks, 'polite'), 'utf8').trim()).toBe('TERM');
      expect(p.stderr).toMatch(/^raftlock: lock cli-lost-1 lost \(lease \d+ is lost: .*\): stopping the command \(SIGTERM, then SIGKILL after 5s\)$/m);
      expect(p.stderr).toMatch(/the command was stopped because lock cli-lost-1 was lost \(it exited with 0\)/);
      expect(p.stderr).not.toMatch(/\n\s+at /);

      expect(s.code, s.stderr).toBe(EXIT.lockLost);
      expect(s.stderr).toMatch(/did not exit within 300ms of SIGTERM: sending SIGKILL/);
      expect(s.stderr).toMatch(/it ended by SIGKILL/);
      expect(existsSync(join(marks, 'polite'))).toBe(true);
      expect(() => process.kill(stubbornPid, 0)).toThrow(/ESRCH/);
    } finally {
      c.resumeAll();
    }
  });
});

describe('raftlock member and leader', () => {
  it('lists the members, refuses bad changes in one line, and transfers leadership', async () => {
    const listed = json<{ leader: string; members: { id: string; role: string }[] }>(await raftlock(['member', 'list', '--json']));
    expect(listed.members.map((m) => [m.id, m.role])).toEqual([['n1', 'voter'], ['n2', 'voter'], ['n3', 'voter']]);
    const table = await raftlock(['member', 'list']);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^3 voters, 0 learners, leader n\d/);
    expect(table.stdout).toMatch(/ID\s+ROLE\s+CLIENT\s+PEER\s+MATCH\s+BEHIND/);

    oneLineError(await raftlock(['member', 'promote', 'n9']), EXIT.failed, /n9 is not a member \(unknown id\)/);
    oneLineError(await raftlock(['member', 'promote', 'n2']), EXIT.failed, /n2 is not a learner/);
    oneLineError(await raftlock(['member', 'add', 'n1', '--client-address', '127.0.0.1:1', '--peer-address', '127.0.0.1:2']), EXIT.failed, /n1 is already a member/);
    oneLineError(await raftlock(['member', 'add', 'N 9', '--client-address', '127.0.0.1:1', '--peer-address', '127.0.0.1:2']), EXIT.usage, /member id "N 9" is not valid/);
    oneLineError(await raftlock(['member', 'add', 'n9', '--client-address', 'nowhere', '--peer-address', '127.0.0.1:2']), EXIT.usage, /client_address "nowhere" is not valid/);

    const target = ['n1', 'n2', 'n3'].find((id) => id !== listed.leader) as string;
    const moved = await raftlock(['leader', 'transfer', target]);
    expect(moved.code, moved.stderr).toBe(0);
    expect(moved.stdout.trim()).toBe(`${target} is the leader now`);
    expect(json<{ leader: string }>(await raftlock(['member', 'list', '--json'])).leader).toBe(target);
  });
});

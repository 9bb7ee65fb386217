import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts } from '../../support/freePorts.js';

/**
 * scripts/cluster.ts end to end: real member processes on free loopback ports,
 * with a temp copy of cluster.example.json and a temp data dir, driven only
 * through the script's command line.
 */

const ROOT = resolve(import.meta.dirname, '..', '..', '..');
const IDS = ['n1', 'n2', 'n3'];

interface Member {
  id: string;
  pid: number | null;
  state: 'up' | 'down' | 'paused' | 'no answer';
  up: boolean;
  role: string | null;
  leader: string | null;
}
interface View {
  leader: string | null;
  members: Member[];
}
interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

let dir = '';
let configPath = '';
let pidsPath = '';
/** Every member PID the script ever recorded: afterAll kills whichever is still alive. */
const seenPids = new Set<number>();


function cluster(args: string[], timeoutMs = 30_000): Promise<Result> {
  return new Promise((done, fail) => {
    const child = spawn('npx', ['tsx', 'scripts/cluster.ts', ...args, '--config', configPath], {
      cwd: ROOT,
      env: { ...process.env, npm_config_loglevel: 'error' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group, so a timeout kills npx, tsx and the script together
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => {
      try {
        process.kill(-(child.pid as number), 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
      fail(new Error(`cluster ${args.join(' ')} took over ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on('error', fail);
    child.on('close', (code) => {
      clearTimeout(timer);
      notePids();
      done({ code, stdout, stderr });
    });
  });
}

function recordedPids(): Record<string, number> {
  if (!existsSync(pidsPath)) return {};
  const file = JSON.parse(readFileSync(pidsPath, 'utf8')) as { nodes: Record<string, { pid: number }> };
  return Object.fromEntries(Object.entries(file.nodes).map(([id, r]) => [id, r.pid]));
}

function notePids(): void {
  for (const pid of Object.values(recordedPids())) seenPids.add(pid);
}

/** alive: the PID runs (a zombie left for a non-reaping init counts as gone) and is one of our members. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  if (process.platform !== 'linux') return true;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] !== 'Z' && cmdline.includes(configPath);
  } catch {
    return false;
  }
}

function procState(pid: number): string | undefined {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat[stat.lastIndexOf(')') + 2];
}

async function status(): Promise<View> {
  const r = await cluster(['status', '--json']);
  return JSON.parse(r.stdout) as View;
}

/** until polls `status --json` until `ok` holds (bounded), returning the last view. */
async function until(ok: (v: View) => boolean, what: string, timeoutMs = 12_000): Promise<View> {
  const deadline = Date.now() + timeoutMs;
  let v = await status();
  while (!ok(v)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last status: ${JSON.stringify(v, null, 2)}`);
    await new Promise((r) => setTimeout(r, 300));
    v = await status();
  }
  return v;
}

const member = (v: View, id: string): Member => v.members.find((m) => m.id === id) as Member;
const noStack = (s: string): void => expect(s).not.toMatch(/\n\s+at /);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'raftlock-cluster-'));
  configPath = join(dir, 'cluster.json');
  pidsPath = join(dir, 'data', 'pids.json');
  const example = JSON.parse(readFileSync(join(ROOT, 'cluster.example.json'), 'utf8')) as { nodes: { id: string }[] };
  const ports = await freePorts(3 * IDS.length);
  const config = {
    ...example,
    clusterId: 'raftlock-script-test',
    dataDir: 'data',
    logLevel: 'info',
    nodes: IDS.map((id, i) => ({
      id, clientAddress: `127.0.0.1:${ports[3 * i]}`, peerAddress: `127.0.0.1:${ports[3 * i + 1]}`, httpAddress: `127.0.0.1:${ports[3 * i + 2]}`,
    })),
  };
  writeFileSync(configPath, JSON.stringify(config, null, 2));
});

afterAll(() => {
  notePids();
  for (const pid of seenPids) {
    if (alive(pid)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

describe('scripts/cluster.ts', { timeout: 60_000 }, () => {
  let leader = '';

  it('start runs every member detached, records PIDs and waits for a leader', async () => {
    const r = await cluster(['start']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/3 of 3 members up, leader n\d/);
    expect(r.stdout).toContain(join(dir, 'data', 'logs'));
    expect(r.stdout).toMatch(/stop: .*stop/);
    // Where the status page and the metrics are, and they answer there.
    const page = /^page: +(http:\/\/127\.0\.0\.1:\d+\/) /m.exec(r.stdout)?.[1];
    expect(page, r.stdout).toBeDefined();
    expect((await fetch(page as string, { signal: AbortSignal.timeout(5_000) })).status).toBe(200);
    const metrics = /^metrics: (.*) {3}\(Prometheus\)$/m.exec(r.stdout)?.[1]?.split(' ') ?? [];
    expect(metrics).toHaveLength(3);
    const scrape = await fetch(metrics[0] as string, { signal: AbortSignal.timeout(5_000) });
    expect(await scrape.text()).toMatch(/^raftlock_term\{/m);
    const pids = recordedPids();
    expect(Object.keys(pids).sort()).toEqual(IDS);
    for (const pid of Object.values(pids)) expect(alive(pid)).toBe(true);
    for (const id of IDS) expect(existsSync(join(dir, 'data', 'logs', `${id}.log`))).toBe(true);
  });

  it('status shows exactly one leader that every member follows', async () => {
    const v = await until((x) => x.leader !== null && x.members.every((m) => m.leader === x.leader), 'one agreed leader');
    expect(v.members.filter((m) => m.role === 'leader')).toHaveLength(1);
    expect(v.members.every((m) => m.state === 'up')).toBe(true);
    leader = v.leader as string;
    const table = await cluster(['status']);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(new RegExp(`^${leader}\\s+leader\\s`, 'm'));
  });

  it('start refuses to start members that are still running', async () => {
    const before = recordedPids();
    const r = await cluster(['start']);
    expect(r.code, r.stderr).toBe(0);
    for (const id of IDS) expect(r.stdout).toContain(`${id} is already running (pid ${before[id]})`);
    expect(recordedPids()).toEqual(before);
  });

  it('kill <id> SIGKILLs the leader; status shows it down and a new leader', async () => {
    const pid = recordedPids()[leader] as number;
    const r = await cluster(['kill', leader]);
    expect(r.code, r.stderr).toBe(0);
    expect(alive(pid)).toBe(false);
    const v = await until((x) => x.leader !== null && x.leader !== leader, 'a new leader');
    expect(member(v, leader)).toMatchObject({ state: 'down', up: false, pid: null });
    const table = await cluster(['status']);
    expect(table.stdout).toMatch(new RegExp(`^${leader}\\s.*\\sdown\\s`, 'm'));
  });

  it('restart <id> brings it back with its data and it follows the new leader', async () => {
    const r = await cluster(['restart', leader]);
    expect(r.code, r.stderr).toBe(0);
    const v = await until((x) => member(x, leader).up && member(x, leader).leader === x.leader && x.leader !== null, 'the restarted member to follow');
    expect(member(v, leader).pid).toBe(recordedPids()[leader]);
    leader = v.leader as string;
  });

  it('pause <id> freezes a member (SIGSTOP) and resume <id> thaws it', async () => {
    const follower = IDS.find((id) => id !== leader) as string;
    const pid = recordedPids()[follower] as number;
    const p = await cluster(['pause', follower]);
    expect(p.code, p.stderr).toBe(0);
    if (process.platform === 'linux') expect(procState(pid)).toBe('T');
    expect(member(await status(), follower)).toMatchObject({ state: 'paused', up: false, pid });
    const again = await cluster(['pause', follower]);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain('already paused');
    const r = await cluster(['resume', follower]);
    expect(r.code, r.stderr).toBe(0);
    await until((x) => member(x, follower).up, 'the resumed member to answer');
  });

  it('user mistakes get a one-line error, never a stack trace', async () => {
    const unknown = await cluster(['kill', 'n9']);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr.trim()).toBe('raftlock cluster: unknown node id "n9"; this cluster\'s members are n1, n2, n3');
    const logs = await cluster(['logs', 'n7']);
    expect(logs.code).not.toBe(0);
    noStack(logs.stderr);
    expect(logs.stderr).toContain('n1, n2, n3');
  });

  it('logs <id> prints the member log', async () => {
    const r = await cluster(['logs', IDS[0] as string]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('raftlock node serving');
  });

  it('stop ends every member, clears pids.json and leaves no process alive', async () => {
    const pids = Object.values(recordedPids());
    expect(pids).toHaveLength(3);
    const r = await cluster(['stop']);
    expect(r.code, r.stderr).toBe(0);
    for (const pid of seenPids) expect(alive(pid), `pid ${pid} is still alive`).toBe(false);
    expect(existsSync(pidsPath)).toBe(false);
    const s = await cluster(['status']);
    expect(s.code).not.toBe(0);
    expect(s.stderr.trim()).toMatch(/^raftlock cluster: no cluster running for .*; start one with: /);
    const k = await cluster(['kill', 'n1']);
    expect(k.code).not.toBe(0);
    expect(k.stderr).toContain('no cluster running');
    noStack(k.stderr);
  });
});

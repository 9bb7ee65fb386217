/**
 * scripts/cluster.ts: start, inspect, fault and stop a local raftlock cluster.
 *
 *   npm run cluster -- start [--nodes 3|5] [--config FILE]
 *   npm run cluster -- status [--json]
 *   npm run cluster -- kill|pause|resume|restart <id>
 *   npm run cluster -- logs <id> [-f] [-n LINES]
 *   npm run cluster -- stop
 *
 * Every member runs as a detached `node scripts/raftlock.mjs node --config FILE
 * --id ID` process. Its output goes to <dataDir>/logs/<id>.log and its PID to
 * <dataDir>/pids.json (with the config path and the start time), where
 * <dataDir> is the config's top-level dataDir (data/local for
 * cluster.example.json). Only PIDs recorded there are ever signalled, and only
 * after checking the process is still that member (its command line names
 * raftlock.mjs, this config and the id), so a reused PID is never hit.
 *
 * Without --config or --nodes, `start` uses cluster.example.json; the other
 * commands use whichever of the two example clusters is running (the 3-node
 * one when neither is).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  closeSync,
  existsSync,
  fstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import './quietIpServername.mjs';
import { Command, CommanderError, Option } from 'commander';
import { ConfigError, loadClusterConfig, type ClusterConfig, type NodeSpec } from '../src/node/clusterConfig.js';
import { methodOf, type StatusRequest, type StatusResponse } from '../src/server/apiProto.js';

const ROOT = resolve(import.meta.dirname, '..');
const RAFTLOCK_BIN = join(ROOT, 'scripts', 'raftlock.mjs');
const EXAMPLES: Readonly<Record<'3' | '5', string>> = {
  '3': join(ROOT, 'cluster.example.json'),
  '5': join(ROOT, 'cluster.5nodes.example.json'),
};

/** How long `start` and `restart` wait for a leader. */
const START_TIMEOUT_MS = 15_000;
/** How long `stop` waits for a graceful exit (leadership transfer included) before SIGKILL. */
const STOP_TIMEOUT_MS = 10_000;
/** Deadline of one Cluster.Status call. */
const STATUS_DEADLINE_MS = 1_000;
/** Lines of a member's log shown when it fails to start. */
const LOG_TAIL_LINES = 25;

/** A mistake the user can fix: printed as one line (or a short block), never with a stack trace. */
class UserError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
  }
}

// ---------------------------------------------------------------- target

interface TargetOptions {
  readonly config?: string;
  readonly nodes?: '3' | '5';
}

/** Target is one cluster: its config and where its data, logs and PIDs live. */
interface Target {
  readonly configPath: string;
  readonly config: ClusterConfig;
  /** The config's top-level dataDir, absolute; each member's data is <dataRoot>/<id>. */
  readonly dataRoot: string;
  readonly pidsPath: string;
  readonly logsDir: string;
  /** The flags that name this cluster in a printed hint ('' for the default). */
  readonly flags: string;
}

/** userPath resolves a path the user typed against the directory they typed it in (npm run changes cwd). */
function userPath(p: string): string {
  if (isAbsolute(p)) return p;
  const here = resolve(process.cwd(), p);
  const initCwd = process.env.INIT_CWD;
  if (process.env.npm_lifecycle_event !== undefined && initCwd !== undefined && !existsSync(here)) return resolve(initCwd, p);
  return here;
}

function loadTarget(configPath: string, flags: string): Target {
  if (!existsSync(configPath)) throw new UserError(`config file ${display(configPath)} does not exist; pass --config FILE (see cluster.example.json) or --nodes 3|5`);
  let config: ClusterConfig;
  try {
    config = loadClusterConfig(configPath);
  } catch (err) {
    if (err instanceof ConfigError) throw new UserError(err.message);
    throw err;
  }
  // Mirrors clusterConfig.ts: the top-level dataDir (default "data") resolves against the config's folder.
  const raw = JSON.parse(readFileSync(configPath, 'utf8')) as { dataDir?: unknown };
  const dataRoot = resolve(dirname(configPath), typeof raw.dataDir === 'string' ? raw.dataDir : 'data');
  return { configPath, config, dataRoot, pidsPath: join(dataRoot, 'pids.json'), logsDir: join(dataRoot, 'logs'), flags };
}

/** resolveTarget picks the cluster a command talks to (see the header comment). */
function resolveTarget(opts: TargetOptions, command: string): Target {
  if (opts.config !== undefined && opts.nodes !== undefined) {
    throw new UserError('give either --config FILE or --nodes 3|5 (which picks an example config), not both');
  }
  if (opts.config !== undefined) {
    const path = userPath(opts.config);
    const flags = Object.values(EXAMPLES).includes(path) ? (path === EXAMPLES['3'] ? '' : ' --nodes 5') : ` --config ${opts.config}`;
    return loadTarget(path, flags);
  }
  if (opts.nodes !== undefined) return loadTarget(EXAMPLES[opts.nodes], opts.nodes === '3' ? '' : ' --nodes 5');
  const three = loadTarget(EXAMPLES['3'], '');
  if (command === 'start') return three;
  const five = loadTarget(EXAMPLES['5'], ' --nodes 5');
  const threeRuns = runningMembers(three).length > 0;
  const fiveRuns = runningMembers(five).length > 0;
  if (threeRuns && fiveRuns) {
    throw new UserError(`both example clusters are running; say which one: npm run cluster -- ${command} --nodes 3 (or --nodes 5)`);
  }
  return fiveRuns ? five : three;
}

/** hint is a command line for the user that names this cluster. */
function hint(t: Target, command: string): string {
  return `npm run cluster -- ${command}${t.flags}`;
}

function memberOf(t: Target, id: string): NodeSpec {
  const spec = t.config.nodes.find((n) => n.id === id);
  if (spec === undefined) {
    throw new UserError(`unknown node id ${JSON.stringify(id)}; this cluster's members are ${t.config.nodes.map((n) => n.id).join(', ')}`);
  }
  return spec;
}

// ---------------------------------------------------------------- pids.json

interface PidRecord {
  readonly pid: number;
  readonly startedAt: string;
}

interface PidFile {
  readonly config: string;
  readonly startedAt: string;
  readonly nodes: Record<string, PidRecord>;
}

function readPids(t: Target): PidFile | null {
  if (!existsSync(t.pidsPath)) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(t.pidsPath, 'utf8'));
  } catch {
    throw new UserError(`${display(t.pidsPath)} is not valid JSON; if no member is running, delete it`);
  }
  const p = parsed as Partial<PidFile>;
  if (typeof p !== 'object' || p === null || typeof p.nodes !== 'object' || p.nodes === null) {
    throw new UserError(`${display(t.pidsPath)} is not a pid file written by this script; if no member is running, delete it`);
  }
  const nodes: Record<string, PidRecord> = {};
  for (const [id, rec] of Object.entries(p.nodes)) {
    if (typeof rec?.pid === 'number' && Number.isSafeInteger(rec.pid) && rec.pid > 0) nodes[id] = { pid: rec.pid, startedAt: String(rec.startedAt) };
  }
  return { config: String(p.config), startedAt: String(p.startedAt), nodes };
}

function writePids(t: Target, pids: PidFile): void {
  mkdirSync(t.dataRoot, { recursive: true });
  const tmp = `${t.pidsPath}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(pids, null, 2)}\n`);
  renameSync(tmp, t.pidsPath);
}

function recordPid(t: Target, id: string, pid: number): void {
  const now = new Date().toISOString();
  const pids = readPids(t) ?? { config: t.configPath, startedAt: now, nodes: {} };
  writePids(t, { config: t.configPath, startedAt: pids.startedAt, nodes: { ...pids.nodes, [id]: { pid, startedAt: now } } });
}

function forgetPid(t: Target, id: string): void {
  const pids = readPids(t);
  if (pids === null || pids.nodes[id] === undefined) return;
  const nodes = { ...pids.nodes };
  delete nodes[id];
  if (Object.keys(nodes).length === 0) rmSync(t.pidsPath, { force: true });
  else writePids(t, { ...pids, nodes });
}

// ---------------------------------------------------------------- processes

/** commandLine is a process's argv, or null when there is no such (live) process. */
function commandLine(pid: number): string[] | null {
  if (process.platform === 'linux') {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((a) => a !== '');
    } catch {
      return null;
    }
  }
  const ps = spawnSync('ps', ['-p', String(pid), '-o', 'command='], { encoding: 'utf8' });
  return ps.status === 0 ? ps.stdout.trim().split(/\s+/) : null;
}

/** processState is the one-letter state (R, S, T for stopped, Z for zombie...), or null. */
function processState(pid: number): string | null {
  if (process.platform === 'linux') {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) || null;
    } catch {
      return null;
    }
  }
  const ps = spawnSync('ps', ['-p', String(pid), '-o', 'stat='], { encoding: 'utf8' });
  return ps.status === 0 ? ps.stdout.trim().slice(0, 1) || null : null;
}

/**
 * isOurMember: the PID is alive (not a zombie) and its command line is the
 * member `id` of this config started by this script. A PID that fails this is
 * never signalled: it has exited, or the number now belongs to someone else.
 */
function isOurMember(t: Target, id: string, pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const state = processState(pid);
  if (state === null || state === 'Z' || state === 'X') return false;
  const args = commandLine(pid);
  if (args === null) return false;
  return (
    args.some((a) => a.endsWith('raftlock.mjs')) &&
    args.some((a, i) => a === '--id' && args[i + 1] === id) &&
    args.some((a, i) => a === '--config' && args[i + 1] === t.configPath)
  );
}

interface Running {
  readonly id: string;
  readonly pid: number;
}

/** runningMembers lists the recorded members whose process is still theirs. */
function runningMembers(t: Target): Running[] {
  const pids = readPids(t);
  if (pids === null) return [];
  return t.config.nodes.flatMap((n) => {
    const rec = pids.nodes[n.id];
    return rec !== undefined && isOurMember(t, n.id, rec.pid) ? [{ id: n.id, pid: rec.pid }] : [];
  });
}

function runningPid(t: Target, id: string): number | null {
  const rec = readPids(t)?.nodes[id];
  return rec !== undefined && isOurMember(t, id, rec.pid) ? rec.pid : null;
}

/** requireRunning returns the member's PID or explains why there is none. */
function requireRunning(t: Target, id: string): number {
  memberOf(t, id);
  const pid = runningPid(t, id);
  if (pid !== null) return pid;
  if (runningMembers(t).length === 0) {
    throw new UserError(`no cluster running for ${display(t.configPath)} (nothing alive in ${display(t.pidsPath)}); start one with: ${hint(t, 'start')}`);
  }
  throw new UserError(`${id} is not running; start it again with: ${hint(t, `restart ${id}`)}`);
}

function signal(t: Target, id: string, pid: number, sig: NodeJS.Signals): void {
  if (!isOurMember(t, id, pid)) return;
  try {
    process.kill(pid, sig);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** waitGone polls until none of the members is alive, or the time is up; returns the ones still alive. */
async function waitGone(t: Target, members: readonly Running[], timeoutMs: number): Promise<Running[]> {
  const deadline = Date.now() + timeoutMs;
  let alive = members.filter((m) => isOurMember(t, m.id, m.pid));
  while (alive.length > 0 && Date.now() < deadline) {
    await sleep(100);
    alive = alive.filter((m) => isOurMember(t, m.id, m.pid));
  }
  return alive;
}

/** stopMembers: SIGTERM (and SIGCONT, so a paused member gets it), wait, SIGKILL the stragglers. */
async function stopMembers(t: Target, members: readonly Running[], say: (line: string) => void): Promise<void> {
  for (const m of members) {
    signal(t, m.id, m.pid, 'SIGTERM');
    signal(t, m.id, m.pid, 'SIGCONT');
  }
  const stragglers = await waitGone(t, members, STOP_TIMEOUT_MS);
  for (const m of members) if (!stragglers.includes(m)) say(`stopped ${m.id} (pid ${m.pid})`);
  for (const m of stragglers) {
    signal(t, m.id, m.pid, 'SIGKILL');
    say(`${m.id} (pid ${m.pid}) did not stop within ${STOP_TIMEOUT_MS / 1000} s: killed it (SIGKILL)`);
  }
  const left = await waitGone(t, stragglers, 3_000);
  if (left.length > 0) throw new UserError(`could not stop ${left.map((m) => `${m.id} (pid ${m.pid})`).join(', ')}`);
}

// ---------------------------------------------------------------- spawning

interface Started {
  readonly id: string;
  readonly pid: number;
  readonly child: ChildProcess;
  readonly logPath: string;
  /** Where this run's output starts in the log. */
  readonly logOffset: number;
  /** Set once the process exits while we still watch it. */
  exit: string | null;
}

function logPathOf(t: Target, id: string): string {
  return join(t.logsDir, `${id}.log`);
}

function spawnMember(t: Target, spec: NodeSpec): Started {
  mkdirSync(t.logsDir, { recursive: true });
  const logPath = logPathOf(t, spec.id);
  const fd = openSync(logPath, 'a');
  const logOffset = fstatSync(fd).size;
  writeSync(fd, `--- ${new Date().toISOString()} raftlock cluster: starting ${spec.id} (client ${spec.clientAddress}, peer ${spec.peerAddress}, data ${spec.dataDir})\n`);
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, [RAFTLOCK_BIN, 'node', '--config', t.configPath, '--id', spec.id], {
      cwd: ROOT,
      detached: true,
      stdio: ['ignore', fd, fd],
    });
  } finally {
    closeSync(fd);
  }
  if (child.pid === undefined) throw new UserError(`could not start ${spec.id}: ${process.execPath} did not run`);
  const started: Started = { id: spec.id, pid: child.pid, child, logPath, logOffset, exit: null };
  child.on('exit', (code, sig) => {
    started.exit = sig !== null ? `killed by ${sig}` : `exit code ${code}`;
  });
  child.on('error', (err) => {
    started.exit = err.message;
  });
  child.unref();
  recordPid(t, spec.id, child.pid);
  return started;
}

/** addressProblem says why we cannot listen on host:port, or null when it is free. */
function addressProblem(address: string): Promise<string | null> {
  const m = /^\[?([^\]]+)\]?:(\d+)$/.exec(address);
  if (m === null) return Promise.resolve(`${address} is not host:port`);
  const host = m[1] as string;
  const port = Number(m[2]);
  return new Promise((done) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') done(`${address} is busy (another process listens there)`);
      else if (err.code === 'EADDRNOTAVAIL') done(`${address} is not an address of this machine`);
      else if (err.code === 'EACCES') done(`${address} needs privileges to listen on`);
      else done(`cannot listen on ${address}: ${err.message}`);
    });
    server.listen({ host, port, exclusive: true }, () => server.close(() => done(null)));
  });
}

async function checkPorts(specs: readonly NodeSpec[]): Promise<void> {
  const problems: string[] = [];
  for (const spec of specs) {
    const listeners = [['client', spec.clientAddress], ['peer', spec.peerAddress], ...(spec.httpAddress !== undefined ? [['http', spec.httpAddress]] : [])] as const;
    for (const [kind, address] of listeners) {
      const problem = await addressProblem(address);
      if (problem !== null) problems.push(`${spec.id}: its ${kind} address ${problem}`);
    }
  }
  if (problems.length > 0) {
    const what = problems.length === 1 ? problems[0] : `\n  ${problems.join('\n  ')}`;
    throw new UserError(`cannot start: ${what}\n(stop whatever holds the port — maybe a cluster started another way — or use --config with other ports; nothing was started)`);
  }
}

/** logTail is the last lines a member wrote since `offset`. */
function logTail(path: string, offset: number, lines: number): string {
  let text: string;
  try {
    const size = statSync(path).size;
    const from = Math.max(offset, size - 64 * 1024);
    const fd = openSync(path, 'r');
    try {
      const buf = Buffer.alloc(size - from);
      readSync(fd, buf, 0, buf.length, from);
      text = buf.toString('utf8');
    } finally {
      closeSync(fd);
    }
  } catch {
    return '    (no log)';
  }
  const all = text.split('\n').filter((l) => l !== '');
  return all.slice(-lines).map((l) => `    ${l}`).join('\n') || '    (the log is empty)';
}

function failureOf(s: Started): string {
  const log = logTail(s.logPath, s.logOffset, LOG_TAIL_LINES);
  const busy = /EADDRINUSE|address already in use/.test(log) ? ' (a port it needs is busy)' : '';
  return `${s.id} exited during start-up (${s.exit ?? 'gone'})${busy}; the end of ${display(s.logPath)}:\n${log}`;
}

// ---------------------------------------------------------------- status

const STATUS = methodOf<StatusRequest, StatusResponse>('Cluster', 'Status');

function queryStatus(address: string, deadlineMs: number, credentials: grpc.ChannelCredentials): Promise<StatusResponse | Error> {
  const client = new grpc.Client(address, credentials, { 'grpc.enable_http_proxy': 0 });
  return new Promise((done) => {
    client.makeUnaryRequest(STATUS.path, STATUS.requestSerialize, STATUS.responseDeserialize, {}, { deadline: Date.now() + deadlineMs }, (err, res) => {
      client.close();
      done(err ?? res ?? new Error('empty reply'));
    });
  });
}

/**
 * statusCredentials: how this script asks a member for its status. With client
 * TLS it verifies the member against the configured CA and presents the
 * member's own certificate (member certificates may act as clients, so this
 * works when the cluster requires client certificates too).
 */
function statusCredentials(spec: NodeSpec): grpc.ChannelCredentials {
  const tls = spec.tls?.client;
  if (tls == null) return grpc.credentials.createInsecure();
  try {
    return grpc.credentials.createSsl(readFileSync(tls.ca), readFileSync(tls.key), readFileSync(tls.cert));
  } catch (err) {
    throw new UserError(`cannot read the TLS files of ${spec.id} (${(err as Error).message}); issue them with: npm run certs`);
  }
}

type MemberState = 'up' | 'down' | 'paused' | 'no answer';

interface MemberRow {
  readonly id: string;
  readonly clientAddress: string;
  readonly peerAddress: string;
  readonly pid: number | null;
  /** up: answers Status; paused: SIGSTOPped; no answer: running but silent; down: not running. */
  readonly state: MemberState;
  readonly up: boolean;
  readonly role: string | null;
  readonly term: number | null;
  readonly leader: string | null;
  readonly commitIndex: number | null;
  readonly appliedIndex: number | null;
  readonly snapshotIndex: number | null;
  readonly error: string | null;
}

interface ClusterView {
  readonly config: string;
  readonly clusterId: string;
  readonly dataDir: string;
  /** The leader a majority of members agrees on, or null. */
  readonly leader: string | null;
  readonly term: number | null;
  readonly members: readonly MemberRow[];
}

async function clusterView(t: Target, deadlineMs: number): Promise<ClusterView> {
  const pids = readPids(t);
  const members = await Promise.all(
    t.config.nodes.map(async (spec): Promise<MemberRow> => {
      const rec = pids?.nodes[spec.id];
      const pid = rec !== undefined && isOurMember(t, spec.id, rec.pid) ? rec.pid : null;
      const paused = pid !== null && processState(pid) === 'T';
      const reply = paused ? new Error('paused (SIGSTOP)') : await queryStatus(spec.clientAddress, deadlineMs, statusCredentials(spec));
      const base = { id: spec.id, clientAddress: spec.clientAddress, peerAddress: spec.peerAddress, pid };
      if (reply instanceof Error) {
        const state: MemberState = paused ? 'paused' : pid !== null ? 'no answer' : 'down';
        const error = (reply as Partial<grpc.ServiceError>).details ?? reply.message;
        return { ...base, state, up: false, role: null, term: null, leader: null, commitIndex: null, appliedIndex: null, snapshotIndex: null, error };
      }
      return {
        ...base,
        state: 'up',
        up: true,
        role: reply.role,
        term: Number(reply.term),
        leader: reply.leader === '' ? null : reply.leader,
        commitIndex: Number(reply.commitIndex),
        appliedIndex: Number(reply.appliedIndex),
        snapshotIndex: Number(reply.snapshotIndex),
        error: null,
      };
    }),
  );
  // The leader: a member that says it leads, in the highest such term, backed by a majority.
  const leaders = members.filter((m) => m.role === 'leader').sort((a, b) => (b.term ?? 0) - (a.term ?? 0));
  const top = leaders[0];
  const backers = top === undefined ? 0 : members.filter((m) => m.leader === top.id).length;
  const agreed = top !== undefined && backers > t.config.nodes.length / 2;
  return {
    config: t.configPath,
    clusterId: t.config.clusterId,
    dataDir: t.dataRoot,
    leader: agreed ? top.id : null,
    term: agreed ? top.term : null,
    members,
  };
}

function table(view: ClusterView): string {
  const dash = (v: string | number | null): string => (v === null ? '-' : String(v));
  const rows = [
    ['ID', 'ROLE', 'TERM', 'LEADER', 'COMMIT/APPLIED', 'STATE', 'PID', 'CLIENT'],
    ...view.members.map((m) => [
      m.id,
      dash(m.role),
      dash(m.term),
      dash(m.leader),
      m.up ? `${m.commitIndex}/${m.appliedIndex}` : '-',
      m.state,
      dash(m.pid),
      m.clientAddress,
    ]),
  ];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd()).join('\n');
}

function summary(view: ClusterView): string {
  const up = view.members.filter((m) => m.up).length;
  const n = view.members.length;
  const leader = view.leader === null ? 'no leader' : `leader ${view.leader} (term ${view.term})`;
  return `cluster ${view.clusterId}: ${up} of ${n} members up, ${leader}`;
}

// ---------------------------------------------------------------- commands

const out = (line = ''): void => {
  process.stdout.write(`${line}\n`);
};

/**
 * waitReady waits (bounded) until a majority agrees on a leader and every
 * started member answers Status and follows it — or, when too few members run
 * for a quorum, just until the started ones answer. A member that exits meanwhile fails the
 * wait with the end of its log.
 */
async function waitReady(t: Target, started: readonly Started[]): Promise<{ view: ClusterView; ready: boolean }> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    const dead = started.filter((s) => s.exit !== null || !isOurMember(t, s.id, s.pid));
    if (dead.length > 0) {
      await sleep(200); // let the exit event and the last log lines land
      const failures = dead.map((s) => failureOf(s));
      const others = started.filter((s) => !dead.includes(s));
      for (const s of dead) forgetPid(t, s.id);
      let msg = failures.join('\n');
      if (others.length > 0) {
        await stopMembers(t, others.map((s) => ({ id: s.id, pid: s.pid })), () => undefined);
        for (const s of others) forgetPid(t, s.id);
        msg += `\n(stopped the other members this command had started: ${others.map((s) => s.id).join(', ')})`;
      }
      throw new UserError(msg);
    }
    const view = await clusterView(t, Math.min(STATUS_DEADLINE_MS, Math.max(200, deadline - Date.now())));
    const mine = started.map((s) => view.members.find((m) => m.id === s.id));
    const running = view.members.filter((m) => m.pid !== null || m.up).length;
    const quorumPossible = running > t.config.nodes.length / 2;
    if (mine.every((m) => m?.up === true) && !quorumPossible) return { view, ready: true };
    if (view.leader !== null && mine.every((m) => m?.up === true && m.leader === view.leader)) return { view, ready: true };
    if (Date.now() >= deadline) return { view, ready: false };
    await sleep(200);
  }
}

function printWhere(t: Target): void {
  out();
  out(`data:   ${display(t.dataRoot)}/<id>   (kept across restarts; delete it for a fresh cluster)`);
  out(`logs:   ${display(t.logsDir)}/<id>.log   (${hint(t, 'logs <id> [-f]')})`);
  out(`pids:   ${display(t.pidsPath)}`);
  out(`status: ${hint(t, 'status')}`);
  out(`stop:   ${hint(t, 'stop')}`);
  const http = t.config.nodes.filter((n) => n.httpAddress !== undefined);
  const first = http[0];
  if (first === undefined) return;
  const others = http.slice(1).map((n) => `${n.id} http://${n.httpAddress}/`).join(', ');
  out(`page:   http://${first.httpAddress}/   (live status page of the cluster${others === '' ? '' : `; every member serves it: ${others}`})`);
  out(`metrics: ${http.map((n) => `http://${n.httpAddress}/metrics`).join(' ')}   (Prometheus)`);
}

async function cmdStart(t: Target): Promise<number> {
  const pids = readPids(t);
  if (pids !== null && pids.config !== t.configPath) {
    // Another config with the same dataDir recorded these PIDs: two clusters must not share data.
    const other = Object.entries(pids.nodes).filter(([id, rec]) => isOurMember({ ...t, configPath: pids.config }, id, rec.pid));
    if (other.length > 0) {
      throw new UserError(`${display(t.dataRoot)} is in use by the cluster of ${display(pids.config)} (${other.map(([id, r]) => `${id} pid ${r.pid}`).join(', ')}); stop it first: npm run cluster -- stop --config ${display(pids.config)}`);
    }
    rmSync(t.pidsPath, { force: true });
  }
  const toStart: NodeSpec[] = [];
  for (const spec of t.config.nodes) {
    const pid = runningPid(t, spec.id);
    if (pid !== null) out(`${spec.id} is already running (pid ${pid}); not starting it again`);
    else toStart.push(spec);
  }
  if (toStart.length === 0) {
    out(`every member of ${display(t.configPath)} is already running`);
    const view = await clusterView(t, STATUS_DEADLINE_MS);
    out();
    out(summary(view));
    out(table(view));
    printWhere(t);
    return 0;
  }
  await checkPorts(toStart);
  out(`starting ${toStart.map((s) => s.id).join(', ')} of cluster ${t.config.clusterId} (${display(t.configPath)})...`);
  const started: Started[] = [];
  const interrupted = (): void => {
    process.stderr.write(`\ninterrupted: the members started so far keep running; stop them with: ${hint(t, 'stop')}\n`);
    process.exit(130);
  };
  process.once('SIGINT', interrupted);
  for (const spec of toStart) started.push(spawnMember(t, spec));
  const { view, ready } = await waitReady(t, started);
  process.removeListener('SIGINT', interrupted);
  out();
  out(summary(view));
  out(table(view));
  printWhere(t);
  if (!ready) {
    const silent = started.filter((s) => view.members.find((m) => m.id === s.id)?.up !== true).map((s) => s.id);
    const why = silent.length > 0 ? `${silent.join(', ')} did not answer` : 'no leader was elected';
    throw new UserError(`not ready after ${START_TIMEOUT_MS / 1000} s: ${why}; the members keep running — look at ${hint(t, 'logs <id>')}, stop them with ${hint(t, 'stop')}`);
  }
  if (view.leader === null) out(`\nno leader: fewer than a majority of the ${t.config.nodes.length} members run; start the others to elect one`);
  return 0;
}

async function cmdStop(t: Target): Promise<number> {
  const members = runningMembers(t);
  if (members.length === 0) {
    rmSync(t.pidsPath, { force: true });
    out(`no cluster running for ${display(t.configPath)}; nothing to stop`);
    return 0;
  }
  out(`stopping ${members.map((m) => `${m.id} (pid ${m.pid})`).join(', ')}...`);
  await stopMembers(t, members, out);
  rmSync(t.pidsPath, { force: true });
  out(`cluster ${t.config.clusterId} stopped; its data is kept in ${display(t.dataRoot)}`);
  return 0;
}

async function cmdStatus(t: Target, json: boolean, deadlineMs: number): Promise<number> {
  const view = await clusterView(t, deadlineMs);
  const nothing = view.members.every((m) => !m.up && m.pid === null);
  if (json) {
    out(JSON.stringify(view, null, 2));
    return nothing ? 1 : 0;
  }
  if (nothing) throw new UserError(`no cluster running for ${display(t.configPath)}; start one with: ${hint(t, 'start')}`);
  out(summary(view));
  out(table(view));
  return 0;
}

async function cmdSignal(t: Target, id: string, sig: 'SIGKILL' | 'SIGSTOP' | 'SIGCONT'): Promise<number> {
  const pid = requireRunning(t, id);
  const paused = processState(pid) === 'T';
  if (sig === 'SIGSTOP' && paused) throw new UserError(`${id} (pid ${pid}) is already paused; resume it with: ${hint(t, `resume ${id}`)}`);
  if (sig === 'SIGCONT' && !paused) throw new UserError(`${id} (pid ${pid}) is not paused`);
  signal(t, id, pid, sig);
  if (sig === 'SIGKILL') {
    const left = await waitGone(t, [{ id, pid }], 3_000);
    if (left.length > 0) throw new UserError(`${id} (pid ${pid}) is still alive after SIGKILL`);
    forgetPid(t, id);
    out(`killed ${id} (pid ${pid}) with SIGKILL; its data is kept — bring it back with: ${hint(t, `restart ${id}`)}`);
  } else if (sig === 'SIGSTOP') {
    out(`paused ${id} (pid ${pid}) with SIGSTOP; its peers see it as silent — resume it with: ${hint(t, `resume ${id}`)}`);
  } else {
    out(`resumed ${id} (pid ${pid}) with SIGCONT`);
  }
  return 0;
}

async function cmdRestart(t: Target, id: string): Promise<number> {
  const spec = memberOf(t, id);
  const pid = runningPid(t, id);
  if (pid !== null) {
    out(`stopping ${id} (pid ${pid})...`);
    await stopMembers(t, [{ id, pid }], out);
  }
  forgetPid(t, id);
  await checkPorts([spec]);
  const started = spawnMember(t, spec);
  out(`started ${id} (pid ${started.pid}), keeping its data in ${display(spec.dataDir)}`);
  const { view, ready } = await waitReady(t, [started]);
  out();
  out(summary(view));
  out(table(view));
  if (!ready) {
    const up = view.members.find((m) => m.id === id)?.up === true;
    throw new UserError(`${up ? 'no leader' : `${id} did not answer`} after ${START_TIMEOUT_MS / 1000} s; it keeps running — look at ${hint(t, `logs ${id}`)}`);
  }
  return 0;
}

async function cmdLogs(t: Target, id: string, follow: boolean, lines: number | null): Promise<number> {
  memberOf(t, id);
  const path = logPathOf(t, id);
  if (!existsSync(path)) throw new UserError(`no log for ${id} yet (expected ${display(path)}); start the cluster with: ${hint(t, 'start')}`);
  let offset = 0;
  const size = statSync(path).size;
  if (lines !== null) {
    const tail = logTail(path, 0, lines);
    if (lines > 0 && size > 0) out(tail.split('\n').map((l) => l.replace(/^ {4}/, '')).join('\n'));
    offset = size;
  }
  const pump = (): void => {
    const now = statSync(path, { throwIfNoEntry: false })?.size ?? 0;
    if (now < offset) offset = 0; // truncated or replaced
    if (now === offset) return;
    const fd = openSync(path, 'r');
    try {
      const buf = Buffer.alloc(now - offset);
      readSync(fd, buf, 0, buf.length, offset);
      process.stdout.write(buf);
      offset = now;
    } finally {
      closeSync(fd);
    }
  };
  pump();
  if (!follow) return 0;
  await new Promise<void>((done) => {
    const timer = setInterval(pump, 250);
    const end = (): void => {
      clearInterval(timer);
      done();
    };
    process.once('SIGINT', end);
    process.once('SIGTERM', end);
  });
  return 0;
}

// ---------------------------------------------------------------- CLI

function display(p: string): string {
  const rel = relative(process.cwd(), p);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : p;
}

function targetOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('-n, --nodes <count>', 'use the 3- or 5-node example config').choices(['3', '5']))
    .option('-c, --config <file>', 'cluster config file (default: cluster.example.json)');
}

function parseLines(v: string): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new UserError(`--lines must be a non-negative integer, got ${JSON.stringify(v)}`);
  return n;
}

function buildProgram(run: (code: Promise<number>) => Promise<void>): Command {
  const program = new Command('cluster')
    .description('start, inspect, fault and stop a local raftlock cluster (one process per member)')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .addHelpText(
      'after',
      '\nExamples:\n  npm run cluster -- start              # 3 members on 127.0.0.1:7001-7003\n  npm run cluster -- start --nodes 5    # 5 members on 127.0.0.1:7011-7015\n  npm run cluster -- status\n  npm run cluster -- kill n1 && npm run cluster -- restart n1\n  npm run cluster -- stop',
    );
  const sub = (name: string, description: string): Command => targetOptions(program.command(name).description(description).exitOverride());

  sub('start', 'start every member (detached) and wait for a leader').action((o: TargetOptions) => run(cmdStart(resolveTarget(o, 'start'))));
  sub('stop', 'stop every member gracefully (SIGTERM, SIGKILL after 10 s) and clear pids.json').action((o: TargetOptions) => run(cmdStop(resolveTarget(o, 'stop'))));
  sub('status', "each member's view: role, term, leader, commit/applied, up or down")
    .option('--json', 'print JSON instead of a table')
    .option('--timeout <ms>', 'deadline of each Status call', String(STATUS_DEADLINE_MS))
    .action((o: TargetOptions & { json?: boolean; timeout: string }) => {
      const ms = Number(o.timeout);
      if (!Number.isSafeInteger(ms) || ms <= 0) throw new UserError(`--timeout must be a positive number of milliseconds, got ${JSON.stringify(o.timeout)}`);
      return run(cmdStatus(resolveTarget(o, 'status'), o.json === true, ms));
    });
  sub('kill', 'kill one member with SIGKILL (a crash; its data stays)')
    .argument('<id>', 'member id, e.g. n1')
    .action((id: string, o: TargetOptions) => run(cmdSignal(resolveTarget(o, 'kill'), id, 'SIGKILL')));
  sub('pause', 'freeze one member with SIGSTOP')
    .argument('<id>', 'member id, e.g. n1')
    .action((id: string, o: TargetOptions) => run(cmdSignal(resolveTarget(o, 'pause'), id, 'SIGSTOP')));
  sub('resume', 'thaw a paused member with SIGCONT')
    .argument('<id>', 'member id, e.g. n1')
    .action((id: string, o: TargetOptions) => run(cmdSignal(resolveTarget(o, 'resume'), id, 'SIGCONT')));
  sub('restart', 'start one member again, keeping its data (stopping it first if it runs)')
    .argument('<id>', 'member id, e.g. n1')
    .action((id: string, o: TargetOptions) => run(cmdRestart(resolveTarget(o, 'restart'), id)));
  sub('logs', "print a member's log (-f to follow it)")
    .argument('<id>', 'member id, e.g. n1')
    .option('-f, --follow', 'keep printing what it writes (Ctrl-C to stop)')
    .option('-l, --lines <count>', 'print only the last <count> lines first')
    .action((id: string, o: TargetOptions & { follow?: boolean; lines?: string }) =>
      run(cmdLogs(resolveTarget(o, 'logs'), id, o.follow === true, o.lines === undefined ? null : parseLines(o.lines))),
    );
  return program;
}

function fail(err: unknown): never {
  if (err instanceof CommanderError) process.exit(err.exitCode);
  if (err instanceof UserError) {
    process.stderr.write(`raftlock cluster: ${err.message}\n`);
    process.exit(err.exitCode);
  }
  // Not a user mistake: still one line, with the stack only on request.
  const e = err instanceof Error ? err : new Error(String(err));
  process.stderr.write(`raftlock cluster: unexpected error: ${e.message}${process.env.RAFTLOCK_DEBUG ? `\n${e.stack}` : ' (set RAFTLOCK_DEBUG=1 for a stack trace)'}\n`);
  process.exit(1);
}

let exitCode = 0;
const program = buildProgram(async (p) => {
  exitCode = await p;
});
try {
  await program.parseAsync(process.argv);
  process.exit(exitCode);
} catch (err) {
  fail(err);
}

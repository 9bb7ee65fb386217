import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRealCluster, useRealClusters, type RealCluster } from './realCluster.js';

useRealClusters();

const REPO = join(import.meta.dirname, '..', '..');

interface Run {
  readonly code: number | null;
  readonly out: string;
}

/** run runs a command in the repo; SIGKILLs it if it has not exited by itself within timeoutMs. */
function run(args: string[], env: Record<string, string>, timeoutMs = 30_000): Promise<Run> {
  const child = spawn(process.execPath, args, { cwd: REPO, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) =>
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    }),
  );
}

const example = (name: string, env: Record<string, string>): Promise<Run> => run(['--import', 'tsx', join('examples', name)], env);

describe('examples/ run against a real cluster', () => {
  let cluster: RealCluster;
  let dir: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    cluster = await startRealCluster();
    dir = await mkdtemp(join(tmpdir(), 'raftlock-examples-'));
    env = { RAFTLOCK_ENDPOINTS: cluster.addresses().join(',') };
  });
  afterAll(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('typecheck (tsc -p examples)', async () => {
    const r = await run([join('node_modules', 'typescript', 'bin', 'tsc'), '--noEmit', '-p', join('examples', 'tsconfig.json')], {});
    expect(r.out).toBe('');
    expect(r.code).toBe(0);
  });

  it('criticalSection: two copies at once never lose an update', async () => {
    const counter = join(dir, 'counter.txt');
    const [a, b] = await Promise.all([example('criticalSection.ts', { ...env, COUNTER_FILE: counter }), example('criticalSection.ts', { ...env, COUNTER_FILE: counter })]);
    expect(a.code, a.out).toBe(0);
    expect(b.code, b.out).toBe(0);
    expect(await readFile(counter, 'utf8')).toBe('10');
  });

  it('leaderElection: the worker is elected, works, and steps down', async () => {
    const r = await example('leaderElection.ts', { ...env, WORKER: 'w1', BATCHES: '2' });
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/w1: elected leader\nw1: batch 1\/2 \(fencing token \d+\)\nw1: batch 2\/2 .*\nw1: job finished, stepping down/);
  });

  it('fencedWrite: the stalled holder\'s late write is refused', async () => {
    const r = await example('fencedWrite.ts', env);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/rejected write of config=v1\.1 from alice \(stale\): token \d+ is older than \d+/);
    expect(r.out).toMatch(/config = v2 from bob/);
  });
});

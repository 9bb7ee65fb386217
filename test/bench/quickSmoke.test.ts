import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * A smoke run of `npm run bench -- --quick` against raftlock alone, on two
 * short workloads: it must start a real cluster, finish, print the table and
 * write its three files. It asserts no figure (timings are never asserted).
 */

const REPO = join(import.meta.dirname, '..', '..');
const TSX = join(REPO, 'node_modules', '.bin', 'tsx');
const out = mkdtempSync(join(tmpdir(), 'raftlock-bench-smoke-'));

afterAll(() => rmSync(out, { recursive: true, force: true }));

function runBench(args: readonly string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env };
    delete env.NODE_OPTIONS;
    const child = spawn(TSX, [join(REPO, 'bench', 'main.ts'), ...args], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // SIGTERM makes the benchmark kill its own cluster before it exits.
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('npm run bench -- --quick (raftlock only)', () => {
  it('runs a cluster end to end and writes the table, the JSON and the chart', async () => {
    const r = await runBench(['--quick', '--no-etcd', '--only', 'uncontended,contended', '--out', out], 90_000);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^workload\s+metric\s+raftlock\s+etcd\s+raftlock\/etcd$/m);
    expect(r.stdout).toMatch(/^uncontended 16 clients\s+pairs\/s\s+[\d,.]+\s+n\/a\s+n\/a$/m);
    expect(r.stdout).toContain('etcd: not run (--no-etcd)');
    expect(r.stderr).toMatch(/fsync p50/);
    const json = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as { rows: { workload: string; raftlock: number | null; etcd: number | null }[]; etcd: unknown };
    expect(json.etcd).toBeNull();
    const workloads = new Set(json.rows.map((row) => row.workload));
    expect([...workloads]).toEqual(expect.arrayContaining(['uncontended 1 client', 'uncontended 16 clients', 'contended 16 clients']));
    for (const row of json.rows) expect(row.etcd).toBeNull();
    expect(readFileSync(join(out, 'chart.svg'), 'utf8')).toMatch(/<polyline /);
    expect(existsSync(join(out, 'table.txt'))).toBe(true);
  }, 120_000);

  it('refuses bad flags with a message and exit code 2, starting nothing', async () => {
    const r = await runBench(['--nodes', '4', '--out', join(out, 'never')], 30_000);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--nodes must be 3 or 5, got "4"');
    expect(existsSync(join(out, 'never'))).toBe(false);
  }, 60_000);
});

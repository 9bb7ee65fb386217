import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClientClosedError, connect, LeaseLostError, type RaftlockClient } from '../../src/client/index.js';
import { startRealCluster, useRealClusters, type RealCluster } from './realCluster.js';

useRealClusters();

const REPO = join(import.meta.dirname, '..', '..');
const FIXTURE = join(import.meta.dirname, 'fixtures', 'closeAndExit.ts');

interface Run {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** runFixture runs the program in its own process; SIGKILLs it (and fails) if it has not exited by itself in time. */
function runFixture(env: Record<string, string>, timeoutMs = 15_000): Promise<Run> {
  const started = performance.now();
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE], { cwd: REPO, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) =>
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: performance.now() - started });
    }),
  );
}

describe('close()', () => {
  let cluster: RealCluster;
  let observer: RaftlockClient;

  beforeAll(async () => {
    cluster = await startRealCluster();
    observer = await connect({ endpoints: cluster.addresses() });
  });
  afterAll(async () => {
    await observer?.close();
  });

  it.each([
    ['without revoke: leases are left to expire', false],
    ['with revoke: leases are revoked', true],
  ])('a program that closes its client exits by itself (%s)', async (_title, revoke) => {
    const run = await runFixture({ RAFTLOCK_ENDPOINTS: cluster.addresses().join(','), REVOKE: revoke ? '1' : '0' });
    expect(run.signal, `the program did not exit by itself; stderr: ${run.stderr}`).toBeNull();
    expect(run.code, run.stderr).toBe(0);
    const out = JSON.parse(run.stdout) as Record<string, unknown>;
    expect(out).toMatchObject({
      unreachable: 'UnavailableError',
      waiting: 'ClientClosedError',
      waitingPrivate: 'ClientClosedError',
      after: 'ClientClosedError',
      aborted: true,
      reason: revoke ? 'revoked' : 'closed',
    });
    const ids = (await observer.leases()).map((l) => l.id);
    if (revoke) {
      expect(ids).not.toContain(out.leaseId);
      expect(ids).not.toContain(out.otherId);
      expect((await observer.get('close/held')).holders).toEqual([]);
    } else {
      // Unrenewed, the leases expire on the server after their TTL and the lock is freed.
      const h = await observer.acquire('close/held', { waitMs: 5_000 });
      expect(h.token > BigInt(out.heldToken as string)).toBe(true);
      await h.release();
    }
  });

  it('fails in-flight and later operations with ClientClosedError and aborts every lease signal', async () => {
    const client = await connect({ endpoints: cluster.addresses() });
    const blocker = await observer.acquire('close/inproc');
    const lease = await client.grant(2_000);
    const pending = client.acquire('close/inproc', { lease }).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 200));
    const closing = client.close();
    expect(client.close()).toBe(closing); // idempotent
    await closing;
    expect(await pending).toBeInstanceOf(ClientClosedError);
    expect(lease.signal.reason).toBeInstanceOf(LeaseLostError);
    expect((lease.signal.reason as LeaseLostError).reason).toBe('closed');
    await expect(client.grant(1_000)).rejects.toBeInstanceOf(ClientClosedError);
    await expect(client.status()).rejects.toBeInstanceOf(ClientClosedError);
    await blocker.release();
  });
});

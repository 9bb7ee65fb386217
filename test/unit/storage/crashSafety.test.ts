import { spawn, type ChildProcess } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { isDeepStrictEqual } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import type { RestoredState } from '../../../src/raft/raft.js';
import { LevelStorage } from '../../../src/storage/levelStorage.js';
import { MemoryStorage } from '../../../src/storage/memoryStorage.js';
import { tempDir } from './harness.js';
import { applyOp, type Op } from './workload.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const CHILD = join(import.meta.dirname, 'fixtures', 'persistLoop.ts');
const ID = { clusterId: 'crash-test', nodeId: 'n1' };

/** replay is the state the twin holds after `ops`: what the disk must hold after exactly those writes. */
async function replay(ops: readonly Op[]): Promise<RestoredState> {
  const twin = new MemoryStorage();
  await twin.open(ID);
  for (const op of ops) await applyOp(twin, op);
  await twin.close();
  return twin.open(ID);
}

interface Run {
  readonly acked: Op[];
  pending: Op | null;
  readonly acks: number[];
}

describe('LevelStorage crash safety', () => {
  let child: ChildProcess | null = null;
  let dir: string | null = null;

  afterEach(async () => {
    if (child !== null && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    child = null;
    if (dir !== null) await rm(dir, { recursive: true, force: true });
    dir = null;
  });

  /** runUntilKilled starts the writer, lets it run for `runMs` after its first ack, SIGKILLs it, and returns what it reported. */
  async function runUntilKilled(seed: number, runMs: number): Promise<Run> {
    const proc = spawn(process.execPath, ['--import', 'tsx', CHILD, dir as string, String(seed)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    const run: Run = { acked: [], pending: null, acks: [] };
    let stderr = '';
    proc.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise<void>((resolve) => proc.on('exit', () => resolve()));
    let killTimer: NodeJS.Timeout | null = null;
    for await (const line of createInterface({ input: proc.stdout! })) {
      const msg = JSON.parse(line) as { k: 'ready' } | { k: 'begin'; op: Op } | { k: 'ack'; last: number | null };
      if (msg.k === 'begin') {
        expect(run.pending, 'one write at a time').toBeNull();
        run.pending = msg.op;
      } else if (msg.k === 'ack') {
        expect(run.pending).not.toBeNull();
        run.acked.push(run.pending as Op);
        run.pending = null;
        if (msg.last !== null) run.acks.push(msg.last);
        killTimer ??= setTimeout(() => proc.kill('SIGKILL'), runMs);
      }
    }
    await exited;
    if (killTimer !== null) clearTimeout(killTimer);
    expect(proc.signalCode, `the writer should die by our SIGKILL, not on its own; stderr:\n${stderr}`).toBe('SIGKILL');
    return run;
  }

  it('keeps every acknowledged write across SIGKILLs, and at most the one in flight beyond them', async () => {
    dir = await tempDir();
    const base = Date.now() % 100_000;
    let history: Op[] = [];
    const outcomes: string[] = [];
    for (let round = 0; round < 3; round++) {
      const seed = base + round;
      const runMs = 100 + Math.floor(Math.random() * 400);
      const run = await runUntilKilled(seed, runMs);
      const where = `seed ${seed}, killed ${runMs} ms after the first ack, ${run.acked.length} writes acknowledged`;
      expect(run.acked.length, where).toBeGreaterThan(0);

      const storage = new LevelStorage(dir);
      const restored = await storage.open(ID);
      await storage.close();

      // The disk holds exactly the acknowledged state, or that plus the whole write in flight: never a torn
      // write, never a lost acknowledged entry or hard state.
      const acked = await replay([...history, ...run.acked]);
      const withPending = run.pending === null ? acked : await replay([...history, ...run.acked, run.pending]);
      expect(restored.hardState.term, where).toBeGreaterThanOrEqual(acked.hardState.term);
      expect(restored.hardState.commit, where).toBeGreaterThanOrEqual(acked.hardState.commit);
      if (run.pending !== null && isDeepStrictEqual(restored, withPending)) {
        history = [...history, ...run.acked, run.pending];
      } else {
        expect(restored, where).toEqual(acked);
        history = [...history, ...run.acked];
      }
      outcomes.push(`${where}: last acked index ${String(run.acks[run.acks.length - 1])}, restored last ${restored.entries[restored.entries.length - 1]?.index}`);
      for (let i = 1; i < restored.entries.length; i++) expect(restored.entries[i]!.index, where).toBe(restored.entries[i - 1]!.index + 1);
    }
    if (process.env['STORAGE_CRASH_VERBOSE'] !== undefined) console.log(outcomes.join('\n'));
  });
});

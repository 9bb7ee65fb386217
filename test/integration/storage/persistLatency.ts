/**
 * persistLatency measures LevelStorage.persist() on this machine: the mean
 * (and p50/p99) latency of one synced batch holding 1 entry and 100 entries,
 * each with a hard state, as the node loop writes them. Not a test: speed is
 * reported, never asserted.
 *
 *   npx tsx test/integration/storage/persistLatency.ts [iterations=500] [entryBytes=128]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Entry } from '../../../src/raft/types.js';
import { LevelStorage } from '../../../src/storage/levelStorage.js';

const iterations = Number(process.argv[2] ?? 500);
const entryBytes = Number(process.argv[3] ?? 128);

async function measure(batch: number): Promise<{ meanMs: number; p50Ms: number; p99Ms: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'raftlock-latency-'));
  const storage = new LevelStorage(dir);
  try {
    await storage.open({ clusterId: 'bench', nodeId: 'n1' });
    const data = new Uint8Array(entryBytes).fill(0x5a);
    let last = 0;
    const step = async (): Promise<number> => {
      const entries: Entry[] = [];
      for (let i = 1; i <= batch; i++) entries.push({ index: last + i, term: 1, type: 'normal', data });
      const start = process.hrtime.bigint();
      await storage.persist({ hardState: { term: 1, vote: 'n1', commit: last }, entries, snapshot: null });
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      last += batch;
      return ms;
    };
    for (let i = 0; i < 20; i++) await step();
    const samples: number[] = [];
    for (let i = 0; i < iterations; i++) samples.push(await step());
    samples.sort((a, b) => a - b);
    const meanMs = samples.reduce((s, x) => s + x, 0) / samples.length;
    return { meanMs, p50Ms: samples[Math.floor(samples.length * 0.5)] as number, p99Ms: samples[Math.floor(samples.length * 0.99)] as number };
  } finally {
    await storage.close();
    await rm(dir, { recursive: true, force: true });
  }
}

console.log(`LevelStorage.persist (sync: true), ${iterations} batches each, ${entryBytes}-byte entries, dir under ${tmpdir()}`);
for (const batch of [1, 100]) {
  const r = await measure(batch);
  console.log(
    `  ${String(batch).padStart(3)} entr${batch === 1 ? 'y  ' : 'ies'} per batch: mean ${r.meanMs.toFixed(3)} ms, p50 ${r.p50Ms.toFixed(3)} ms, p99 ${r.p99Ms.toFixed(3)} ms` +
      ` (${Math.round((batch * 1000) / r.meanMs)} entries/s)`,
  );
}

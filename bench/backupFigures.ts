/**
 * bench/backupFigures.ts: how long backup and restore take for a cluster
 * holding N leases, each with a lock. Prints figures; asserts nothing.
 *
 *   npx tsx bench/backupFigures.ts [--leases 10000]
 *
 * Starts a 3-node raftlock cluster (real processes, temp dirs, free ports),
 * fills it, then times `fetchSnapshot` (Maintenance.Snapshot through a
 * follower-or-leader, as `raftlock snapshot save` does) plus the atomic file
 * write, and `restoreSnapshot` for each of three new members. Every process
 * and temp dir is removed on exit.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { encodeSnapshotFile } from '../src/backup/snapshotFile.js';
import { writeFileAtomic } from '../src/backup/snapshotFileIo.js';
import { restoreSnapshot } from '../src/backup/restoreSnapshot.js';
import { fetchSnapshot } from '../src/client/snapshot.js';
import { parseClusterConfig } from '../src/node/clusterConfig.js';
import { killAllSync } from './processes.js';
import { RaftlockCluster } from './raftlockSystem.js';

const CONCURRENCY = 64;
const DEADLINE_MS = 30_000;

const { values } = parseArgs({ options: { leases: { type: 'string', default: '10000' } } });
const leases = Number(values.leases);
if (!Number.isSafeInteger(leases) || leases < 1 || leases > 1_000_000) {
  process.stderr.write(`--leases must be an integer in 1..1000000, got ${values.leases}\n`);
  process.exit(2);
}

const cluster = await RaftlockCluster.start({ nodes: 3 });
try {
  const raw = JSON.parse(readFileSync(join(cluster.dir, 'cluster.json'), 'utf8')) as { nodes: Array<{ clientAddress: string }> };
  const endpoints = raw.nodes.map((n) => n.clientAddress);
  const client = cluster.client();
  const fillStart = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let i = next++; i < leases; i = next++) {
        const leaseId = await client.grant(i % 3, 3_600_000, DEADLINE_MS);
        await client.acquire(i % 3, `lock-${i}`, leaseId, DEADLINE_MS);
      }
    }),
  );
  const fillMs = performance.now() - fillStart;

  const saveStart = performance.now();
  const snap = await fetchSnapshot({ endpoints, timeoutMs: 120_000 });
  const fetchedMs = performance.now() - saveStart;
  const file = join(cluster.dir, 'backup.rlsnap');
  writeFileAtomic(file, encodeSnapshotFile({ ...snap, createdAt: new Date() }));
  const saveMs = performance.now() - saveStart;

  const config = parseClusterConfig({ ...raw, clusterId: 'raftlock-bench-restored', dataDir: join(cluster.dir, 'restored') }, 'bench', cluster.dir);
  const restoreMs: number[] = [];
  for (const n of config.nodes) {
    const t = performance.now();
    await restoreSnapshot({ file, config, nodeId: n.id });
    restoreMs.push(performance.now() - t);
  }
  const round = (ms: number): string => ms.toFixed(0);
  process.stdout.write(
    [
      `leases, each holding one lock:   ${leases} (filled in ${round(fillMs)} ms)`,
      `snapshot:                        index ${snap.index}, ${snap.data.length} bytes`,
      `snapshot save (fetch + write):   ${round(saveMs)} ms (fetch ${round(fetchedMs)} ms)`,
      `snapshot restore, per member:    ${restoreMs.map(round).join(' / ')} ms`,
      '',
    ].join('\n'),
  );
} finally {
  await cluster.destroy();
  killAllSync();
}

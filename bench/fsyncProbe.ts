import { closeSync, fsyncSync, mkdtempSync, openSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registerTempDir, removeTempDir } from './processes.js';
import { summarize, type LatencySummary } from './stats.js';

/**
 * fsyncProbe appends a small record to a file in a temp dir and fsyncs it,
 * `count` times: the floor under any durable commit on this disk.
 */
export function fsyncProbe(count: number, recordBytes = 512): LatencySummary {
  const dir = mkdtempSync(join(tmpdir(), 'raftlock-bench-fsync-'));
  registerTempDir(dir);
  const buf = Buffer.alloc(recordBytes, 0x61);
  const samples: number[] = [];
  const fd = openSync(join(dir, 'probe.log'), 'a');
  try {
    for (let i = 0; i < count; i++) {
      const t0 = performance.now();
      writeSync(fd, buf);
      fsyncSync(fd);
      samples.push(performance.now() - t0);
    }
  } finally {
    closeSync(fd);
    removeTempDir(dir);
  }
  return summarize(samples);
}

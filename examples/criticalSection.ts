/**
 * criticalSection: a read-modify-write that must never interleave with
 * another copy of itself. withLock acquires the lock (waiting its turn),
 * runs the function, and always releases — even if the function throws.
 *
 *   npm start                                  # a local 3-node cluster
 *   npx tsx examples/criticalSection.ts        # try two terminals at once
 *
 * Endpoints come from RAFTLOCK_ENDPOINTS (comma-separated host:port); the
 * counter lives in COUNTER_FILE (default: a file in the temp dir).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'raftlock';

const endpoints = (process.env.RAFTLOCK_ENDPOINTS ?? '127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003').split(',');
const counterFile = process.env.COUNTER_FILE ?? join(tmpdir(), 'raftlock-example-counter.txt');

const client = await connect({ endpoints });
try {
  for (let i = 0; i < 5; i++) {
    await client.withLock(
      'examples/counter',
      async ({ token, signal }) => {
        const current = Number(await readFile(counterFile, 'utf8').catch(() => '0'));
        await new Promise((resolve) => setTimeout(resolve, 100)); // the slow part of real work
        signal.throwIfAborted(); // the lease was lost: someone else may hold the lock now, so do not write
        await writeFile(counterFile, String(current + 1));
        console.log(`token ${token}: counter ${current} -> ${current + 1}`);
      },
      { waitMs: 30_000 },
    );
  }
} finally {
  await client.close();
}

/**
 * leaderElection: only one worker runs the job at a time. Every worker
 * campaigns for the same lock; the one holding it works until the job is
 * done — or until its lease's signal aborts (the lease was lost: another
 * worker may already be leader), in which case it stops at once and
 * campaigns again. Ctrl-C steps down cleanly (the lease is revoked, so the
 * next worker takes over immediately instead of after the TTL).
 *
 *   npm start
 *   npx tsx examples/leaderElection.ts      # start two or three of these
 */
import { connect, LeaseLostError, type LockHandle } from 'raftlock';

const endpoints = (process.env.RAFTLOCK_ENDPOINTS ?? '127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003').split(',');
const worker = process.env.WORKER ?? `worker-${process.pid}`;
const batches = Number(process.env.BATCHES ?? 10);

const client = await connect({ endpoints });
const shutdown = new AbortController();
process.once('SIGINT', () => shutdown.abort());
process.once('SIGTERM', () => shutdown.abort());

/**
 * runJob does the leader's work in batches. Before each batch it checks the
 * lock's signal (reading it also checks the lease's clock, so a worker that
 * was paused past its lease notices before doing anything) and the shutdown
 * signal. Pass lock.token along with every write, so the resource can refuse
 * a leader that stalled mid-batch (see fencedWrite.ts).
 */
async function runJob(lock: LockHandle): Promise<void> {
  for (let batch = 1; batch <= batches; batch++) {
    lock.signal.throwIfAborted();
    shutdown.signal.throwIfAborted();
    console.log(`${worker}: batch ${batch}/${batches} (fencing token ${lock.token})`);
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

try {
  let done = false;
  while (!done && !shutdown.signal.aborted) {
    // A lost lease stays lost, so every campaign gets a fresh one.
    const lease = await client.grant(3_000);
    try {
      console.log(`${worker}: campaigning`);
      const lock = await client.acquire('examples/report-job', { lease, signal: shutdown.signal });
      console.log(`${worker}: elected leader`);
      await runJob(lock);
      done = true;
      console.log(`${worker}: job finished, stepping down`);
    } catch (err) {
      if (err instanceof LeaseLostError || lease.signal.aborted) console.log(`${worker}: lost leadership; campaigning again`);
      else if (!shutdown.signal.aborted) throw err;
    } finally {
      await lease.revoke().catch(() => undefined); // releases the lock at once
    }
  }
} finally {
  await client.close({ revoke: true });
}

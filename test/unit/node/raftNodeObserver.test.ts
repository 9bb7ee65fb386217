import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { parseClusterConfig } from '../../../src/node/clusterConfig.js';
import type { NodeObserver } from '../../../src/node/nodeObserver.js';
import { RaftNode } from '../../../src/node/raftNode.js';
import type { PersistUpdate } from '../../../src/storage/raftStorage.js';
import { MemoryStorage } from '../../../src/storage/memoryStorage.js';
import { pollUntil } from '../../support/poll.js';
import { logLines, WARN } from '../../support/observability.js';

/**
 * What a single-node RaftNode reports to its observer and its log, on a fake
 * monotonic clock that a slow disk moves forward: proposal latency covers the
 * synced write, the write is timed, and a slow one is warned about with what
 * to check. (Multi-node figures, round trips included, are checked against
 * real processes in test/integration/observability.test.ts.)
 */

const SLOW_WRITE_MS = 1_500;

/** SlowDisk is MemoryStorage whose every synced write takes SLOW_WRITE_MS of the node's clock. */
class SlowDisk extends MemoryStorage {
  constructor(private readonly clock: { nowMs: number }) {
    super();
  }

  override async persist(update: PersistUpdate): Promise<void> {
    this.clock.nowMs += SLOW_WRITE_MS;
    await super.persist(update);
  }
}

interface Calls {
  committed: number[];
  lost: number;
  refused: number;
  synced: number[];
  leaderChanges: number;
}

function recorder(): { observer: NodeObserver; calls: Calls } {
  const calls: Calls = { committed: [], lost: 0, refused: 0, synced: [], leaderChanges: 0 };
  const observer: NodeObserver = {
    proposalFinished: (outcome, seconds) => (outcome === 'committed' ? calls.committed.push(seconds) : calls.lost++),
    proposalRefused: () => calls.refused++,
    storageSynced: (seconds) => calls.synced.push(seconds),
    leaderChanged: () => calls.leaderChanges++,
    peerRoundTrip: () => undefined,
    leaseExpired: () => undefined,
    keepAlive: () => undefined,
  };
  return { observer, calls };
}

let running: RaftNode | null = null;
afterEach(async () => {
  await running?.stop();
  running = null;
});

describe('RaftNode observer and fault logs', () => {
  it('times proposals and synced writes, and warns about a slow disk saying what to check', async () => {
    const config = parseClusterConfig({
      clusterId: 'c1',
      nodes: [{ id: 'n1', clientAddress: '127.0.0.1:7001', peerAddress: '127.0.0.1:7101' }],
      timing: { tickMs: 5, electionTicks: 10, heartbeatTicks: 2 },
    }, 'test', '/unused');
    const clock = { nowMs: 0 };
    const out: string[] = [];
    const logger = pino({ level: 'info' }, new Writable({ write(chunk: Buffer, _enc, done) { out.push(chunk.toString()); done(); } }));
    const { observer, calls } = recorder();
    const node = new RaftNode({
      config, self: config.nodes[0] as (typeof config.nodes)[0], storage: new SlowDisk(clock), peers: { send: () => undefined, setPeer: () => undefined, removePeer: () => undefined },
      logger, nowMs: () => clock.nowMs, onFatal: (err) => { throw err; }, observer,
    });
    running = node;
    await node.start();
    expect(await pollUntil(async () => (node.isLeader() ? true : null), 10_000, 5)).toBe(true);

    await expect(node.propose({ type: 'grant-lease', leaseId: 7, ttlMs: 5_000, idempotent: false })).resolves.toMatchObject({ result: { kind: 'lease-granted' } });
    expect(calls.committed).toHaveLength(1);
    // The proposal waited for its synced write: at least one slow write long.
    expect(calls.committed[0]).toBeGreaterThanOrEqual(SLOW_WRITE_MS / 1000);
    expect(calls.synced.length).toBeGreaterThanOrEqual(2); // the election's vote, then the entries
    for (const s of calls.synced) expect(s).toBe(SLOW_WRITE_MS / 1000);
    expect(calls.leaderChanges).toBe(1);
    expect(calls.refused).toBe(0);

    const slow = logLines(out.join('')).filter((l) => l.level === WARN && /^storage write slow/.test(l.msg));
    // Rate-limited: several slow writes, one line (at most one per 10 s of the node's clock, which moved 1.5 s per write).
    expect(slow.length).toBeGreaterThanOrEqual(1);
    expect(slow.length).toBeLessThan(calls.synced.length);
    expect(slow[0]?.msg).toMatch(/took 1500 ms .*check the disk \(iostat, free space\), other I\/O on the same device/);
  });
});

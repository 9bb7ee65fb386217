import type { LockLimits } from '../../src/lock/limits.js';
import type { SeededRng } from '../../src/raft/prng.js';
import type { LockWorkload } from './lockClient.js';

/**
 * Swarm testing (as in TigerBeetle's VOPR): every seed draws not only the
 * fault *events* but the fault *kinds and rates*, so one seed may run a clean
 * network with many crashes and the next a lossy, reordering network with no
 * crashes at all. Each rate is zero with some probability, which keeps
 * single-fault runs common enough to localise bugs.
 */

export type PartitionMode = 'none' | 'symmetric' | 'one-way' | 'leader-isolation' | 'flapping';

export interface RaftLimits {
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  readonly maxEntriesPerMsg: number;
  readonly maxBytesPerMsg: number;
  readonly maxInflightMsgs: number;
  readonly maxUncommittedBytes: number;
  readonly maxCommittedBytesPerReady: number;
  readonly maxPendingReads: number;
  readonly snapshotChunkBytes: number;
}

export interface SwarmProfile {
  readonly nodeCount: 3 | 5;
  /** Virtual time with faults, then the bound for the healed cluster to converge. */
  readonly safetyMs: number;
  readonly livenessMs: number;
  /** Per-node tick period: clocks drift a little apart. */
  readonly tickMsByNode: readonly number[];

  readonly lossRate: number;
  readonly dupRate: number;
  readonly delayMinMs: number;
  readonly delayMaxMs: number;

  readonly partitionMode: PartitionMode;
  /** Mean quiet time between two partitions, and the longest one. */
  readonly partitionIntervalMs: number;
  readonly partitionDurationMaxMs: number;

  /** Mean time between two crashes anywhere in the cluster; 0 disables crashes. */
  readonly crashIntervalMs: number;
  readonly restartDelayMaxMs: number;
  /**
   * Chance that a newly elected leader crashes 0..leaderCrashDelayMaxMs after
   * its election (before or while it replicates its first entries): the
   * schedules of the Raft paper's Figure 8.
   */
  readonly leaderCrashChance: number;
  readonly leaderCrashDelayMaxMs: number;
  /** Mean time between two pauses anywhere in the cluster; 0 disables pauses. */
  readonly pauseIntervalMs: number;
  readonly pauseDurationMaxMs: number;
  /**
   * Mean time between two pauses of the leader (one whose lease clock runs)
   * for longer than an election timeout and the longest TTL: it wakes
   * believing every lease lapsed, and its expiry proposals must never take
   * effect. 0 disables them.
   */
  readonly leaderPauseIntervalMs: number;
  /** Mean time between two leadership transfers; 0 disables them. */
  readonly transferIntervalMs: number;

  readonly fsyncDelayMinMs: number;
  readonly fsyncDelayMaxMs: number;

  /** Compact when applied - snapshotIndex reaches the threshold, keeping `snapshotTrailing` entries. */
  readonly snapshotThreshold: number;
  readonly snapshotTrailing: number;
  /** Handle Readies with nothing to persist at once (as a real shell would) instead of after an fsync delay. */
  readonly syncVolatileReadies: boolean;

  /** The lock clients: how many, on which names, with what leases and habits (lockClient.ts). */
  readonly lock: LockWorkload;
  /** The state machine's limits (small TTLs for virtual time; sometimes tight table limits, so refusals happen). */
  readonly lockLimits: Partial<LockLimits>;

  readonly raft: RaftLimits;
  /** Freeze every sent message, so a core that mutates one throws (costly, so only some seeds). */
  readonly freezeMessages: boolean;
}

export interface SwarmOptions {
  readonly nodes?: 3 | 5;
}

/** between returns a float in [lo, hi). */
function between(rng: SeededRng, lo: number, hi: number): number {
  return lo + rng.nextFloat() * (hi - lo);
}

/** intBetween returns an integer in [lo, hi]. */
function intBetween(rng: SeededRng, lo: number, hi: number): number {
  return lo + rng.nextInt(hi - lo + 1);
}

/** maybe returns `value()` with probability p, else 0: a fault kind switched off. */
function maybe(rng: SeededRng, p: number, value: () => number): number {
  return rng.chance(p) ? value() : 0;
}

const PARTITION_MODES: readonly PartitionMode[] = ['none', 'symmetric', 'one-way', 'leader-isolation', 'flapping'];

export function swarmProfile(rng: SeededRng, options: SwarmOptions = {}): SwarmProfile {
  const nodeCount: 3 | 5 = options.nodes ?? (rng.chance(0.5) ? 3 : 5);
  const tickMsBase = 10;
  const tickMsByNode: number[] = [];
  for (let i = 0; i < nodeCount; i++) tickMsByNode.push(tickMsBase * between(rng, 0.95, 1.05));

  const delayMinMs = between(rng, 0, 5);
  const delayMaxMs = rng.chance(0.3) ? delayMinMs + between(rng, 0, 2) : between(rng, delayMinMs, 50);
  const partitionMode = PARTITION_MODES[rng.nextInt(PARTITION_MODES.length)] as PartitionMode;
  const fsyncDelayMinMs = between(rng, 0, 2);

  const faults = {
    nodeCount,
    // 8..35 s, skewed short (mean 17 s): long runs still happen, and the average keeps 100k seeds with lock clients
    // within ~30 min on 2 cores (measure with npm run sim -- --seeds 3000).
    safetyMs: Math.round(8_000 + 27_000 * rng.nextFloat() ** 2),
    livenessMs: 20_000,
    tickMsByNode,
    lossRate: maybe(rng, 0.6, () => between(rng, 0, 0.3)),
    dupRate: maybe(rng, 0.5, () => between(rng, 0, 0.1)),
    delayMinMs,
    delayMaxMs,
    partitionMode,
    partitionIntervalMs: partitionMode === 'flapping' ? between(rng, 20, 300) : between(rng, 300, 5_000),
    partitionDurationMaxMs: partitionMode === 'flapping' ? between(rng, 20, 400) : between(rng, 100, 4_000),
    crashIntervalMs: maybe(rng, 0.6, () => between(rng, 300, 6_000)),
    restartDelayMaxMs: between(rng, 0, 3_000),
    leaderCrashChance: maybe(rng, 0.3, () => between(rng, 0.1, 0.6)),
    leaderCrashDelayMaxMs: between(rng, 0, 60),
    pauseIntervalMs: maybe(rng, 0.5, () => between(rng, 300, 6_000)),
    pauseDurationMaxMs: between(rng, 10, 3_000),
    transferIntervalMs: maybe(rng, 0.3, () => between(rng, 500, 8_000)),
    fsyncDelayMinMs,
    fsyncDelayMaxMs: between(rng, fsyncDelayMinMs, 5),
    snapshotThreshold: intBetween(rng, 5, 50),
    snapshotTrailing: intBetween(rng, 0, 10),
  };
  // These four are drawn where the counter clients' knobs used to be, with the same shape of draws,
  // so every seed keeps the fault profile it had before the lock workload; the rest come from a fork.
  const clientCount = intBetween(rng, 2, 4);
  const thinkMaxMs = between(rng, 5, 150);
  const waitChance = maybe(rng, 0.8, () => between(rng, 0.2, 0.9));
  const namePadMaxBytes = intBetween(rng, 0, 48);
  const raft: RaftLimits = {
    preVote: rng.chance(0.85),
    checkQuorum: rng.chance(0.85),
    maxEntriesPerMsg: rng.chance(0.3) ? 1 : intBetween(rng, 1, 16),
    maxBytesPerMsg: intBetween(rng, 32, 2_048),
    maxInflightMsgs: intBetween(rng, 1, 16),
    maxUncommittedBytes: intBetween(rng, 256, 8_192),
    maxCommittedBytesPerReady: intBetween(rng, 16, 1_024),
    maxPendingReads: intBetween(rng, 4, 64),
    snapshotChunkBytes: intBetween(rng, 16, 64),
  };
  const freezeMessages = rng.chance(0.25);
  const syncVolatileReadies = rng.chance(0.8);

  const more = rng.fork();
  const lock = lockWorkload(more, clientCount, thinkMaxMs, waitChance, namePadMaxBytes, faults.delayMaxMs);
  return {
    ...faults,
    leaderPauseIntervalMs: maybe(more, 0.45, () => between(more, 1_000, 6_000)),
    lock,
    lockLimits: lockLimits(more, clientCount),
    raft,
    freezeMessages,
    syncVolatileReadies,
  };
}

/**
 * lockWorkload draws the clients' habits: 2-3 lock names (some long, to load
 * the byte limits of messages and Readies), TTLs of 150..1000 ms against
 * election timeouts of 100..200 ms, keepalives that sometimes stop, waits,
 * shared locks, holds, revokes. A TTL is never below 8 network delays: a
 * grant can take a redirect and a replication round trip, and a lease that
 * cannot outlive its own grant is a misconfiguration, not a test.
 */
function lockWorkload(
  rng: SeededRng, clientCount: number, thinkMaxMs: number, waitChance: number, namePadMaxBytes: number, delayMaxMs: number,
): LockWorkload {
  const nameCount = intBetween(rng, 2, 3);
  const lockNames: string[] = [];
  for (let i = 0; i < nameCount; i++) {
    const pad = namePadMaxBytes > 0 ? rng.nextInt(namePadMaxBytes + 1) : 0;
    lockNames.push(`lock-${String.fromCharCode(97 + i)}${pad > 0 ? `-${'x'.repeat(pad)}` : ''}`);
  }
  const ttlMinMs = Math.max(between(rng, 150, 600), 8 * delayMaxMs);
  return {
    clientCount,
    lockNames,
    ttlMinMs,
    ttlMaxMs: between(rng, ttlMinMs, 1_000),
    keepAliveStopChance: maybe(rng, 0.7, () => between(rng, 0.05, 0.5)),
    sharedChance: maybe(rng, 0.6, () => between(rng, 0.1, 0.8)),
    waitChance,
    waitMaxMs: between(rng, 20, 2_000),
    holdMaxMs: between(rng, 5, 400),
    thinkMaxMs,
    revokeChance: maybe(rng, 0.5, () => between(rng, 0.01, 0.1)),
    // Under half the shortest TTL: a client must be able to retry a keepalive elsewhere before its lease lapses.
    requestTimeoutMs: between(rng, 30, ttlMinMs / 2),
  };
}

/** lockLimits: TTLs down to 50 ms for virtual time, and now and then a table limit tight enough to refuse. */
function lockLimits(rng: SeededRng, clientCount: number): Partial<LockLimits> {
  return {
    minTtlMs: 50,
    maxTtlMs: 5_000,
    maxLocks: rng.chance(0.15) ? 2 : 1_000,
    maxLeases: rng.chance(0.15) ? intBetween(rng, 2, clientCount + 1) : 1_000,
  };
}

/** describeProfile is one line per concern, printed at the top of a trace. */
export function describeProfile(p: SwarmProfile): string {
  const f = (x: number): string => x.toFixed(1);
  const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
  const every = (intervalMs: number, rest: string): string => (intervalMs > 0 ? `every~${f(intervalMs)}ms${rest}` : 'off');
  const w = p.lock;
  return [
    `nodes=${p.nodeCount} safety=${p.safetyMs}ms liveness<=${p.livenessMs}ms ticks=[${p.tickMsByNode.map(f).join(',')}]ms`,
    `net: loss=${pct(p.lossRate)} dup=${pct(p.dupRate)} delay=${f(p.delayMinMs)}..${f(p.delayMaxMs)}ms`,
    `partitions: ${p.partitionMode === 'none' ? 'off' : `${p.partitionMode} ${every(p.partitionIntervalMs, ` for<=${f(p.partitionDurationMaxMs)}ms`)}`}`,
    `crashes: ${every(p.crashIntervalMs, ` restart<=${f(p.restartDelayMaxMs)}ms`)}; new leaders crash: ${p.leaderCrashChance > 0 ? `${pct(p.leaderCrashChance)} within ${f(p.leaderCrashDelayMaxMs)}ms` : 'off'}`,
    `pauses: ${every(p.pauseIntervalMs, ` for<=${f(p.pauseDurationMaxMs)}ms`)}; transfers: ${every(p.transferIntervalMs, '')}`,
    `fsync=${f(p.fsyncDelayMinMs)}..${f(p.fsyncDelayMaxMs)}ms syncVolatileReadies=${p.syncVolatileReadies} snapshot every ${p.snapshotThreshold} keep ${p.snapshotTrailing}`,
    `pauses of the leader past election timeout and TTL: ${every(p.leaderPauseIntervalMs, '')}`,
    `clients=${w.clientCount} locks=[${w.lockNames.map((n) => `${n.slice(0, 8)}${n.length > 8 ? `..(${n.length}B)` : ''}`).join(',')}] ttl=${f(w.ttlMinMs)}..${f(w.ttlMaxMs)}ms ` +
      `stopKeepAlive=${pct(w.keepAliveStopChance)} wait=${pct(w.waitChance)}<=${f(w.waitMaxMs)}ms shared=${pct(w.sharedChance)} ` +
      `hold<=${f(w.holdMaxMs)}ms think<=${f(w.thinkMaxMs)}ms revoke=${pct(w.revokeChance)} timeout=${f(w.requestTimeoutMs)}ms`,
    `lock limits: ${Object.entries(p.lockLimits).map(([k, v]) => `${k}=${String(v)}`).join(' ')}`,
    `freezeMessages=${p.freezeMessages} raft: ${Object.entries(p.raft).map(([k, v]) => `${k}=${String(v)}`).join(' ')}`,
  ].join('\n');
}

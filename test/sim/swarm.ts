import type { SeededRng } from '../../src/raft/prng.js';

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
  /** Mean time between two leadership transfers; 0 disables them. */
  readonly transferIntervalMs: number;

  readonly fsyncDelayMinMs: number;
  readonly fsyncDelayMaxMs: number;

  /** Compact when applied - snapshotIndex reaches the threshold, keeping `snapshotTrailing` entries. */
  readonly snapshotThreshold: number;
  readonly snapshotTrailing: number;
  /** Handle Readies with nothing to persist at once (as a real shell would) instead of after an fsync delay. */
  readonly syncVolatileReadies: boolean;

  readonly clientCount: number;
  /** Mean time between two proposals of one client. */
  readonly proposalIntervalMs: number;
  /** Probability that a client wake-up also issues a linearizable read. */
  readonly readChance: number;
  /** Extra payload bytes beyond the unique `cX-N` tag. */
  readonly payloadPadMaxBytes: number;

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

  return {
    nodeCount,
    // 10..40 s, skewed short (mean 20 s): long runs still happen, and the average keeps 100k seeds in ~20 min on 2 cores.
    safetyMs: Math.round(10_000 + 30_000 * rng.nextFloat() ** 2),
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
    clientCount: intBetween(rng, 1, 3),
    proposalIntervalMs: between(rng, 5, 150),
    readChance: maybe(rng, 0.8, () => between(rng, 0.05, 0.6)),
    payloadPadMaxBytes: intBetween(rng, 0, 48),
    raft: {
      preVote: rng.chance(0.85),
      checkQuorum: rng.chance(0.85),
      maxEntriesPerMsg: rng.chance(0.3) ? 1 : intBetween(rng, 1, 16),
      maxBytesPerMsg: intBetween(rng, 32, 2_048),
      maxInflightMsgs: intBetween(rng, 1, 16),
      maxUncommittedBytes: intBetween(rng, 256, 8_192),
      maxCommittedBytesPerReady: intBetween(rng, 16, 1_024),
      maxPendingReads: intBetween(rng, 4, 64),
      snapshotChunkBytes: intBetween(rng, 16, 64),
    },
    freezeMessages: rng.chance(0.25),
    syncVolatileReadies: rng.chance(0.8),
  };
}

/** describeProfile is one line per concern, printed at the top of a trace. */
export function describeProfile(p: SwarmProfile): string {
  const f = (x: number): string => x.toFixed(1);
  const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
  const every = (intervalMs: number, rest: string): string => (intervalMs > 0 ? `every~${f(intervalMs)}ms${rest}` : 'off');
  return [
    `nodes=${p.nodeCount} safety=${p.safetyMs}ms liveness<=${p.livenessMs}ms ticks=[${p.tickMsByNode.map(f).join(',')}]ms`,
    `net: loss=${pct(p.lossRate)} dup=${pct(p.dupRate)} delay=${f(p.delayMinMs)}..${f(p.delayMaxMs)}ms`,
    `partitions: ${p.partitionMode === 'none' ? 'off' : `${p.partitionMode} ${every(p.partitionIntervalMs, ` for<=${f(p.partitionDurationMaxMs)}ms`)}`}`,
    `crashes: ${every(p.crashIntervalMs, ` restart<=${f(p.restartDelayMaxMs)}ms`)}; new leaders crash: ${p.leaderCrashChance > 0 ? `${pct(p.leaderCrashChance)} within ${f(p.leaderCrashDelayMaxMs)}ms` : 'off'}`,
    `pauses: ${every(p.pauseIntervalMs, ` for<=${f(p.pauseDurationMaxMs)}ms`)}; transfers: ${every(p.transferIntervalMs, '')}`,
    `fsync=${f(p.fsyncDelayMinMs)}..${f(p.fsyncDelayMaxMs)}ms syncVolatileReadies=${p.syncVolatileReadies} snapshot every ${p.snapshotThreshold} keep ${p.snapshotTrailing}`,
    `clients=${p.clientCount} propose every~${f(p.proposalIntervalMs)}ms readChance=${pct(p.readChance)} pad<=${p.payloadPadMaxBytes}B`,
    `freezeMessages=${p.freezeMessages} raft: ${Object.entries(p.raft).map(([k, v]) => `${k}=${String(v)}`).join(' ')}`,
  ].join('\n');
}

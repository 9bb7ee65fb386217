import { SeededRng } from '../../../src/raft/prng.js';
import { sleep, type ChaosCluster } from './chaosCluster.js';
import type { LinkMode } from './faultProxy.js';

/**
 * The nemesis: a catalogue of faults and a seeded schedule of them.
 *
 * planSchedule draws the whole schedule from the seed before the run starts
 * (printed by formatSchedule), so a failing run replays with the same seed.
 * What a fault targets is decided when it runs where it depends on the
 * cluster ("the leader", "a client holding a lock"); everything else (which
 * random node, which sides, how long, which mode, the flapping pattern) is
 * in the plan.
 */

export type FaultName =
  | 'kill-leader'
  | 'kill-random'
  | 'kill-all'
  | 'pause-leader-election'
  | 'pause-leader-ttl'
  | 'pause-random'
  | 'isolate-leader'
  | 'split'
  | 'bridge'
  | 'ring'
  | 'flap'
  | 'cut-holder-client'
  | 'one-way-leader-out'
  | 'one-way-leader-in'
  | 'latency';

/** Process faults and network faults: a combination runs one of each at once. */
const PROCESS_FAULTS: readonly FaultName[] = ['kill-leader', 'kill-random', 'kill-all', 'pause-leader-election', 'pause-leader-ttl', 'pause-random'];
const NETWORK_FAULTS: readonly FaultName[] = ['isolate-leader', 'split', 'bridge', 'ring', 'flap', 'cut-holder-client', 'one-way-leader-out', 'one-way-leader-in', 'latency'];

export interface PlannedFault {
  readonly name: FaultName;
  /** How long the fault lasts before it is healed. */
  readonly durationMs: number;
  /** Refuse (an RST) or black-hole (silence) for network cuts. */
  readonly blackhole: boolean;
  /** A permutation of the node indexes: the random choices (which node, which sides) read from it. */
  readonly order: readonly number[];
  /** Latency of a latency fault. */
  readonly delayMs: number;
  /** Seed of the fault's own PRNG (flapping pattern, fallbacks when no leader is found). */
  readonly seed: number;
}

export interface ScheduleStep {
  /** Calm before the step starts. */
  readonly gapMs: number;
  /** One fault, or a process fault and a network fault at once. */
  readonly faults: readonly PlannedFault[];
}

export interface ScheduleBounds {
  readonly nodes: 3 | 5;
  /** Longest election timeout of the cluster's timing. */
  readonly electionTimeoutMs: number;
  /** Longest lease TTL the workload uses. */
  readonly maxTtlMs: number;
}

/** MAX_STEPS bounds a plan (a 30-minute run needs a few hundred). */
const MAX_STEPS = 5_000;

/** planSchedule draws steps until their nominal length covers durationMs. */
export function planSchedule(seed: number, durationMs: number, bounds: ScheduleBounds): ScheduleStep[] {
  const rng = new SeededRng(seed);
  const steps: ScheduleStep[] = [];
  let total = 0;
  while (total < durationMs && steps.length < MAX_STEPS) {
    const gapMs = 500 + rng.nextInt(2_500);
    const combine = rng.nextFloat() < 0.2;
    const faults = combine
      ? [planFault(rng, pick(rng, PROCESS_FAULTS), bounds), planFault(rng, pick(rng, NETWORK_FAULTS), bounds)]
      : [planFault(rng, pick(rng, [...PROCESS_FAULTS, ...NETWORK_FAULTS]), bounds)];
    steps.push({ gapMs, faults });
    total += gapMs + Math.max(...faults.map((f) => f.durationMs));
  }
  return steps;
}

function planFault(rng: SeededRng, chosen: FaultName, b: ScheduleBounds): PlannedFault {
  // A majorities ring needs 5 nodes; on 3 it becomes a plain split.
  const name: FaultName = chosen === 'ring' && b.nodes !== 5 ? 'split' : chosen;
  const order = shuffle(rng, Array.from({ length: b.nodes }, (_, i) => i));
  const blackhole = rng.nextFloat() < 0.5;
  const delayMs = 20 + rng.nextInt(280);
  const seed = rng.nextU32();
  const durationMs = durationFor(rng, name, b);
  return { name, durationMs, blackhole, order, delayMs, seed };
}

function durationFor(rng: SeededRng, name: FaultName, b: ScheduleBounds): number {
  switch (name) {
    case 'pause-leader-election':
      return b.electionTimeoutMs + 100 + rng.nextInt(500);
    case 'pause-leader-ttl':
      return b.maxTtlMs + 300 + rng.nextInt(2_000);
    case 'cut-holder-client':
      return b.maxTtlMs + 500 + rng.nextInt(2_500);
    case 'kill-all':
      return 300 + rng.nextInt(2_000);
    default:
      return 800 + rng.nextInt(4_500);
  }
}

/** formatSchedule renders the plan, one step a line, for the start of a run. */
export function formatSchedule(steps: readonly ScheduleStep[]): string {
  return steps
    .map((s, k) => `  #${k + 1} after ${s.gapMs} ms calm: ${s.faults.map(describeFault).join(' + ')}`)
    .join('\n');
}

export function describeFault(f: PlannedFault): string {
  const extra = f.name === 'latency' ? ` ${f.delayMs} ms` : ['isolate-leader', 'split', 'bridge', 'ring', 'flap', 'cut-holder-client', 'one-way-leader-out', 'one-way-leader-in'].includes(f.name) ? (f.blackhole ? ' blackhole' : ' refuse') : '';
  return `${f.name}${extra} for ${f.durationMs} ms (order ${f.order.join('')})`;
}

/** NemesisContext: what a fault may act on. `holders` names the workload clients inside a critical section now. */
export interface NemesisContext {
  readonly cluster: ChaosCluster;
  readonly holders: () => readonly string[];
  /** log: one line per action, for the run's output. */
  readonly log: (line: string) => void;
}

/** runStep waits the calm gap, then runs the step's faults at once and heals them (bounded by their durations plus restarts). */
export async function runStep(step: ScheduleStep, ctx: NemesisContext): Promise<void> {
  await sleep(step.gapMs);
  await Promise.all(step.faults.map((f) => runFault(f, ctx)));
}

/**
 * runFault injects one fault, keeps it for its duration, and heals it. A
 * network fault heals every node link (healNetwork) — in a combination the
 * other fault is a process fault, so nothing is undone early.
 */
export async function runFault(f: PlannedFault, ctx: NemesisContext): Promise<void> {
  const { cluster } = ctx;
  const ids = cluster.ids;
  const nth = (k: number): string => ids[f.order[k % f.order.length]!]!;
  const mode: LinkMode = f.blackhole ? { kind: 'blackhole' } : { kind: 'refuse' };
  const rng = new SeededRng(f.seed);
  const leaderOr = async (fallback: string): Promise<string> => (await cluster.leader({ timeoutMs: 3_000 }).catch(() => null)) ?? fallback;
  ctx.log(`nemesis: ${describeFault(f)}`);
  switch (f.name) {
    case 'kill-leader':
    case 'kill-random': {
      const target = f.name === 'kill-leader' ? await leaderOr(nth(0)) : nth(0);
      if (cluster.isRunning(target)) await cluster.kill(target);
      await sleep(f.durationMs);
      await cluster.restartAll();
      return;
    }
    case 'kill-all':
      await cluster.killAll();
      await sleep(f.durationMs);
      await cluster.restartAll();
      return;
    case 'pause-leader-election':
    case 'pause-leader-ttl':
    case 'pause-random': {
      const target = f.name === 'pause-random' ? nth(0) : await leaderOr(nth(0));
      if (!cluster.isRunning(target) || cluster.isPaused(target)) return;
      cluster.pause(target);
      await sleep(f.durationMs);
      if (cluster.isRunning(target) && cluster.isPaused(target)) cluster.resume(target);
      return;
    }
    case 'isolate-leader': {
      cluster.isolate(await leaderOr(nth(0)), mode);
      break;
    }
    case 'split': {
      const minority = Math.floor(ids.length / 2);
      const small = f.order.slice(0, minority).map((i) => ids[i]!);
      const large = f.order.slice(minority).map((i) => ids[i]!);
      cluster.partition([small, large], mode);
      break;
    }
    case 'bridge': {
      // The bridge (order[0]) sees both sides; the sides do not see each other.
      const bridge = nth(0);
      const rest = f.order.slice(1).map((i) => ids[i]!);
      const left = new Set(rest.slice(0, Math.floor(rest.length / 2)));
      cluster.topology((a, b) => a === bridge || b === bridge || left.has(a) === left.has(b), mode, `bridge ${bridge} between [${[...left].join(',')}] and [${rest.filter((x) => !left.has(x)).join(',')}]`);
      break;
    }
    case 'ring': {
      // Each node sees only its two neighbours on a ring: every node is in a majority, no two majorities agree.
      const ring = f.order.map((i) => ids[i]!);
      const pos = new Map(ring.map((id, k) => [id, k] as const));
      const n = ring.length;
      cluster.topology((a, b) => {
        const d = Math.abs(pos.get(a)! - pos.get(b)!);
        return d === 1 || d === n - 1;
      }, mode, `majorities ring ${ring.join('-')}`);
      break;
    }
    case 'one-way-leader-out':
    case 'one-way-leader-in': {
      const leader = await leaderOr(nth(0));
      const out = f.name === 'one-way-leader-out';
      cluster.topology((a, b) => (out ? a !== leader : b !== leader), mode, out ? `${leader} cannot send` : `${leader} cannot receive`);
      break;
    }
    case 'latency': {
      // Latency on every link from a random half of the nodes, or on all of them.
      const slow = new Set(f.order.slice(0, rng.nextFloat() < 0.5 ? ids.length : Math.ceil(ids.length / 2)).map((i) => ids[i]!));
      cluster.topology((a) => !slow.has(a), { kind: 'latency', delayMs: f.delayMs }, `latency ${f.delayMs} ms from ${[...slow].join(',')}`);
      break;
    }
    case 'flap': {
      // Random links go down and up every 100-600 ms.
      const until = performance.now() + f.durationMs;
      let flips = 0;
      while (performance.now() < until && flips < 200) {
        const a = nth(rng.nextInt(ids.length));
        const b = nth(rng.nextInt(ids.length));
        if (a !== b) {
          if (cluster.linkMode(a, b).kind === 'pass') cluster.cut(a, b, { bothWays: rng.nextFloat() < 0.5, blackhole: f.blackhole });
          else cluster.setLink(a, b, { kind: 'pass' }, { bothWays: true });
        }
        flips++;
        await sleep(100 + rng.nextInt(500));
      }
      cluster.healNetwork();
      return;
    }
    case 'cut-holder-client': {
      const holders = ctx.holders();
      if (holders.length === 0) {
        ctx.log('nemesis: no client holds a lock now; cut-holder-client skipped');
        await sleep(f.durationMs);
        return;
      }
      const victim = holders[rng.nextInt(holders.length)]!;
      cluster.cutClient(victim, mode);
      await sleep(f.durationMs);
      cluster.healClient(victim);
      return;
    }
  }
  await sleep(f.durationMs);
  cluster.healNetwork();
}

function pick<T>(rng: SeededRng, items: readonly T[]): T {
  return items[rng.nextInt(items.length)]!;
}

function shuffle<T>(rng: SeededRng, items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = rng.nextInt(i + 1);
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

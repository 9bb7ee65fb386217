/**
 * cli — a randomised chaos run against a real cluster (`npm run chaos`).
 *
 *   npm run chaos -- --nodes 3 --duration 120 --seed 7
 *   npm run chaos -- --nodes 5 --duration 1800            (a random seed, printed first)
 *   npm run chaos -- --seed 7 --no-fencing                the store accepts stale writes (the checker must see them)
 *
 * Starts real node processes behind fault proxies, runs the workload and the
 * seeded nemesis schedule (printed at the start) for --duration seconds,
 * heals, restarts every node, reads back the final state, runs the checkers
 * and writes to results/chaos/<timestamp>-seed<N>/: history.json, report.txt,
 * timeline.html (nodes, leaders, faults and lock holders over time) and the
 * tail of the node logs. Exit code 1 on any violation (checkers or the
 * harness's own sanity checks), 2 on a harness error.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { randomInt } from 'node:crypto';
import { Command, InvalidArgumentError } from 'commander';
import { checkAll, formatReport } from './checkers/index.js';
import { DEFAULT_MAX_STATES_PER_LOCK } from './checkers/linearizability.js';
import type { History } from './history.js';
import { REPO } from './harness/chaosCluster.js';
import { runChaos } from './harness/runChaos.js';
import { renderTimeline } from './timeline.js';

interface CliOptions {
  nodes: 3 | 5;
  duration: number;
  seed?: number;
  fencing: boolean;
  clients?: number;
  out: string;
  check?: string;
  maxStates: number;
}

function integer(name: string, min: number, max: number): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(v)}`);
    return n;
  };
}

const program = new Command()
  .name('npm run chaos --')
  .description('randomised chaos run against a real raftlock cluster, checked offline')
  .option('--nodes <n>', 'cluster size: 3 or 5', (v) => {
    if (v !== '3' && v !== '5') throw new InvalidArgumentError(`--nodes must be 3 or 5, got ${JSON.stringify(v)}`);
    return Number(v) as 3 | 5;
  }, 3)
  .option('--duration <seconds>', 'how long to inject faults (1 to 86400 s)', integer('--duration', 1, 86_400), 120)
  .option('--seed <n>', 'seed of the schedule and the workload (default: random, printed)', integer('--seed', 0, 2 ** 32 - 1))
  .option('--no-fencing', 'the store accepts stale writes (to show the checker catches them)')
  .option('--clients <n>', 'workload clients (default 8)', integer('--clients', 1, 64))
  .option('--out <dir>', 'results root', join(REPO, 'results', 'chaos'))
  .option('--check <history.json>', 'run no cluster: re-check a saved history and rewrite report.txt and timeline.html beside it')
  .option('--max-states <n>', 'linearizability: configurations one lock\'s search may expand before it answers "unknown"', integer('--max-states', 1_000, 100_000_000), DEFAULT_MAX_STATES_PER_LOCK)
  .parse();

const o = program.opts<CliOptions>();
const checkOptions = { linearizability: { maxStatesPerLock: o.maxStates } };
if (o.check !== undefined) recheck(o.check);
const seed = o.seed ?? randomInt(0, 2 ** 32 - 1);
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const dir = join(o.out, `${stamp}-seed${seed}`);
mkdirSync(dir, { recursive: true });

const log = (line: string): void => {
  process.stdout.write(`[${new Date().toISOString().slice(11, 23)}] ${line}\n`);
};

try {
  const run = await runChaos({ nodes: o.nodes, durationMs: o.duration * 1000, seed, fencing: o.fencing, ...(o.clients !== undefined ? { clients: o.clients } : {}), log });
  writeFileSync(join(dir, 'history.json'), JSON.stringify(run.history));
  const results = checkAll(run.history, checkOptions);
  const sanity = run.sanity.length === 0 ? 'harness sanity: ok\n' : `harness sanity: ${run.sanity.length} problem(s)\n${run.sanity.map((s) => `  - ${s}`).join('\n')}\n`;
  const stats = `stats: ${Object.entries(run.stats).map(([k, v]) => `${k}=${v}`).join(' ')}\n`;
  const replay = `replay: npm run chaos -- --nodes ${o.nodes} --duration ${o.duration} --seed ${seed}${o.fencing ? '' : ' --no-fencing'}; re-check: npm run chaos -- --check ${join(dir, 'history.json')} --max-states N\n`;
  const report = `${formatReport(results, run.history)}${sanity}${stats}${replay}`;
  writeFileSync(join(dir, 'report.txt'), report);
  writeFileSync(join(dir, 'timeline.html'), renderTimeline(run.history, results));
  writeFileSync(join(dir, 'nodes.log.txt'), run.nodeLogs);
  process.stdout.write(`\n${report}results: ${dir}\n`);
  const failed = results.some((r) => !r.ok) || run.sanity.length > 0;
  process.exit(failed ? 1 : 0);
} catch (err) {
  const text = `chaos run seed ${seed} failed with a harness error: ${(err as Error).stack ?? String(err)}\n`;
  writeFileSync(join(dir, 'report.txt'), text);
  process.stderr.write(`${text}results: ${dir}\n`);
  process.exit(2);
}

/** recheck runs the checkers over a saved history and exits 0 (all pass) or 1. */
function recheck(path: string): never {
  const history = JSON.parse(readFileSync(path, 'utf8')) as History;
  const results = checkAll(history, checkOptions);
  const report = formatReport(results, history);
  writeFileSync(join(dirname(path), 'report.recheck.txt'), report);
  writeFileSync(join(dirname(path), 'timeline.html'), renderTimeline(history, results));
  process.stdout.write(report);
  process.exit(results.some((r) => !r.ok) ? 1 : 0);
}

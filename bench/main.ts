/**
 * bench/main.ts — `npm run bench`: raftlock side by side with etcd.
 *
 *   npm run bench [-- --quick] [--nodes 3|5] [--only uncontended,contended,...] [--no-etcd] [--no-metrics] [--out DIR]
 *
 * Starts a local raftlock cluster (and an etcd cluster when `etcd` is on
 * PATH), runs the same workloads against both through raw grpc-js stubs,
 * prints a table with the raftlock/etcd ratio per figure, and writes
 * results.json, table.txt and chart.svg to results/bench/<timestamp>/.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { Command, CommanderError } from 'commander';
import { DEFAULT_TIMING, type TimingConfig } from '../src/node/clusterConfig.js';
import { chartSvg, type ChartSeries } from './chart.js';
import { etcdVersion, EtcdCluster } from './etcdSystem.js';
import { fsyncProbe } from './fsyncProbe.js';
import { OptionsError, parseOptions, WORKLOADS, type BenchOptions, type RawFlags } from './options.js';
import { killAllSync } from './processes.js';
import { RaftlockCluster } from './raftlockSystem.js';
import { rows, type SystemResults } from './results.js';
import { runSystem, type Launcher } from './runSystem.js';
import { renderTable, formatValue } from './table.js';
import { describeFlood } from './workloads/flood.js';

const REPO = resolve(import.meta.dirname, '..');

/** MATCHED_TIMING: raftlock at etcd's default election timeout (1000 ms) and heartbeat (100 ms). */
const MATCHED_TIMING: TimingConfig = Object.freeze({ tickMs: 50, electionTicks: 20, heartbeatTicks: 2 });
const ETCD_MATCHED = Object.freeze({ electionTimeoutMs: 1000, heartbeatIntervalMs: 100 });

function program(): Command {
  return new Command('bench')
    .description('raftlock side by side with etcd: the same workloads through the same kind of client')
    .option('--quick', 'small counts and short runs: a smoke check of about a minute')
    .option('--nodes <n>', 'raftlock cluster size: 3 or 5 (etcd always runs 3)')
    .option('--only <workloads>', `comma-separated subset of: ${WORKLOADS.join(', ')}`)
    .option('--no-etcd', 'run raftlock alone (ratios shown as n/a)')
    .option('--no-metrics', 'raftlock members without an httpAddress (no metrics counted): to see what metrics cost')
    .option('--out <dir>', 'results folder (default: results/bench/<timestamp>)')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
}

function say(line: string): void {
  const t = new Date().toISOString().slice(11, 19);
  process.stderr.write(`[bench ${t}] ${line}\n`);
}

async function main(argv: readonly string[]): Promise<number> {
  let options: BenchOptions;
  const cmd = program();
  try {
    cmd.parse([...argv], { from: 'user' });
    options = parseOptions(cmd.opts<RawFlags>());
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    if (err instanceof OptionsError) {
      process.stderr.write(`bench: ${err.message}\n(see npm run bench -- --help)\n`);
      return 2;
    }
    throw err;
  }
  const started = performance.now();
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const outDir = resolve(options.out ?? join(REPO, 'results', 'bench', stamp));

  let etcd = options.etcd ? etcdVersion() : null;
  const etcdMissing = options.etcd && etcd === null;
  if (etcdMissing) {
    say('etcd is not on PATH: running raftlock alone (ratios n/a). To compare, install it: sudo apt-get install etcd-server');
  }
  say(`fsync floor: ${options.sizes.fsyncSamples} x (append 512 B + fsync) in the temp dir ...`);
  const fsync = fsyncProbe(options.sizes.fsyncSamples);
  say(`  fsync p50 ${formatValue(fsync.p50Ms, 'ms')}, p99 ${formatValue(fsync.p99Ms, 'ms')}`);

  const raftlockLaunch: Launcher = {
    system: 'raftlock',
    main: () => RaftlockCluster.start({ nodes: options.nodes, metrics: options.metrics }),
    matchedTiming: () => RaftlockCluster.start({ nodes: options.nodes, timing: MATCHED_TIMING, metrics: options.metrics }),
    ownDefaults: () => RaftlockCluster.start({ nodes: options.nodes, timing: DEFAULT_TIMING, metrics: options.metrics }),
  };
  const raftlock = await runSystem(raftlockLaunch, options, say);
  let etcdResults: SystemResults | null = null;
  if (etcd !== null) {
    const etcdLaunch: Launcher = {
      system: 'etcd',
      main: () => EtcdCluster.start({ nodes: 3 }),
      matchedTiming: () => EtcdCluster.start({ nodes: 3, ...ETCD_MATCHED }),
      ownDefaults: () => null,
    };
    try {
      etcdResults = await runSystem(etcdLaunch, options, say);
    } catch (err) {
      say(`etcd could not run: ${(err as Error).message}`);
      etcd = null;
    }
  }

  const table = rows(raftlock, etcdResults);
  const rendered = renderTable(table);
  const wallS = (performance.now() - started) / 1000;
  const header = [
    `raftlock vs etcd — ${options.quick ? 'quick' : 'full'} run, ${new Date().toISOString()}`,
    `machine: ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, node ${process.version}`,
    `fsync floor (append 512 B + fsync, ${fsync.count} samples): p50 ${formatValue(fsync.p50Ms, 'ms')}, p99 ${formatValue(fsync.p99Ms, 'ms')}`,
    `raftlock: ${raftlock.description || `${options.nodes} nodes`}`,
    `etcd: ${etcdResults !== null ? `${etcd ?? ''}, ${etcdResults.description}` : etcdMissing ? 'not installed, so not run (sudo apt-get install etcd-server to compare)' : options.etcd ? 'failed to run' : 'not run (--no-etcd)'}`,
    ...(raftlock.failoverDescription === null ? [] : [`failover: raftlock ${raftlock.failoverDescription}; etcd ${etcdResults?.failoverDescription ?? '-'}`]),
    ...(raftlock.failoverDefaultsDescription === null ? [] : [`failover at raftlock's defaults: ${raftlock.failoverDefaultsDescription}`]),
    ...(raftlock.flood === null ? [] : [`flood (raftlock, at the leader): ${describeFlood(raftlock.flood)}`]),
    `wall time: ${wallS.toFixed(0)} s`,
  ];
  const errors = [raftlock, ...(etcdResults === null ? [] : [etcdResults])].flatMap((r) => Object.entries(r.errors).map(([k, v]) => `${r.system} ${k}: ${v}`));
  const text = `${header.join('\n')}\n\n${rendered}${errors.length > 0 ? `\nfailed steps:\n${errors.map((e) => `  ${e}`).join('\n')}\n` : ''}`;
  process.stdout.write(`\n${text}`);

  mkdirSync(outDir, { recursive: true });
  const series: ChartSeries[] = [
    { name: 'raftlock', color: '#1f77b4', points: chartPoints(raftlock) },
    ...(etcdResults === null ? [] : [{ name: 'etcd', color: '#d62728', points: chartPoints(etcdResults) }]),
  ];
  writeFileSync(join(outDir, 'chart.svg'), chartSvg(series, 'uncontended acquire + release, clients spread over all members'));
  writeFileSync(join(outDir, 'table.txt'), text);
  writeFileSync(
    join(outDir, 'results.json'),
    `${JSON.stringify({ options, fsync, etcdVersion: etcd, wallS, machine: { cpus: cpus().length, model: cpus()[0]?.model, totalMemBytes: totalmem(), node: process.version }, rows: table, raftlock, etcd: etcdResults }, null, 2)}\n`,
  );
  say(`results in ${outDir} (results.json, table.txt, chart.svg)`);
  return errors.length > 0 ? 1 : 0;
}

function chartPoints(r: SystemResults): ChartSeries['points'] {
  return r.uncontended
    .filter((u) => u.placement === 'spread')
    .map((u) => ({ clients: u.clients, pairsPerS: u.pairsPerS, p99Ms: u.pairLatency.p99Ms }));
}


main(process.argv.slice(2)).then(
  (code) => {
    killAllSync();
    process.exit(code);
  },
  (err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    killAllSync();
    process.exit(1);
  },
);

import { resolve } from 'node:path';
import type { Command } from 'commander';
import { BackupError } from '../backup/backupError.js';
import { encodeSnapshotFile, SnapshotFileError } from '../backup/snapshotFile.js';
import { writeFileAtomic } from '../backup/snapshotFileIo.js';
import { fetchSnapshot } from '../client/index.js';
import { CorruptSnapshotError } from '../lock/errors.js';
import { loadClusterConfig } from '../node/clusterConfig.js';
import { DURATION_HELP, parseDuration } from './duration.js';
import { ENDPOINTS_HELP, resolveEndpoints } from './endpoints.js';
import { CliError, EXIT, EXIT_CODE_HELP } from './errors.js';
import { out, printJson } from './output.js';
import { finish } from './run.js';
import { addTlsOptions, resolveTls, resolveToken, type TlsFlags } from './tlsOptions.js';

/**
 * `raftlock snapshot save FILE` and `raftlock snapshot restore FILE`: a
 * linearizable backup of the lock state from a running cluster, and seeding a
 * new cluster's data dirs from it, offline.
 */

interface SaveOptions extends TlsFlags {
  endpoints?: string;
  json?: boolean;
  timeout: string;
}

interface RestoreFlags {
  config: string;
  nodeId: string;
  dataDir?: string;
  clusterId?: string;
  json?: boolean;
}

export function registerSnapshotCommand(program: Command): void {
  const snapshot = program
    .command('snapshot')
    .description('back up the lock state of a running cluster, or seed a new cluster from a backup')
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  raftlock snapshot save backup.rlsnap',
        '  raftlock snapshot restore backup.rlsnap --config new-cluster.json --node-id n1',
      ].join('\n'),
    );
  const save = snapshot
    .command('save')
    .description('write a consistent, linearizable snapshot of every lease, lock, holder, waiter and token to FILE')
    .argument('<file>', 'where to write the snapshot (written to a temp file, then renamed)')
    .option('--endpoints <list>', ENDPOINTS_HELP)
    .option('--json', 'print JSON instead of text')
    .option('--timeout <duration>', `give up on a member that has not sent the whole snapshot within this long (${DURATION_HELP})`, '30s');
  addTlsOptions(save)
    .addHelpText(
      'after',
      [
        '',
        'Any member may be asked; a follower forwards to the leader, which takes the snapshot',
        'after a ReadIndex round, so it holds every write acknowledged before the command began.',
        '',
        'Examples:',
        '  raftlock snapshot save backup.rlsnap',
        '  raftlock snapshot save /backups/locks-$(date +%F).rlsnap --endpoints 10.0.0.1:7001',
        '',
        EXIT_CODE_HELP,
      ].join('\n'),
    )
    .action(async (file: string, opts: SaveOptions) => {
      const target = resolveEndpoints({ flag: opts.endpoints });
      const timeoutMs = parseDuration(opts.timeout, '--timeout', { min: 1 });
      const tls = resolveTls(opts);
      const token = resolveToken(opts);
      const snap = await fetchSnapshot({ endpoints: target.endpoints, timeoutMs, ...(tls !== undefined ? { tls } : {}), ...(token !== undefined ? { token } : {}) });
      const path = resolve(file);
      try {
        writeFileAtomic(path, encodeSnapshotFile({ ...snap, createdAt: new Date() }));
      } catch (err) {
        throw new CliError(`cannot write ${path}: ${(err as Error).message}`, EXIT.failed);
      }
      const summary = { file: path, clusterId: snap.clusterId, index: snap.index, term: snap.term, bytes: snap.data.length };
      if (opts.json === true) printJson(summary);
      else out(`saved snapshot of cluster ${snap.clusterId} at index ${snap.index} (term ${snap.term}, ${snap.data.length} bytes) to ${path}`);
      finish(EXIT.ok);
    });

  snapshot
    .command('restore')
    .description('seed one member\'s data dir of a NEW cluster from a snapshot file (offline; run once per member)')
    .argument('<file>', 'a file written by `raftlock snapshot save`')
    .requiredOption('-c, --config <file>', 'the new cluster\'s config; its clusterId must differ from the snapshot\'s')
    .requiredOption('--node-id <id>', 'the member whose data dir to seed')
    .option('--data-dir <dir>', 'where to seed (default: the member\'s dataDir in the config); must be new or empty')
    .option('--cluster-id <id>', 'the new cluster id, as a check: must equal the config\'s clusterId')
    .option('--json', 'print JSON instead of text')
    .addHelpText(
      'after',
      [
        '',
        'The checksums are verified first. The member starts with the same leases, locks, holders',
        'and waiters; its Raft log starts after the snapshot\'s index, so new fencing tokens are',
        'above every old one. Leases get a full TTL from the new leader\'s first commit.',
        '',
        'Examples:',
        '  raftlock snapshot restore backup.rlsnap --config new-cluster.json --node-id n1',
        '  # a new 3-member cluster from one file:',
        '  for id in n1 n2 n3; do raftlock snapshot restore backup.rlsnap --config new-cluster.json --node-id $id; done',
        '  npm run cluster -- start --config new-cluster.json',
        '',
        'Exit codes: 0 seeded; 1 refused (damaged file, same cluster id, non-empty data dir); 2 bad usage.',
      ].join('\n'),
    )
    .action(async (file: string, opts: RestoreFlags) => {
      const config = loadClusterConfig(opts.config);
      const { restoreSnapshot } = await import('../backup/restoreSnapshot.js');
      const result = await restoreSnapshot({
        file,
        config,
        nodeId: opts.nodeId,
        ...(opts.dataDir !== undefined ? { dataDir: resolve(opts.dataDir) } : {}),
        ...(opts.clusterId !== undefined ? { clusterId: opts.clusterId } : {}),
      }).catch(refused);
      const summary = { dataDir: result.dataDir, nodeId: opts.nodeId, clusterId: result.clusterId, fromClusterId: result.from.clusterId, index: result.from.index, term: result.from.term };
      if (opts.json === true) printJson(summary);
      else {
        out(`seeded ${result.dataDir} for node ${opts.nodeId} of cluster ${result.clusterId}`);
        out(`  from the snapshot of cluster ${result.from.clusterId} at index ${result.from.index} (term ${result.from.term}, taken ${result.from.createdAt})`);
        out(`  new fencing tokens start above ${result.from.index}`);
      }
      finish(EXIT.ok);
    });
}

/** refused turns an operator mistake found by restore or recover into a one-line error, exit 1. */
export function refused(err: unknown): never {
  if (err instanceof BackupError || err instanceof SnapshotFileError) throw new CliError(err.message, EXIT.failed);
  if (err instanceof CorruptSnapshotError) throw new CliError(`the snapshot's lock state does not decode: ${err.message}`, EXIT.failed);
  throw err;
}

import { resolve } from 'node:path';
import type { Command } from 'commander';
import { loadClusterConfig } from '../node/clusterConfig.js';
import { CliError, EXIT } from './errors.js';
import { out, printJson, warn } from './output.js';
import { finish } from './run.js';
import { refused } from './snapshotCommand.js';

/**
 * `raftlock recover`: disaster recovery when a majority of the members is
 * lost for good. Offline, from one survivor's data dir, it seeds the data dir
 * of a new single-member cluster holding every lease, lock and token the
 * survivor has. Refused without --force-new-cluster; always loud.
 */

interface RecoverFlags {
  fromDataDir: string;
  config: string;
  nodeId: string;
  forceNewCluster?: boolean;
  json?: boolean;
}

const WARNING = [
  '*** DISASTER RECOVERY: this starts a NEW single-member cluster from one survivor\'s data. ***',
  '*** Use it only when a majority of the members is lost for good and will never return.   ***',
  '*** Entries the survivor never received are lost; entries it holds but that were never   ***',
  '*** committed are kept. Make sure the other members are stopped and stay stopped.        ***',
];

export function registerRecoverCommand(program: Command): void {
  program
    .command('recover')
    .description('disaster recovery: seed a new single-member cluster from a survivor\'s data dir (offline, operator only)')
    .requiredOption('--from-data-dir <dir>', 'the survivor\'s data dir (read only; kept as it is)')
    .requiredOption('-c, --config <file>', 'the NEW cluster\'s config: only this member, a new clusterId, and a new dataDir for it')
    .requiredOption('--node-id <id>', 'the survivor\'s member id (the only member of the new cluster)')
    .option('--force-new-cluster', 'required: confirms that a majority is lost for good')
    .option('--json', 'print JSON instead of text')
    .addHelpText(
      'after',
      [
        '',
        'Steps (see README, "Backup and recovery"):',
        '  1. stop the survivor (raftlock needs its data dir offline)',
        '  2. write recovered.json: only the survivor, a new clusterId, a new dataDir',
        '  3. raftlock recover --from-data-dir data/n1 --config recovered.json --node-id n1 --force-new-cluster',
        '  4. start it: raftlock node --config recovered.json --id n1',
        '  5. add members back with `raftlock member add`',
        '',
        'Examples:',
        '  raftlock recover --from-data-dir data/local/n1 --config recovered.json --node-id n1 --force-new-cluster',
        '',
        'Every entry in the survivor\'s log is kept (also those it did not yet know were committed),',
        'and the new log starts after its last index, so fencing tokens keep increasing.',
        '',
        'Exit codes: 0 seeded; 1 refused (same cluster id, more than one member, non-empty data dir); 2 bad usage or no --force-new-cluster.',
      ].join('\n'),
    )
    .action(async (opts: RecoverFlags) => {
      for (const line of WARNING) warn(line);
      if (opts.forceNewCluster !== true) {
        throw new CliError('refusing to recover without --force-new-cluster: it replaces the cluster\'s membership with this one member; add the flag only if a majority is lost for good', EXIT.usage);
      }
      const config = loadClusterConfig(opts.config);
      const { forceNewCluster } = await import('../backup/forceNewCluster.js');
      const r = await forceNewCluster({ fromDataDir: resolve(opts.fromDataDir), config, nodeId: opts.nodeId }).catch(refused);
      const summary = {
        dataDir: r.dataDir,
        nodeId: opts.nodeId,
        clusterId: config.clusterId,
        fromClusterId: r.from.clusterId,
        index: r.index,
        term: r.term,
        committedIndex: r.committedIndex,
        leases: r.leases,
        locks: r.locks,
      };
      warn(`recovered node ${opts.nodeId} of cluster ${r.from.clusterId} as the only member of new cluster ${config.clusterId}`);
      if (opts.json === true) printJson(summary);
      else {
        out(`seeded ${r.dataDir} for node ${opts.nodeId} of new cluster ${config.clusterId}`);
        out(`  from ${resolve(opts.fromDataDir)} (cluster ${r.from.clusterId}): ${r.leases} leases, ${r.locks} locks, up to index ${r.index} (known committed: ${r.committedIndex})`);
        out(`  new fencing tokens start above ${r.index}; start it with: raftlock node --config ${opts.config} --id ${opts.nodeId}`);
        out('  then add members with `raftlock member add`');
      }
      finish(EXIT.ok);
    });
}

import type { Command } from 'commander';
import { ConfigError, loadClusterConfig } from '../node/clusterConfig.js';
import { StorageError } from '../storage/errors.js';
import { TlsFileError } from '../client/tlsFiles.js';

/** registerNodeCommand adds `raftlock node --config FILE --id ID`: run one member in the foreground. */
export function registerNodeCommand(program: Command): void {
  program
    .command('node')
    .description('run one cluster member in the foreground (what scripts/cluster uses)')
    .requiredOption('-c, --config <file>', 'cluster config file (see cluster.example.json)')
    .requiredOption('-i, --id <id>', 'this member\'s id in the config, e.g. n1')
    .addHelpText('after', '\nExample:\n  raftlock node --config cluster.example.json --id n1\n\nSIGTERM or SIGINT stops it gracefully (a leader hands over leadership first).\nSIGHUP re-reads its TLS files (certificate rotation).')
    .action(async (opts: { config: string; id: string }) => {
      const config = loadClusterConfig(opts.config);
      // Loaded here, not at the top: the client commands never pay for the node's storage, Raft and server.
      const { startNode } = await import('../node/startNode.js');
      const { limitHeapGrowth } = await import('../node/heapPolicy.js');
      limitHeapGrowth();
      const fatal = (err: Error): void => {
        process.stderr.write(`raftlock node ${opts.id}: fatal: ${err.message}\n`);
        process.exit(1);
      };
      // Start-up failures (a corrupt or foreign data dir, a port in use) are operator
      // mistakes with clear messages: one line and a non-zero exit, no stack trace.
      const running = await startNode(config, opts.id, fatal).catch((err: Error) => {
        fatal(err);
        throw err;
      });
      let stopping = false;
      const shutdown = (signal: string): void => {
        if (stopping) return;
        stopping = true;
        running.logger.info({ signal }, 'shutting down');
        running.stop().then(() => process.exit(0), (err: Error) => fatal(err));
      };
      process.on('SIGTERM', () => shutdown('SIGTERM'));
      process.on('SIGINT', () => shutdown('SIGINT'));
      // Certificate rotation without a restart: re-read the TLS files (a bad file is refused and logged).
      process.on('SIGHUP', () => {
        running.reloadTls();
      });
    });
}

/** userError reports a mistake the user can fix, in one line (or a short list for config problems). */
export function describeUserError(err: unknown): string | null {
  if (err instanceof ConfigError) return err.message;
  // A data dir that is corrupt or belongs to another node: the operator fixes it, the message says how.
  if (err instanceof StorageError) return err.message;
  // A missing, unreadable or mismatched TLS file: the message names it and says what is expected.
  if (err instanceof TlsFileError) return err.message;
  return null;
}

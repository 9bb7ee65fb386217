import { Command, CommanderError } from 'commander';
import { describeClientError } from './session.js';
import { CliError, EXIT, oneLine } from './errors.js';
import { registerGetCommand } from './getCommand.js';
import { registerLeaseCommand } from './leaseCommand.js';
import { registerLockCommand } from './lockCommand.js';
import { registerMemberCommand } from './memberCommand.js';
import { describeUserError, registerNodeCommand } from './nodeCommand.js';
import { finishedCode } from './run.js';
import { registerStatusCommand } from './statusCommand.js';
import { registerRecoverCommand } from './recoverCommand.js';
import { registerSnapshotCommand } from './snapshotCommand.js';
import { registerAuthCommands } from './authCommand.js';

/**
 * The `raftlock` command. Mistakes the user can fix end in a one-line error and
 * a non-zero exit (see EXIT in errors.ts), never a stack trace.
 */
const program = new Command('raftlock')
  .description('raftlock: a Raft-replicated lock service with leases and fencing tokens')
  .exitOverride()
  .addHelpText(
    'after',
    [
      '',
      'Examples:',
      '  npm start                                   # a local 3-node cluster (cluster.example.json)',
      '  raftlock status                             # a table of the cluster',
      "  raftlock lock backups -- sh -c 'echo holding with token $RAFTLOCK_TOKEN'",
      '  raftlock lease grant 30s',
      '  raftlock get backups --json',
      '  raftlock snapshot save locks.rlsnap          # a backup; `raftlock snapshot restore --help` to seed a new cluster',
      '  raftlock token issue --user alice --token $ROOT_TOKEN   # auth-enabled clusters',
      '',
      'Client commands find the cluster with --endpoints host:port,..., else $RAFTLOCK_ENDPOINTS,',
      'else the client addresses in cluster.example.json. Run `raftlock COMMAND --help` for more.',
    ].join('\n'),
  );

registerNodeCommand(program);
registerLockCommand(program);
registerLeaseCommand(program);
registerGetCommand(program);
registerStatusCommand(program);
registerSnapshotCommand(program);
registerRecoverCommand(program);
registerMemberCommand(program);
registerAuthCommands(program);
oneLineErrors(program, 'raftlock');

/** oneLineErrors makes commander's own errors (unknown flag, missing argument) one line, naming the command's help. */
function oneLineErrors(cmd: Command, path: string): void {
  cmd.showHelpAfterError(false).configureOutput({
    outputError: (text, write) => write(`raftlock: ${oneLine(text.trim().replace(/^error: /, ''))} (see '${path} --help')\n`),
  });
  for (const sub of cmd.commands) oneLineErrors(sub, `${path} ${sub.name()}`);
}

try {
  await program.parseAsync(process.argv);
  const code = finishedCode();
  if (code !== null) process.exit(code);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : EXIT.usage);
  const e = err instanceof CliError ? err : describeClientError(err);
  if (e !== null) {
    process.stderr.write(`raftlock: ${oneLine(e.message)}\n`);
    process.exit(e.exitCode);
  }
  const message = describeUserError(err);
  if (message !== null) {
    process.stderr.write(`raftlock: ${message}\n`);
    process.exit(EXIT.usage);
  }
  throw err;
}

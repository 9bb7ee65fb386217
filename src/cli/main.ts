import { Command, CommanderError } from 'commander';
import { describeUserError, registerNodeCommand } from './nodeCommand.js';

/**
 * The `raftlock` command. Mistakes the user can fix end in a one-line error and
 * a non-zero exit, never a stack trace.
 */
const program = new Command('raftlock')
  .description('raftlock: a Raft-replicated lock service with leases and fencing tokens')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

registerNodeCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode);
  const message = describeUserError(err);
  if (message !== null) {
    process.stderr.write(`raftlock: ${message}\n`);
    process.exit(2);
  }
  throw err;
}

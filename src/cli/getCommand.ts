import type { Command } from 'commander';
import { addCommonOptions, withSession, type CommonOptions } from './session.js';
import { EXIT, EXIT_CODE_HELP, UsageError } from './errors.js';
import { out, printJson, table } from './output.js';
import { finish } from './run.js';

/** registerGetCommand adds `raftlock get NAME`: a lock's holders (with fencing tokens) and waiters. */
export function registerGetCommand(program: Command): void {
  const cmd = program
    .command('get')
    .description("show a lock's holders (lease, fencing token, mode) and its queue of waiters")
    .argument('<name>', 'the lock name');
  addCommonOptions(cmd)
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  raftlock get backups',
        '  raftlock get backups --json',
        '  raftlock get backups --endpoints 10.0.0.1:7001,10.0.0.2:7001',
        '',
        'A free lock has no holders and no waiters; that is not an error.',
        '',
        EXIT_CODE_HELP,
      ].join('\n'),
    )
    .action(async (name: string, opts: CommonOptions) => {
      if (name === '') throw new UsageError('the lock name is empty: give a name such as "backups"');
      const lock = await withSession(opts, (s) => s.bounded(`get ${name}`, s.client.get(name)));
      const holders = lock.holders.map((h) => ({ leaseId: String(h.leaseId), token: BigInt(h.token), mode: String(h.mode) }));
      const waiters = lock.waiters.map((w) => ({ leaseId: String(w.leaseId), mode: String(w.mode) }));
      if (opts.json === true) {
        printJson({ name: lock.name, holders, waiters });
      } else if (holders.length === 0 && waiters.length === 0) {
        out(`lock ${lock.name} is free`);
      } else {
        const state = holders.length === 0 ? 'free' : holders.length === 1 ? 'held' : `held by ${holders.length} leases`;
        out(`lock ${lock.name} is ${state}${waiters.length > 0 ? `, ${waiters.length} waiting` : ''}`);
        const rows = [
          ...holders.map((h) => ['holder', h.leaseId, h.mode, h.token.toString()]),
          ...waiters.map((w, i) => [`waiter ${i + 1}`, w.leaseId, w.mode, '-']),
        ];
        out(table(['ROLE', 'LEASE', 'MODE', 'TOKEN'], rows));
      }
      finish(EXIT.ok);
    });
}

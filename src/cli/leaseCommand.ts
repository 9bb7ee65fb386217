import type { Command } from 'commander';
import { DURATION_HELP, formatDuration, parseDuration } from './duration.js';
import { CliError, EXIT, EXIT_CODE_HELP, oneLine, UsageError } from './errors.js';
import { out, printJson, table, warn } from './output.js';
import { finish } from './run.js';
import { addCommonOptions, clientError, openSession, ttlError, withSession, type CommonOptions } from './session.js';

/**
 * `raftlock lease grant TTL | keep-alive ID | revoke ID | ttl ID | list`:
 * leases by hand, like `etcdctl lease`. A lease holds locks; when it is revoked
 * or expires (nobody renewed it within its TTL) every lock it holds is released.
 */

/** The largest lease id (ids are 1..2^53-1 decimal integers). */
const MAX_ID = Number.MAX_SAFE_INTEGER;

/** parseLeaseId checks a lease id given on the command line and returns it in canonical form. */
export function parseLeaseId(text: string): string {
  const t = text.trim();
  if (/^\d{1,16}$/.test(t)) {
    const n = Number(t);
    if (n >= 1 && n <= MAX_ID) return String(n);
  }
  throw new UsageError(`invalid lease id ${JSON.stringify(text)}: expected a decimal number from 1 to ${MAX_ID}, as printed by \`raftlock lease grant\``);
}

function help(lines: readonly string[]): string {
  return ['', 'Examples:', ...lines.map((l) => `  ${l}`), '', EXIT_CODE_HELP].join('\n');
}

/** registerLeaseCommand adds `raftlock lease` and its subcommands. */
export function registerLeaseCommand(program: Command): void {
  const lease = program
    .command('lease')
    .description('grant, renew, inspect, list and revoke leases')
    .addHelpText(
      'after',
      [
        '',
        'A lease holds locks. It lives while it is renewed (keep-alive) and ends when it',
        'is revoked or its TTL passes without a renewal; its locks are then released.',
        '',
        'Examples:',
        '  raftlock lease grant 30s            # prints the new lease id',
        '  raftlock lease keep-alive 12345     # renew it until Ctrl-C',
        '  raftlock lease ttl 12345            # TTL, time left, locks held',
        '  raftlock lease list --json',
        '  raftlock lease revoke 12345         # releases its locks',
      ].join('\n'),
    );

  addCommonOptions(lease.command('grant').description('grant a lease with a TTL and print its id (nothing renews it: it expires after the TTL)').argument('<ttl>', DURATION_HELP))
    .addHelpText('after', help(['raftlock lease grant 30s', 'raftlock lease grant 1m30s --json', 'raftlock lease grant 15000   # plain milliseconds']))
    .action(async (ttlText: string, opts: CommonOptions) => {
      const ttlMs = parseDuration(ttlText, 'TTL', { min: 1 });
      const granted = await withSession(opts, async (s) => {
        try {
          const l = await s.bounded('lease grant', s.client.grant(ttlMs));
          return { leaseId: l.id, ttlMs: l.ttlMs };
        } catch (err) {
          throw ttlError(err, 'TTL', ttlText, s.target);
        }
      });
      if (opts.json === true) printJson(granted);
      else out(`lease ${granted.leaseId} granted with TTL ${formatDuration(granted.ttlMs)}`);
      finish(EXIT.ok);
    });

  addCommonOptions(lease.command('keep-alive').description('renew a lease until interrupted (Ctrl-C), or until it is lost').argument('<id>', 'the lease id'))
    .addHelpText(
      'after',
      [
        help(['raftlock lease keep-alive 12345', 'raftlock lease keep-alive 12345 --endpoints 127.0.0.1:7001']),
        '',
        'Stops with exit code 0 on SIGINT/SIGTERM (the lease then expires after its TTL),',
        `or ${EXIT.failed} when the lease is lost (revoked, expired, or not renewed in time).`,
      ].join('\n'),
    )
    .action(async (idText: string, opts: CommonOptions) => {
      finish(await keepAliveCommand(parseLeaseId(idText), opts));
    });

  addCommonOptions(lease.command('revoke').description('revoke a lease: it ends now and its locks are released').argument('<id>', 'the lease id'))
    .addHelpText('after', help(['raftlock lease revoke 12345', 'raftlock lease revoke 12345 --json']))
    .action(async (idText: string, opts: CommonOptions) => {
      const id = parseLeaseId(idText);
      const released = await withSession(opts, async (s) => {
        // Revoke tolerates an unknown lease (retries are safe); ask first so a typo is reported.
        const ttl = await s.bounded(`lease ttl ${id}`, s.client.timeToLive(id));
        await s.bounded(`lease revoke ${id}`, s.client.revoke(id));
        return ttl.locks;
      });
      if (opts.json === true) printJson({ leaseId: id, revoked: true, locksReleased: released });
      else out(`lease ${id} revoked${released.length > 0 ? `; released ${released.length === 1 ? 'lock' : 'locks'} ${released.join(', ')}` : ''}`);
      finish(EXIT.ok);
    });

  addCommonOptions(lease.command('ttl').description("show a lease's TTL, the time it has left, and the locks it holds").argument('<id>', 'the lease id'))
    .addHelpText('after', help(['raftlock lease ttl 12345', 'raftlock lease ttl 12345 --json']))
    .action(async (idText: string, opts: CommonOptions) => {
      const id = parseLeaseId(idText);
      const t = await withSession(opts, (s) => s.bounded(`lease ttl ${id}`, s.client.timeToLive(id)));
      if (opts.json === true) {
        printJson({ leaseId: t.id, ttlMs: t.ttlMs, remainingMs: t.remainingMs, locks: t.locks });
      } else {
        const locks = t.locks.length === 0 ? 'holds no locks' : `holds ${t.locks.length === 1 ? 'lock' : `${t.locks.length} locks`}: ${t.locks.join(', ')}`;
        out(`lease ${t.id}: TTL ${formatDuration(t.ttlMs)}, remaining ${formatDuration(t.remainingMs)}, ${locks}`);
      }
      finish(EXIT.ok);
    });

  addCommonOptions(lease.command('list').description('list every lease in the cluster with its TTL'))
    .addHelpText('after', help(['raftlock lease list', 'raftlock lease list --json']))
    .action(async (opts: CommonOptions) => {
      const leases = await withSession(opts, (s) => s.bounded('lease list', s.client.leases()));
      if (opts.json === true) printJson({ leases: leases.map((l) => ({ leaseId: l.id, ttlMs: l.ttlMs })) });
      else if (leases.length === 0) out('no leases');
      else out(table(['LEASE', 'TTL'], leases.map((l) => [l.id, formatDuration(l.ttlMs)])));
      finish(EXIT.ok);
    });
}

/** keepAliveCommand renews lease `id` until a signal (exit 0) or until the lease is lost (exit 1). */
async function keepAliveCommand(id: string, opts: CommonOptions): Promise<number> {
  const s = await openSession(opts);
  try {
    let lease;
    try {
      lease = await s.bounded(`lease keep-alive ${id}`, s.client.keepAlive(id));
    } catch (err) {
      throw clientError(err, s.target);
    }
    const signal = lease.signal;
    const ended = new Promise<{ signal: NodeJS.Signals } | { lost: unknown }>((resolve) => {
      // The handlers go in before the banner: whoever reads the banner may signal at once, and a
      // SIGINT that beat the handler would kill the process instead of stopping it cleanly.
      const onSignal = (sig: NodeJS.Signals): void => resolve({ signal: sig });
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      if (signal.aborted) resolve({ lost: signal.reason });
      signal.addEventListener('abort', () => resolve({ lost: signal.reason }), { once: true });
    });
    if (opts.json === true) printJson({ leaseId: id, ttlMs: lease.ttlMs, keepingAlive: true });
    else out(`keeping lease ${id} alive (TTL ${formatDuration(lease.ttlMs)}); press Ctrl-C to stop`);
    const outcome = await ended;
    if ('lost' in outcome) {
      const why = outcome.lost instanceof Error ? oneLine(outcome.lost.message) : 'it was lost';
      throw new CliError(`stopped keeping lease ${id} alive: ${why}`, EXIT.failed);
    }
    if (opts.json !== true) warn(`stopped (${outcome.signal}); lease ${id} expires within ${formatDuration(lease.ttlMs)} unless renewed`);
    return EXIT.ok;
  } finally {
    await s.close();
  }
}

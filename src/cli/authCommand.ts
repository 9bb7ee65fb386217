import type { Command } from 'commander';
import type { AuthAdmin, Permission } from '../client/index.js';
import { hashToken, issueToken } from '../security/tokens.js';
import { EXIT, EXIT_CODE_HELP, UsageError } from './errors.js';
import { out, printJson, table } from './output.js';
import { finish } from './run.js';
import { addCommonOptions, withSession, type CommonOptions } from './session.js';

/**
 * `raftlock user | role | token | auth`: the users, roles, permissions and
 * bearer tokens of a cluster with auth enabled, in the manner of
 * `etcdctl user/role/auth`. Every change goes through the cluster's log and
 * needs a cluster admin (the user root, or a role with admin on "");
 * `auth bootstrap-token` works offline and makes the first root credential.
 */

const PERMISSIONS: readonly Permission[] = ['read', 'lock', 'admin'];

function help(lines: readonly string[]): string {
  return ['', 'Examples:', ...lines.map((l) => `  ${l}`), '', EXIT_CODE_HELP].join('\n');
}

function permissionArg(text: string): Permission {
  const p = text.trim().toLowerCase();
  if (!(PERMISSIONS as readonly string[]).includes(p)) throw new UsageError(`unknown permission ${JSON.stringify(text)}; accepted: read, lock, admin`);
  return p as Permission;
}

/** change runs one admin call and prints its message (or {"message"} with --json). */
async function change(opts: CommonOptions, run: (auth: AuthAdmin) => Promise<string>): Promise<void> {
  const message = await withSession(opts, (s) => s.bounded('auth change', run(s.client.auth)));
  if (opts.json === true) printJson({ message });
  else out(message);
  finish(EXIT.ok);
}

export function registerAuthCommands(program: Command): void {
  registerUser(program);
  registerRole(program);
  registerToken(program);
  registerAuth(program);
}

function registerUser(program: Command): void {
  const user = program.command('user').description('add, remove and list users; give them roles (cluster admins only)');
  addCommonOptions(user.command('add').description('add a user').argument('<name>', 'user name'))
    .addHelpText('after', help(['raftlock user add alice']))
    .action((name: string, opts: CommonOptions) => change(opts, (a) => a.addUser(name)));
  addCommonOptions(user.command('remove').description("remove a user and revoke its tokens (its leases stay until they end)").argument('<name>', 'user name'))
    .action((name: string, opts: CommonOptions) => change(opts, (a) => a.removeUser(name)));
  addCommonOptions(user.command('grant-role').description('give a user a role').argument('<user>', 'user name').argument('<role>', 'role name'))
    .addHelpText('after', help(['raftlock user grant-role alice orders-writer']))
    .action((u: string, r: string, opts: CommonOptions) => change(opts, (a) => a.grantRole(u, r)));
  addCommonOptions(user.command('revoke-role').description('take a role from a user').argument('<user>', 'user name').argument('<role>', 'role name'))
    .action((u: string, r: string, opts: CommonOptions) => change(opts, (a) => a.revokeRole(u, r)));
  addCommonOptions(user.command('list').description('list users and their roles')).action(async (opts: CommonOptions) => {
    const listing = await withSession(opts, (s) => s.bounded('user list', s.client.auth.list()));
    if (opts.json === true) printJson(listing.users);
    else out(table(['USER', 'ROLES'], listing.users.map((u) => [u.user, u.roles.join(',') || '-'])));
    finish(EXIT.ok);
  });
}

function registerRole(program: Command): void {
  const role = program
    .command('role')
    .description('add, remove and list roles; grant them permissions on lock-name prefixes (cluster admins only)')
    .addHelpText(
      'after',
      [
        '',
        'Permissions: read (raftlock get) < lock (acquire, release) < admin (other identities\' leases;',
        'admin on "" — every name — makes a cluster admin, who manages users, roles and tokens).',
      ].join('\n'),
    );
  addCommonOptions(role.command('add').description('add a role').argument('<name>', 'role name')).action((name: string, opts: CommonOptions) => change(opts, (a) => a.addRole(name)));
  addCommonOptions(role.command('remove').description('remove a role (and take it from every user)').argument('<name>', 'role name'))
    .action((name: string, opts: CommonOptions) => change(opts, (a) => a.removeRole(name)));
  addCommonOptions(role.command('grant').description('give a role a permission on a lock-name prefix').argument('<role>', 'role name').argument('<permission>', 'read, lock or admin').argument('<prefix>', 'lock-name prefix ("" = every name)'))
    .addHelpText('after', help(['raftlock role grant orders-writer lock orders/', "raftlock role grant ops admin ''"]))
    .action((r: string, p: string, prefix: string, opts: CommonOptions) => change(opts, (a) => a.grantPermission(r, permissionArg(p), prefix)));
  addCommonOptions(role.command('revoke').description('take a permission on a prefix from a role').argument('<role>', 'role name').argument('<permission>', 'read, lock or admin').argument('<prefix>', 'lock-name prefix'))
    .action((r: string, p: string, prefix: string, opts: CommonOptions) => change(opts, (a) => a.revokePermission(r, permissionArg(p), prefix)));
  addCommonOptions(role.command('list').description('list roles and their permissions')).action(async (opts: CommonOptions) => {
    const listing = await withSession(opts, (s) => s.bounded('role list', s.client.auth.list()));
    if (opts.json === true) printJson(listing.roles);
    else out(table(['ROLE', 'PERMISSION', 'PREFIX'], listing.roles.flatMap((r) => (r.grants.length === 0 ? [[r.role, '-', '-']] : r.grants.map((g) => [r.role, g.permission, JSON.stringify(g.prefix)])))));
    finish(EXIT.ok);
  });
}

function registerToken(program: Command): void {
  const token = program.command('token').description('issue, revoke and list bearer tokens (cluster admins only)');
  addCommonOptions(token.command('issue').description('issue a random bearer token for a user; it is printed once (the cluster keeps only its SHA-256)'))
    .requiredOption('--user <name>', 'the user the token authenticates as')
    .addHelpText('after', help(['raftlock token issue --user alice', 'export RAFTLOCK_AUTH_TOKEN=$(raftlock token issue --user alice --json | jq -r .token)']))
    .action(async (opts: CommonOptions & { user: string }) => {
      const t = await withSession(opts, (s) => s.bounded('token issue', s.client.auth.issueToken(opts.user)));
      if (opts.json === true) printJson(t);
      else {
        out(`token ${t.tokenId} issued to ${t.user}; it is shown only now:`);
        out(t.token);
      }
      finish(EXIT.ok);
    });
  addCommonOptions(token.command('revoke').description('revoke a token: refused from its next call on, on every member').argument('<id>', 'token id (16 hex digits, from token issue or token list)'))
    .action((id: string, opts: CommonOptions) => change(opts, (a) => a.revokeToken(id)));
  addCommonOptions(token.command('list').description('list tokens (ids and users; the secrets are not kept)')).action(async (opts: CommonOptions) => {
    const listing = await withSession(opts, (s) => s.bounded('token list', s.client.auth.list()));
    if (opts.json === true) printJson(listing.tokens);
    else out(table(['TOKEN ID', 'USER'], listing.tokens.map((t) => [t.tokenId, t.user])));
    finish(EXIT.ok);
  });
}

function registerAuth(program: Command): void {
  const auth = program.command('auth').description('who am I; make a bootstrap root token');
  addCommonOptions(auth.command('whoami').description('show the identity the cluster sees for these credentials')).action(async (opts: CommonOptions) => {
    const me = await withSession(opts, (s) => s.bounded('whoami', s.client.auth.whoAmI()));
    if (opts.json === true) printJson(me);
    else out(me.authEnabled ? `${me.user} (via ${me.via})${me.clusterAdmin ? ', cluster admin' : ''}` : 'auth is not enabled on this cluster: every caller may do everything');
    finish(EXIT.ok);
  });
  auth
    .command('bootstrap-token')
    .description('make a root token offline: prints the token and the SHA-256 to put in the cluster config as auth.rootTokenSha256')
    .option('--json', 'print JSON instead of text')
    .addHelpText('after', ['', 'Put the hash in every member\'s config ("auth": {"enabled": true, "rootTokenSha256": "..."}),', 'keep the token secret, and use it to add users and issue their tokens.'].join('\n'))
    .action((opts: { json?: boolean }) => {
      const t = issueToken();
      const sha256 = hashToken(t.token).toString('hex');
      if (opts.json === true) printJson({ token: t.token, rootTokenSha256: sha256 });
      else {
        out(`token:           ${t.token}`);
        out(`rootTokenSha256: ${sha256}`);
      }
      finish(EXIT.ok);
    });
}

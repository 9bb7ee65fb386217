import type { Command } from 'commander';
import type { MemberInfo } from '../client/index.js';
import { addCommonOptions, withSession, type CommonOptions } from './session.js';
import { EXIT, EXIT_CODE_HELP, UsageError } from './errors.js';
import { out, printJson, table } from './output.js';
import { finish } from './run.js';

/**
 * `raftlock member list|add|remove|promote` and `raftlock leader transfer`:
 * membership changes at run time, one at a time, through the leader. A new
 * node joins as a learner (add), catches up, then becomes a voter (promote).
 */

const MEMBER_ID = /^[a-z][a-z0-9-]{0,31}$/;

function checkId(id: string): string {
  if (!MEMBER_ID.test(id)) throw new UsageError(`member id ${JSON.stringify(id)} is not valid: 1-32 lowercase letters, digits or '-' starting with a letter (e.g. n4)`);
  return id;
}

function render(members: readonly MemberInfo[], leader: string | null, leaderLastIndex: bigint | null): string {
  const rows = members.map((m) => [
    m.id,
    m.role + (m.id === leader ? ' (leader)' : ''),
    m.clientAddress,
    m.peerAddress,
    m.matchIndex.toString(),
    leaderLastIndex === null ? '-' : (leaderLastIndex - m.matchIndex).toString(),
  ]);
  return table(['ID', 'ROLE', 'CLIENT', 'PEER', 'MATCH', 'BEHIND'], rows);
}

function jsonMembers(members: readonly MemberInfo[]): unknown[] {
  return members.map((m) => ({ ...m, matchIndex: m.matchIndex.toString() }));
}

export function registerMemberCommand(program: Command): void {
  const member = program.command('member').description('list and change the cluster membership (add a learner, promote it, remove a member)');

  const list = member.command('list').description("the members, as the leader sees them: role, addresses, and how far each one's log is behind");
  addCommonOptions(list).addHelpText('after', ['', 'Examples:', '  raftlock member list', '  raftlock member list --json', '', EXIT_CODE_HELP].join('\n'))
    .action(async (opts: CommonOptions) => {
      const r = await withSession(opts, (s) => s.bounded('member list', s.client.members()));
      if (opts.json === true) printJson({ leader: r.leader, leaderLastIndex: r.leaderLastIndex.toString(), members: jsonMembers(r.members) });
      else {
        out(`${r.members.filter((m) => m.role === 'voter').length} voters, ${r.members.filter((m) => m.role === 'learner').length} learners, leader ${r.leader ?? 'unknown'}`);
        out(render(r.members, r.leader, r.leaderLastIndex));
      }
      finish(EXIT.ok);
    });

  const add = member.command('add').description('add a new node as a learner: it receives the log but does not vote until promoted')
    .argument('<id>', 'the new member id (never reuse a removed member id)')
    .requiredOption('--client-address <host:port>', "the new node's client (public API) address")
    .requiredOption('--peer-address <host:port>', "the new node's peer (Raft) address");
  addCommonOptions(add).addHelpText('after', [
    '',
    'Start the new node with a config whose nodes[] lists it with "join": true (it waits to be',
    'added, neither campaigning nor voting), add it here, wait until `member list` shows it',
    'caught up (BEHIND near 0), then `raftlock member promote ID`.',
    '',
    'Examples:',
    '  raftlock member add n4 --client-address 127.0.0.1:7004 --peer-address 127.0.0.1:8004',
    '',
    EXIT_CODE_HELP,
  ].join('\n'))
    .action(async (id: string, opts: CommonOptions & { clientAddress: string; peerAddress: string }) => {
      const r = await withSession(opts, (s) => s.bounded(`member add ${id}`, s.client.addMember(checkId(id), { clientAddress: opts.clientAddress, peerAddress: opts.peerAddress })));
      report(opts, `added ${id} as a learner at log index ${r.index}; promote it once caught up: raftlock member promote ${id}`, r.index, r.members);
    });

  const promote = member.command('promote').description('make a caught-up learner a voter').argument('<id>', 'the learner id');
  addCommonOptions(promote).addHelpText('after', ['', 'Examples:', '  raftlock member promote n4', '', EXIT_CODE_HELP].join('\n'))
    .action(async (id: string, opts: CommonOptions) => {
      const r = await withSession(opts, (s) => s.bounded(`member promote ${id}`, s.client.promoteMember(checkId(id))));
      report(opts, `promoted ${id} to voter at log index ${r.index}`, r.index, r.members);
    });

  const remove = member.command('remove').description('remove a member (the leader too: it hands leadership over once the removal commits)').argument('<id>', 'the member id');
  addCommonOptions(remove).addHelpText('after', [
    '',
    'A removed node records its removal in its data dir and refuses to start from it again;',
    'to bring the machine back, give it an empty data dir and a new id, then add it.',
    '',
    'Examples:',
    '  raftlock member remove n3',
    '',
    EXIT_CODE_HELP,
  ].join('\n'))
    .action(async (id: string, opts: CommonOptions) => {
      const r = await withSession(opts, (s) => s.bounded(`member remove ${id}`, s.client.removeMember(checkId(id))));
      report(opts, `removed ${id} at log index ${r.index}; stop its process`, r.index, r.members);
    });

  const leader = program.command('leader').description('leadership');
  const transfer = leader.command('transfer').description('hand leadership to a voter (e.g. before maintenance on the leader)').argument('<id>', 'the voter to lead');
  addCommonOptions(transfer).addHelpText('after', ['', 'Examples:', '  raftlock leader transfer n2', '', EXIT_CODE_HELP].join('\n'))
    .action(async (id: string, opts: CommonOptions) => {
      await withSession(opts, (s) => s.bounded(`leader transfer ${id}`, s.client.transferLeader(checkId(id))));
      if (opts.json === true) printJson({ leader: id });
      else out(`${id} is the leader now`);
      finish(EXIT.ok);
    });
}

function report(opts: CommonOptions, text: string, index: bigint, members: readonly MemberInfo[]): void {
  if (opts.json === true) printJson({ index: index.toString(), members: jsonMembers(members) });
  else {
    out(text);
    out(render(members, null, null));
  }
  finish(EXIT.ok);
}

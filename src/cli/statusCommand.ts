import type { Command } from 'commander';
import { addCommonOptions, closeQuietly, connectTo, withDeadline, type CommonOptions } from './session.js';
import { DURATION_HELP, formatDuration, parseDuration } from './duration.js';
import { resolveEndpoints } from './endpoints.js';
import { resolveTls } from './tlsOptions.js';
import type { ClientTlsOptions } from '../client/index.js';
import { CliError, EXIT, EXIT_CODE_HELP, oneLine } from './errors.js';
import { dash, out, printJson, table } from './output.js';
import { finish } from './run.js';

/**
 * `raftlock status`: every member's own view of the cluster, asked directly
 * (Cluster.Status is served locally, never forwarded), so a table shows which
 * members are up, who they think leads, and how far each has committed and
 * applied. Members that do not answer within --timeout are shown as down.
 */

export const STATUS_TIMEOUT = '2s';

/** MemberStatus is one row of the table (and one element of --json's `members`). */
export interface MemberStatus {
  id: string | null;
  endpoint: string;
  up: boolean;
  role: string | null;
  term: number | null;
  leader: string | null;
  commitIndex: number | null;
  appliedIndex: number | null;
  snapshotIndex: number | null;
  error: string | null;
}

export interface ClusterStatus {
  /** leader: the leader in the highest term that a majority of the members name, or null. */
  leader: string | null;
  term: number | null;
  up: number;
  members: MemberStatus[];
}

interface NodeReply {
  id: string;
  role: string;
  term: number;
  leader: string | null;
  commitIndex: number;
  appliedIndex: number;
  snapshotIndex: number;
  members: { id: string; clientAddress: string }[];
}

/** registerStatusCommand adds `raftlock status`. */
export function registerStatusCommand(program: Command): void {
  const cmd = program.command('status').description("a table of the cluster: each member's role, term, leader, commit and applied index, or down");
  // Each member gets its own short deadline: a dead member must not slow the table down.
  addCommonOptions(cmd, STATUS_TIMEOUT, `how long to wait for each member before showing it as down (${DURATION_HELP})`);
  cmd
    .addHelpText(
      'after',
      [
        '',
        'Every endpoint is asked for its own view (and every member an answer names), so',
        'the table shows each member as it sees itself.',
        '',
        'Examples:',
        '  raftlock status',
        '  raftlock status --json',
        '  raftlock status --endpoints 127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003 --timeout 500ms',
        '',
        EXIT_CODE_HELP,
        `       (${EXIT.unavailable} for status means no member answered)`,
      ].join('\n'),
    )
    .action(async (opts: CommonOptions) => {
      const target = resolveEndpoints({ flag: opts.endpoints });
      const perNodeMs = parseDuration(opts.timeout, '--timeout', { min: 1 });
      const view = await clusterStatus(target.endpoints, perNodeMs, resolveTls(opts));
      if (opts.json === true) {
        printJson(view);
        finish(view.up > 0 ? EXIT.ok : EXIT.unavailable);
        return;
      }
      if (view.up === 0) {
        const from = target.source === '--endpoints' ? '' : ` (from ${target.source})`;
        throw new CliError(
          `cluster unavailable: no member answered within ${formatDuration(perNodeMs)} at ${target.endpoints.join(',')}${from}; is it running (npm start)?`,
          EXIT.unavailable,
        );
      }
      out(summary(view));
      out(render(view));
      finish(EXIT.ok);
    });
}

/** clusterStatus asks every endpoint, then every member an answer names that was not asked yet. */
export async function clusterStatus(endpoints: readonly string[], perNodeMs: number, tls?: ClientTlsOptions): Promise<ClusterStatus> {
  const replies = new Map<string, NodeReply | Error>();
  const ask = async (list: readonly string[]): Promise<void> => {
    await Promise.all(list.map(async (ep) => replies.set(ep, await askOne(ep, perNodeMs, tls))));
  };
  await ask(endpoints);
  const named = new Map<string, string>(); // endpoint -> member id, from the answers
  for (const r of replies.values()) {
    if (r instanceof Error) continue;
    for (const m of r.members) if (m.clientAddress !== '') named.set(m.clientAddress, m.id);
  }
  await ask([...named.keys()].filter((ep) => !replies.has(ep)));

  const members: MemberStatus[] = [...replies.entries()].map(([endpoint, r]) =>
    r instanceof Error
      ? { id: named.get(endpoint) ?? null, endpoint, up: false, role: null, term: null, leader: null, commitIndex: null, appliedIndex: null, snapshotIndex: null, error: r.message }
      : { id: r.id, endpoint, up: true, role: r.role, term: r.term, leader: r.leader, commitIndex: r.commitIndex, appliedIndex: r.appliedIndex, snapshotIndex: r.snapshotIndex, error: null },
  );
  members.sort((a, b) => (a.id ?? `~${a.endpoint}`).localeCompare(b.id ?? `~${b.endpoint}`, undefined, { numeric: true }));

  const size = Math.max(named.size, members.length);
  const leaders = members.filter((m) => m.role === 'leader').sort((a, b) => (b.term ?? 0) - (a.term ?? 0));
  const top = leaders[0];
  const backers = top === undefined ? 0 : members.filter((m) => m.leader === top.id && m.term === top.term).length;
  const agreed = top !== undefined && backers > size / 2;
  return { leader: agreed ? top.id : null, term: agreed ? top.term : null, up: members.filter((m) => m.up).length, members };
}

/** askOne asks one member for its own status on a client of its own (no failover), bounded by ms. */
async function askOne(endpoint: string, ms: number, tls: ClientTlsOptions | undefined): Promise<NodeReply | Error> {
  const timedOut = (): Error => new Error(`no answer within ${formatDuration(ms)}`);
  const target = { endpoints: [endpoint], source: '--endpoints' };
  try {
    const options = { connectTimeoutMs: ms, attemptTimeoutMs: ms, requestTimeoutMs: ms, discoverMembers: false, ...(tls !== undefined ? { tls } : {}) };
    const client = await withDeadline(connectTo(target, options), ms + 500, timedOut);
    try {
      const s = await withDeadline(client.status({ endpoint }), ms + 500, timedOut);
      return {
        id: s.id,
        // A learner follows the leader but never votes: show it as one.
        role: s.role === 'follower' && s.members.some((m) => m.id === s.id && m.role === 'learner') ? 'learner' : s.role,
        term: Number(s.term),
        leader: s.leader,
        commitIndex: Number(s.commitIndex),
        appliedIndex: Number(s.appliedIndex),
        snapshotIndex: Number(s.snapshotIndex),
        members: s.members.map((m) => ({ id: m.id, clientAddress: m.clientAddress })),
      };
    } finally {
      void closeQuietly(client, false, 1_000);
    }
  } catch (err) {
    return new Error(shortReason(err));
  }
}

/** shortReason turns a failed status call into a few words for the table. */
function shortReason(err: unknown): string {
  const text = oneLine(err instanceof Error ? err.message : String(err));
  if (/ECONNREFUSED|connection refused/i.test(text)) return 'connection refused';
  if (/no answer within|deadline|timed? ?out/i.test(text)) return `no answer within ${text.match(/\d+ ?m?s/)?.[0] ?? 'the timeout'}`;
  const cut = text.replace(/^cluster unavailable at \S+: /, '');
  return cut.length > 120 ? `${cut.slice(0, 117)}...` : cut;
}

function summary(view: ClusterStatus): string {
  const leader = view.leader === null ? 'no leader' : `leader ${view.leader} (term ${view.term})`;
  return `${view.up} of ${view.members.length} members up, ${leader}`;
}

function render(view: ClusterStatus): string {
  const rows = view.members.map((m) => [
    dash(m.id),
    m.endpoint,
    m.up ? 'up' : 'down',
    dash(m.role),
    dash(m.term),
    dash(m.leader),
    dash(m.commitIndex),
    dash(m.appliedIndex),
    dash(m.snapshotIndex),
    m.error ?? '',
  ]);
  const header = ['ID', 'ENDPOINT', 'STATE', 'ROLE', 'TERM', 'LEADER', 'COMMIT', 'APPLIED', 'SNAPSHOT', 'ERROR'];
  // The ERROR column only when some member is down.
  const width = view.members.some((m) => m.error !== null) ? header.length : header.length - 1;
  return table(header.slice(0, width), rows.map((r) => r.slice(0, width)));
}

import { MembershipError, type RaftlockClient } from '../../../src/client/index.js';
import { now } from './recorder.js';
import { sleep, type ChaosCluster, type MemberView, type NodeStatus } from './chaosCluster.js';

/**
 * membershipSteps: the operator's side of a membership change in a chaos
 * run — make a change happen despite refusals and faults, wait for a learner
 * to catch up, and read the configuration every node reports.
 */

/** ConfigView: one configuration, as sorted voter and learner ids. */
export interface ConfigView {
  readonly voters: readonly string[];
  readonly learners: readonly string[];
}

/** Agreement: the configuration the nodes converged on, and what each node in play reported. */
export interface Agreement {
  readonly config: ConfigView;
  readonly views: ReadonlyMap<string, ConfigView>;
}

export function configOf(members: readonly MemberView[]): ConfigView {
  const ids = (role: string): string[] => members.filter((m) => m.role === role).map((m) => m.id).sort();
  return { voters: ids('voter'), learners: ids('learner') };
}

function same(a: ConfigView, b: ConfigView): boolean {
  return a.voters.join() === b.voters.join() && a.learners.join() === b.learners.join();
}

function show(views: ReadonlyMap<string, ConfigView | null>): string {
  return [...views].map(([id, v]) => `${id}: ${v === null ? 'no answer' : `voters [${v.voters.join(',')}] learners [${v.learners.join(',')}]`}`).join('; ');
}

/**
 * agreedConfig waits (bounded) until the leader and every member of its
 * configuration that is in play answer Status with the same configuration,
 * and returns it with every node's view. A node in play outside that
 * configuration (a spare not added) is reported too: it must not count
 * itself a voter.
 */
export async function agreedConfig(cluster: ChaosCluster, timeoutMs = 30_000): Promise<Agreement> {
  const deadline = now() + timeoutMs;
  let last = new Map<string, ConfigView | null>();
  for (;;) {
    const leader = await cluster.currentLeader();
    const all = await cluster.statuses(1_000);
    last = new Map(cluster.ids.map((id) => [id, all.has(id) ? configOf(all.get(id)!.members) : null]));
    const lead = leader === null ? undefined : all.get(leader);
    if (lead !== undefined) {
      const config = configOf(lead.members);
      const inConfig = [...config.voters, ...config.learners].filter((id) => cluster.ids.includes(id));
      if (inConfig.every((id) => { const v = last.get(id); return v !== null && v !== undefined && same(v, config); })) {
        return { config, views: new Map([...last].filter((e): e is [string, ConfigView] => e[1] !== null)) };
      }
    }
    if (now() >= deadline) throw new Error(`the nodes did not agree on one configuration within ${timeoutMs} ms; leader ${leader ?? 'none'}; views: ${show(last)}`);
    await sleep(100);
  }
}

/**
 * changeUntil repeats a membership call until `done` holds on the leader's
 * configuration (bounded): refusals to retry (a change in progress, a leader
 * just elected, a learner not caught up) and unknown outcomes (a lost reply,
 * a leader that died) are retried; whatever a call answered, `done` on the
 * leader's configuration decides. Returns the number of calls made.
 */
export async function changeUntil(cluster: ChaosCluster, what: string, call: (c: RaftlockClient) => Promise<unknown>, done: (config: ConfigView) => boolean, timeoutMs = 45_000): Promise<number> {
  const deadline = now() + timeoutMs;
  const errors: string[] = [];
  for (let attempt = 1; ; attempt++) {
    const client = await cluster.memberClient({ requestTimeoutMs: 5_000 });
    try {
      await call(client);
    } catch (err) {
      // Whatever the answer (a refusal to retry, "already a member", "not a learner" after a lost
      // reply, an unknown outcome), the leader's configuration decides whether the change is done.
      if (errors.length < 5) errors.push(`${err instanceof MembershipError ? `MembershipError(${err.reason})` : (err as Error).name}: ${(err as Error).message}`);
    } finally {
      await client.close().catch(() => undefined);
    }
    const leader = await cluster.leader({ timeoutMs: Math.max(1_000, deadline - now()) });
    const view = await cluster.status(leader, 1_000).catch(() => null);
    if (view !== null && done(configOf(view.members))) return attempt;
    if (now() >= deadline) throw new Error(`${what}: not done within ${timeoutMs} ms after ${attempt} attempts; errors: ${errors.join(' | ')}`);
    await sleep(200);
  }
}

/** caughtUp waits (bounded) until `id` has applied everything the leader has committed. */
export async function caughtUp(cluster: ChaosCluster, id: string, timeoutMs = 30_000): Promise<NodeStatus> {
  const deadline = now() + timeoutMs;
  let last = '';
  for (;;) {
    const leader = await cluster.leader({ timeoutMs: Math.max(1_000, deadline - now()) });
    const [l, n] = await Promise.all([cluster.status(leader, 1_000).catch(() => null), cluster.status(id, 1_000).catch(() => null)]);
    if (l !== null && n !== null && n.appliedIndex >= l.commitIndex) return n;
    last = `leader ${leader} commit ${l?.commitIndex ?? '?'}; ${id} applied ${n?.appliedIndex ?? '?'}`;
    if (now() >= deadline) throw new Error(`${id} did not catch up within ${timeoutMs} ms: ${last}`);
    await sleep(100);
  }
}

import { pollUntil } from '../test/support/poll.js';
import { killChild, logTail, removeTempDir, type Child } from './processes.js';
import { BenchError, type Cluster, type LockClient, type SystemName } from './system.js';

/**
 * processCluster: the lifecycle both benchmarked systems share once their
 * members are local processes (start with a bounded retry on a port clash,
 * pids, kill, restart, leader polling, teardown), written once so that
 * raftlock and etcd are started, polled and stopped the very same way and
 * their figures stay comparable.
 *
 * A subclass says only what differs: how to spawn a member, how to ask a
 * member for its status, and how to read a leader out of the statuses.
 */

/** START_TIMEOUT_MS bounds a cluster's start, a member's restart and the default wait for a leader. */
export const START_TIMEOUT_MS = 30_000;

/** ProcessMember is one member of a local cluster: its name in messages, its log and its current process. */
export interface ProcessMember {
  readonly name: string;
  readonly logPath: string;
  child: Child | null;
}

/** StatusClient is what the cluster needs to poll its members: one status call per member index. */
export interface StatusClient<S> {
  status(member: number, deadlineMs: number): Promise<S>;
  close(): void;
}

export abstract class ProcessCluster<M extends ProcessMember, S> implements Cluster {
  abstract readonly system: SystemName;
  abstract readonly description: string;
  readonly size: number;
  /** statusClient asks members for their status (leader polling, serving checks); closed by destroy. */
  protected abstract readonly statusClient: StatusClient<S>;
  private readonly clients: LockClient[] = [];

  protected constructor(
    /** dir: the temp dir with the members' data and logs (removed by destroy). */
    readonly dir: string,
    protected readonly members: readonly M[],
  ) {
    this.size = members.length;
  }

  /** newClient returns a fresh client of this cluster; client() keeps it to close it on destroy. */
  protected abstract newClient(): LockClient;
  /** spawnMember starts the member's process (registered for cleanup by spawnLogged). */
  protected abstract spawnMember(m: M): Child;
  /** claimsLeadership: this status comes from a member that says it is the leader. */
  protected abstract claimsLeadership(s: S): boolean;
  /** agreesWith: `other` names the same leader in the same term as the leader's own status `leader`. */
  protected abstract agreesWith(other: S, leader: S): boolean;
  /** termOf is the Raft term a status reports. */
  protected abstract termOf(s: S): number;
  /** describeStatus renders one member's status (null: no answer) for a "no leader" error. */
  protected abstract describeStatus(m: M, s: S | null): string;

  /**
   * startBounded builds a cluster on fresh ports (build), starts it and waits
   * (bounded) for a leader and for every member to serve. Ports are picked
   * then released, so another process may take one first: when a member's log
   * matches `clash`, it destroys that cluster and tries again with new ports,
   * three attempts at most.
   */
  protected static async startBounded<C extends ProcessCluster<ProcessMember, unknown>>(build: () => Promise<C>, clash: RegExp): Promise<C> {
    for (let attempt = 1; ; attempt++) {
      const cluster = await build();
      try {
        cluster.startAll();
        await cluster.leader(START_TIMEOUT_MS);
        await cluster.allServing(START_TIMEOUT_MS);
        return cluster;
      } catch (err) {
        const clashed = cluster.members.some((m) => clash.test(logTail(m.logPath, 50)));
        await cluster.destroy();
        if (!clashed || attempt >= 3) throw err;
      }
    }
  }

  client(): LockClient {
    const c = this.newClient();
    this.clients.push(c);
    return c;
  }

  pid(member: number): number | null {
    const c = this.member(member).child;
    return c !== null && c.exited === null ? c.pid : null;
  }

  startAll(): void {
    for (let i = 0; i < this.size; i++) if (this.pid(i) === null) this.spawn(i);
  }

  async start(member: number): Promise<void> {
    this.spawn(member);
    const ok = await pollUntil(async () => {
      this.assertAlive(member);
      return (await this.status(member)) !== null ? true : null;
    }, START_TIMEOUT_MS, 50);
    const m = this.member(member);
    if (ok === null) throw new BenchError(`${this.system} ${m.name} did not serve within ${START_TIMEOUT_MS} ms:\n${logTail(m.logPath)}`);
  }

  async kill(member: number): Promise<void> {
    const c = this.member(member).child;
    if (c !== null) await killChild(c);
  }

  async killAll(): Promise<void> {
    await Promise.all(this.members.map((_, i) => this.kill(i)));
  }

  /** leader polls every running member until one claims leadership and a majority agrees on it (same leader, same term). */
  async leader(timeoutMs = START_TIMEOUT_MS): Promise<number> {
    let last = 'no member answered';
    const found = await pollUntil(async () => {
      const all = await Promise.all(this.members.map((_, i) => (this.pid(i) === null ? null : this.status(i))));
      last = all.map((s, i) => this.describeStatus(this.member(i), s)).join(' ');
      for (const [i, s] of all.entries()) {
        if (s === null || !this.claimsLeadership(s)) continue;
        const agree = all.filter((o) => o !== null && this.agreesWith(o, s)).length;
        if (agree > this.size / 2) return i;
      }
      for (let i = 0; i < this.size; i++) if (this.member(i).child !== null) this.assertAlive(i);
      return null;
    }, timeoutMs, 25);
    if (found === null) throw new BenchError(`${this.system}: no leader within ${timeoutMs} ms (${last})`);
    return found;
  }

  async term(): Promise<number | null> {
    const s = await this.status(await this.leader());
    return s === null ? null : this.termOf(s);
  }

  /** allServing waits (bounded) until every member answers a status call: a leader needs only a majority. */
  async allServing(timeoutMs: number): Promise<void> {
    const ok = await pollUntil(async () => {
      const all = await Promise.all(this.members.map((_, i) => this.status(i)));
      return all.every((s) => s !== null) ? true : null;
    }, timeoutMs, 25);
    if (ok === null) throw new BenchError(`${this.system}: not every member served within ${timeoutMs} ms`);
  }

  async destroy(): Promise<void> {
    await this.killAll();
    for (const c of this.clients) c.close();
    this.statusClient.close();
    removeTempDir(this.dir);
  }

  /** status is the member's answer to a status call, or null when it does not answer within 500 ms. */
  protected async status(member: number): Promise<S | null> {
    try {
      return await this.statusClient.status(member, 500);
    } catch {
      return null;
    }
  }

  private spawn(member: number): void {
    const m = this.member(member);
    m.child = this.spawnMember(m);
  }

  /** assertAlive fails a wait at once when the member exited by itself (not by a signal the bench sent). */
  private assertAlive(member: number): void {
    const m = this.member(member);
    const e = m.child?.exited;
    if (e !== undefined && e !== null && e.signal === null) throw new BenchError(`${this.system} ${m.name} exited by itself (code ${e.code}):\n${logTail(m.logPath)}`);
  }

  private member(i: number): M {
    const m = this.members[i];
    if (m === undefined) throw new Error(`no member #${i}`);
    return m;
  }
}

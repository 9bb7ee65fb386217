import { encodeCommand } from '../../../src/lock/commandCodec.js';
import type { Command } from '../../../src/lock/commands.js';
import type { LockLimits } from '../../../src/lock/limits.js';
import type { ApplyResult, CommandResult } from '../../../src/lock/results.js';
import { LockStateMachine } from '../../../src/lock/stateMachine.js';
import type { AuthCommand, AuthResult } from '../../../src/auth/authCommands.js';
import { AuthState } from '../../../src/auth/authState.js';
import { NotLeaderError, WaitCancelledError, type MemberInfo, type MembershipChange, type NodeApi, type NodeSnapshot, type NodeStatus } from '../../../src/node/nodeApi.js';

/**
 * FakeNode is the NodeApi twin for server tests: a single-node "cluster" that
 * applies every proposal at once to a real LockStateMachine (index = next log
 * index, one term), wakes waiters from ApplyResult.promoted / cancelledWaits
 * like the real node, and can be made a follower with a configured leader.
 *
 * Hooks let a test inject failures or interleavings:
 *  - beforePropose(cmd): runs before a command applies; return an Error to
 *    reject the proposal with it, or a CommandResult to answer with that
 *    result instead of applying (nothing changes), or undefined to apply.
 *  - proposeGate(cmd): return a promise to hold a proposal (not yet applied) until it settles.
 *  - beforeRead(): return an Error to reject a read.
 *  - keepAliveGate: while set, keepalives wait for it (to observe concurrency).
 *
 * Keepalives resolve in batches, one "quorum round" per macrotask, so
 * concurrent renewals share a round like the real node; maxPendingKeepAlives
 * records the most renewals that were ever outstanding at once.
 */
export class FakeNode implements NodeApi {
  readonly sm: LockStateMachine;
  readonly auth = new AuthState();
  readonly proposals: Command[] = [];
  role: 'leader' | 'follower' = 'leader';
  leaderInfo: { id: string; clientAddress: string } | null;
  term = 1;
  beforePropose: ((cmd: Command) => Error | CommandResult | undefined) | null = null;
  proposeGate: ((cmd: Command) => Promise<void> | undefined) | null = null;
  beforeRead: (() => Error | undefined) | null = null;
  keepAliveError: Error | null = null;
  keepAliveGate: Promise<void> | null = null;
  remaining = new Map<number, number>();
  keepAliveCalls = 0;
  pendingKeepAlives = 0;
  maxPendingKeepAlives = 0;

  private index = 0;
  private readonly waiters = new Map<string, Set<FakeWaiter>>();
  private round: Array<() => void> | null = null;
  private readonly leaderWaiters = new Set<() => void>();

  constructor(
    readonly id: string,
    limits: Partial<LockLimits> = {},
    private readonly memberList: NodeStatus['members'] = [],
  ) {
    this.sm = new LockStateMachine(limits);
    this.leaderInfo = null;
  }

  /** makeLeader: this node leads; leader() reports it at `clientAddress`. */
  makeLeader(clientAddress: string): void {
    this.role = 'leader';
    this.leaderInfo = { id: this.id, clientAddress };
    this.wakeLeaderWaiters();
  }

  /** makeFollower: this node follows `leader` (null: no leader known). */
  makeFollower(leader: { id: string; clientAddress: string } | null): void {
    this.role = 'follower';
    this.leaderInfo = leader;
    this.wakeLeaderWaiters();
  }

  /** awaitLeader: like the real node, wakes when makeLeader/makeFollower names a leader other than notId, or after maxWaitMs. */
  awaitLeader(notId: string | null, maxWaitMs: number): Promise<void> {
    if (this.leaderInfo !== null && this.leaderInfo.id !== notId) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const wake = (): void => {
        if (this.leaderInfo === null || this.leaderInfo.id === notId) return;
        clearTimeout(timer);
        this.leaderWaiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(() => {
        this.leaderWaiters.delete(wake);
        resolve();
      }, maxWaitMs);
      this.leaderWaiters.add(wake);
    });
  }

  private wakeLeaderWaiters(): void {
    for (const wake of [...this.leaderWaiters]) wake();
  }

  leader(): { readonly id: string; readonly clientAddress: string } | null {
    return this.leaderInfo;
  }

  isLeader(): boolean {
    return this.role === 'leader';
  }

  async propose(command: Command): Promise<ApplyResult> {
    await Promise.resolve();
    if (!this.isLeader()) throw this.notLeader();
    this.proposals.push(command);
    const gate = this.proposeGate?.(command);
    if (gate !== undefined) await gate;
    const hooked = this.beforePropose?.(command);
    if (hooked instanceof Error) throw hooked;
    if (hooked !== undefined) {
      return { index: ++this.index, result: hooked, promoted: [], cancelledWaits: [], leaseGranted: null, leasesRemoved: [] };
    }
    return this.applyNow(command);
  }

  /** applyNow applies a command immediately (tests use it to set up state without the server). */
  applyNow(command: Command): ApplyResult {
    const applied = this.sm.apply({ index: ++this.index, term: this.term, data: encodeCommand(command) });
    for (const p of applied.promoted) for (const w of this.takeWaiters(p.name, p.leaseId)) w.resolve(p.token);
    for (const c of applied.cancelledWaits) for (const w of this.takeWaiters(c.name, c.leaseId)) w.reject(new WaitCancelledError(c.name, c.leaseId));
    return applied;
  }

  /** grantLeases creates leases 1..count (or the given ids) directly. */
  grantLeases(ids: readonly number[], ttlMs = 10_000): void {
    for (const leaseId of ids) {
      const r = this.applyNow({ type: 'grant-lease', leaseId, ttlMs, idempotent: true }).result;
      if (r.kind !== 'lease-granted') throw new Error(`setup: lease ${leaseId} not granted: ${r.kind}`);
    }
  }

  async read<T>(query: (sm: LockStateMachine, auth: AuthState) => T): Promise<T> {
    await Promise.resolve();
    if (!this.isLeader()) throw this.notLeader();
    const err = this.beforeRead?.();
    if (err !== undefined) throw err;
    return query(this.sm, this.auth);
  }

  async proposeAuth(command: AuthCommand): Promise<AuthResult> {
    await Promise.resolve();
    if (!this.isLeader()) throw this.notLeader();
    ++this.index;
    return this.auth.applyCommand(command);
  }

  appliedAuth(): AuthState {
    return this.auth;
  }

  leaseOwner(leaseId: number): string | null {
    return this.sm.leaseOwner(leaseId);
  }

  snapshot(): Promise<NodeSnapshot> {
    return this.read((sm) => ({ clusterId: 'fake-cluster', index: sm.lastAppliedIndex, term: this.term, data: sm.snapshot() }));
  }

  async keepAlive(leaseId: number): Promise<number> {
    this.keepAliveCalls++;
    if (!this.isLeader()) throw this.notLeader();
    this.pendingKeepAlives++;
    this.maxPendingKeepAlives = Math.max(this.maxPendingKeepAlives, this.pendingKeepAlives);
    try {
      if (this.keepAliveGate !== null) await this.keepAliveGate;
      await this.quorumRound();
      if (this.keepAliveError !== null) throw this.keepAliveError;
      return this.sm.getLease(leaseId)?.ttlMs ?? 0;
    } finally {
      this.pendingKeepAlives--;
    }
  }

  remainingMs(leaseId: number): number | null {
    return this.remaining.get(leaseId) ?? null;
  }

  waitForGrant(name: string, leaseId: number, signal: AbortSignal): Promise<number> {
    if (!this.isLeader()) return Promise.reject(this.notLeader());
    const lock = this.sm.getLock(name);
    const held = lock?.holders.find((h) => h.leaseId === leaseId);
    if (held !== undefined) return Promise.resolve(held.token);
    if (lock === null || !lock.waiters.some((w) => w.leaseId === leaseId)) return Promise.reject(new WaitCancelledError(name, leaseId));
    const key = waiterKey(name, leaseId);
    return new Promise<number>((resolve, reject) => {
      const waiter: FakeWaiter = {
        resolve: (token) => {
          signal.removeEventListener('abort', onAbort);
          resolve(token);
        },
        reject: (err) => {
          signal.removeEventListener('abort', onAbort);
          reject(err);
        },
      };
      const onAbort = (): void => {
        const set = this.waiters.get(key);
        set?.delete(waiter);
        if (set?.size === 0) this.waiters.delete(key);
        reject(new Error('wait aborted'));
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      let set = this.waiters.get(key);
      if (set === undefined) this.waiters.set(key, (set = new Set()));
      set.add(waiter);
    });
  }

  private takeWaiters(name: string, leaseId: number): FakeWaiter[] {
    const key = waiterKey(name, leaseId);
    const set = this.waiters.get(key);
    this.waiters.delete(key);
    return set === undefined ? [] : [...set];
  }

  /** waiting: how many waitForGrant calls are registered right now. */
  get waiting(): number {
    let n = 0;
    for (const set of this.waiters.values()) n += set.size;
    return n;
  }

  /** Membership changes the fake accepted (it is a single-node cluster: nothing really changes). */
  readonly membershipChanges: MembershipChange[] = [];

  members(): MemberInfo[] {
    return this.memberList.map((m) => ({ ...m, role: m.role ?? 'voter', matchIndex: null }));
  }

  changeMembership(change: MembershipChange): Promise<{ index: number }> {
    if (!this.isLeader()) return Promise.reject(new NotLeaderError(null, null));
    this.membershipChanges.push(change);
    return Promise.resolve({ index: this.membershipChanges.length });
  }

  transferLeadership(_to: string): Promise<void> {
    if (!this.isLeader()) return Promise.reject(new NotLeaderError(null, null));
    return Promise.resolve();
  }

  status(): NodeStatus {
    return {
      id: this.id,
      role: this.role,
      term: this.term,
      leader: this.leaderInfo?.id ?? null,
      commitIndex: this.index,
      appliedIndex: this.index,
      snapshotIndex: 0,
      members: this.memberList,
    };
  }

  /** proposed lists the proposals of one type, in order. */
  proposed<K extends Command['type']>(type: K): Array<Extract<Command, { type: K }>> {
    return this.proposals.filter((c): c is Extract<Command, { type: K }> => c.type === type);
  }

  private notLeader(): NotLeaderError {
    return new NotLeaderError(this.leaderInfo?.id ?? null, this.leaderInfo?.clientAddress ?? null);
  }

  /** quorumRound resolves with every keepalive that joined the current round, on the next macrotask. */
  private quorumRound(): Promise<void> {
    return new Promise<void>((resolve) => {
      if (this.round === null) {
        const round: Array<() => void> = [];
        this.round = round;
        setImmediate(() => {
          this.round = null;
          for (const done of round) done();
        });
      }
      this.round.push(resolve);
    });
  }
}

interface FakeWaiter {
  readonly resolve: (token: number) => void;
  readonly reject: (err: Error) => void;
}

function waiterKey(name: string, leaseId: number): string {
  return `${leaseId}\u0000${name}`;
}

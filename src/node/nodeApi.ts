import type { Command } from '../lock/commands.js';
import type { LockStateMachine } from '../lock/stateMachine.js';
import type { ApplyResult } from '../lock/results.js';
import type { ConfChangeRefusal } from '../raft/membership.js';
import type { AuthCommand, AuthResult } from '../auth/authCommands.js';
import type { AuthState } from '../auth/authState.js';

/**
 * NodeApi is what the client-facing server asks of the local node. Every call
 * that needs the leader rejects with NotLeaderError on a follower (the server
 * then forwards to the leader or redirects the client); every rejection is a
 * typed NodeError the server maps to a gRPC status.
 */
export interface NodeApi {
  readonly id: string;

  /** leader returns the current leader's id and client address, if one is known. */
  leader(): { readonly id: string; readonly clientAddress: string } | null;
  isLeader(): boolean;
  /**
   * awaitLeader resolves once a leader other than `notId` is known (at once if
   * one is), or after maxWaitMs, whichever is first; it never rejects. A
   * follower parks a call here during an election instead of refusing it.
   */
  awaitLeader(notId: string | null, maxWaitMs: number): Promise<void>;

  /**
   * propose replicates a command and resolves with its ApplyResult once this
   * node applied it. Rejects with NotLeaderError, or with ProposalOutcomeUnknownError
   * when leadership was lost before the entry applied (it may or may not commit:
   * only idempotent commands may be retried).
   */
  propose(command: Command): Promise<ApplyResult>;

  /** proposeAuth replicates a change to users, roles or tokens, like propose. */
  proposeAuth(command: AuthCommand): Promise<AuthResult>;

  /**
   * appliedAuth is the auth state as applied on this node now (no quorum
   * round): for checks that must be cheap per message, such as re-checking a
   * KeepAlive stream's token. Calls are checked through read() instead.
   */
  appliedAuth(): AuthState;

  /**
   * read runs `query` against the state machine (and the auth state) once a
   * ReadIndex quorum round confirms leadership and the read index is applied:
   * a linearizable read.
   */
  read<T>(query: (sm: LockStateMachine, auth: AuthState) => T): Promise<T>;

  /**
   * keepAlive renews a lease on the leader and resolves only after a quorum
   * round that started after the renewal confirms this node still leads.
   * Resolves with the lease's TTL, or 0 when the lease is gone (unknown or
   * expiring): the client must treat it as lost.
   */
  keepAlive(leaseId: number): Promise<number>;

  /** leaseOwner is the owner of a lease as applied on this node ('' when ownerless), or null when there is no such lease. */
  leaseOwner(leaseId: number): string | null;

  /** remainingMs is the leader's view of the time left on a lease (null when unknown). */
  remainingMs(leaseId: number): number | null;

  /**
   * waitForGrant resolves with the fencing token when a queued wait of
   * (name, leaseId) is promoted, or rejects with WaitCancelledError when its
   * lease is revoked or expires, or NotLeaderError when leadership is lost.
   * `signal` aborting stops waiting (the caller withdraws through the log).
   */
  waitForGrant(name: string, leaseId: number, signal: AbortSignal): Promise<number>;

  status(): NodeStatus;

  /** members lists the configuration in force on this node (the latest in its log): voters, then learners. */
  members(): MemberInfo[];

  /**
   * changeMembership asks the leader for one membership change and resolves
   * once it is committed and applied here. Rejects with NotLeaderError on a
   * follower, MembershipRefusedError when the change is not acceptable now.
   */
  changeMembership(change: MembershipChange): Promise<{ readonly index: number }>;

  /**
   * transferLeadership hands leadership to the voter `to` and resolves once it
   * leads; rejects with MembershipRefusedError for a non-voter, or
   * ProposalRefusedError when it did not take over within two election timeouts.
   */
  transferLeadership(to: string): Promise<void>;

  /**
   * snapshot returns the whole lock state as the state machine's snapshot
   * bytes, taken on the leader after a ReadIndex round: its index is at least
   * the read index of the call, so it holds every write acknowledged before
   * the call began (a linearizable backup).
   */
  snapshot(): Promise<NodeSnapshot>;
}

/** NodeSnapshot is the lock state at Raft position (index, term) of cluster clusterId. */
export interface NodeSnapshot {
  readonly clusterId: string;
  readonly index: number;
  readonly term: number;
  readonly data: Uint8Array;
}

export type MembershipChange =
  | { readonly type: 'add-learner'; readonly node: string; readonly clientAddress: string; readonly peerAddress: string }
  | { readonly type: 'promote' | 'remove'; readonly node: string };

export interface MemberInfo {
  readonly id: string;
  readonly role: 'voter' | 'learner';
  readonly clientAddress: string;
  readonly peerAddress: string;
  /** The leader's view of the member's replicated log (its match index); null on a follower. */
  readonly matchIndex: number | null;
}

/** NodeError is the base of the node's operating errors; `name` is set on each class. */
export class NodeError extends Error {
  override readonly name: string = 'NodeError';
}

export class NotLeaderError extends NodeError {
  override readonly name = 'NotLeaderError';
  constructor(readonly leaderId: string | null, readonly leaderAddress: string | null) {
    super(leaderId === null
      ? 'this node is not the leader and no leader is known yet (an election is under way); retry shortly'
      : `this node is not the leader; the leader is ${leaderId} at ${leaderAddress ?? 'an unknown address'}`);
  }
}

export class ProposalOutcomeUnknownError extends NodeError {
  override readonly name = 'ProposalOutcomeUnknownError';
  constructor(reason: string) {
    super(`the request may or may not have taken effect: ${reason}; retrying an idempotent request is safe`);
  }
}

export class ProposalRefusedError extends NodeError {
  override readonly name = 'ProposalRefusedError';
}

export class WaitCancelledError extends NodeError {
  override readonly name = 'WaitCancelledError';
  constructor(readonly lockName: string, readonly leaseId: number) {
    super(`lease ${leaseId} was revoked or expired while waiting for lock ${JSON.stringify(lockName)}`);
  }
}

export class NodeStoppedError extends NodeError {
  override readonly name = 'NodeStoppedError';
  constructor() {
    super('this node is shutting down; retry on another member');
  }
}

/** Why a membership change or a leader transfer was refused, as the operator should read it. */
export type MembershipRefusal = ConfChangeRefusal | 'not-voter';

const REFUSAL_TEXT: Record<MembershipRefusal, (node: string) => string> = {
  'not-leader': () => 'this node is not the leader',
  'transferring': () => 'a leadership transfer is in progress; retry in a moment',
  'change-in-progress': () => 'another membership change is not committed yet; retry once it is (one change at a time)',
  'term-not-committed': () => 'the leader was just elected and has not committed an entry of its term yet; retry in a moment',
  'already-member': (n) => `${n} is already a member; remove it first, or pick a new id`,
  'not-learner': (n) => `${n} is not a learner: only a learner can be promoted (add it with member add first)`,
  'not-member': (n) => `${n} is not a member (unknown id); see member list`,
  'learner-behind': (n) => `learner ${n} is not caught up with the leader's log yet; wait until member list shows it close to the leader, then retry`,
  'last-voter': (n) => `removing ${n} would leave no voter; add and promote another member first`,
  'not-voter': (n) => `${n} is not a voter: leadership can only go to a voter`,
};

export class MembershipRefusedError extends NodeError {
  override readonly name = 'MembershipRefusedError';
  constructor(readonly reason: MembershipRefusal, readonly node: string) {
    super(`membership change refused: ${REFUSAL_TEXT[reason](node)}`);
  }
}

export interface NodeStatus {
  readonly id: string;
  readonly role: string;
  readonly term: number;
  readonly leader: string | null;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly snapshotIndex: number;
  readonly members: ReadonlyArray<{ readonly id: string; readonly clientAddress: string; readonly peerAddress: string; readonly role?: 'voter' | 'learner' }>;
}

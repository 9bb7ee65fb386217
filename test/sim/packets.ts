import { describeResult } from '../../src/lock/describeResult.js';
import type { Command, LockMode } from '../../src/lock/commands.js';
import type { CommandResult } from '../../src/lock/results.js';
import type { Message, NodeId } from '../../src/raft/types.js';

/**
 * The traffic of the simulated network besides Raft's own messages: lock
 * clients' requests and the nodes' replies, and proposals a node forwards to
 * the leader. Everything is plain immutable data, delivered (and duplicated)
 * by reference like Raft messages.
 */

/** LockOp is one client call; keepalive is answered by the leader's lease clock, the rest go through the log. */
export type LockOp =
  | { readonly kind: 'grant'; readonly leaseId: number; readonly ttlMs: number }
  | { readonly kind: 'keepalive'; readonly leaseId: number }
  | { readonly kind: 'revoke'; readonly leaseId: number }
  | { readonly kind: 'acquire'; readonly name: string; readonly leaseId: number; readonly mode: LockMode; readonly wait: boolean }
  | { readonly kind: 'release'; readonly name: string; readonly leaseId: number; readonly token: number }
  | { readonly kind: 'withdraw'; readonly name: string; readonly leaseId: number };

export type LoggedOp = Exclude<LockOp, { kind: 'keepalive' }>;

export interface ClientRequest {
  readonly type: 'client-request';
  readonly client: number;
  /** reqId names the operation; every retry of it reuses the id, and `attempt` tells the retries apart. */
  readonly reqId: number;
  readonly attempt: number;
  readonly op: LockOp;
  /**
   * countFromMs (simulator metadata, not part of a real request): the time the
   * client counts its lease from if this request is acknowledged — the send
   * time of a keepalive, the first send of a grant (a retry may find the lease
   * an earlier attempt created). The checker holds the cluster to it.
   */
  readonly countFromMs: number;
}

/** ReplyBody is what a node answers; `promoted` and `wait-cancelled` answer an earlier queued Acquire. */
export type ReplyBody =
  /** redirect: not the leader; try `leader` (null: unknown). */
  | { readonly kind: 'redirect'; readonly leader: NodeId | null }
  /** retry: refused for now, or the outcome is unknown (leadership lost, entry overwritten); retrying is safe. */
  | { readonly kind: 'retry'; readonly why: string }
  /** result: the command was applied at (index, term). */
  | { readonly kind: 'result'; readonly result: CommandResult; readonly index: number; readonly term: number }
  | { readonly kind: 'keepalive-ok'; readonly ttlMs: number; readonly grantedIndex: number }
  /** lease-gone: a keepalive found no lease, or one already being expired (a real server answers ttl 0). */
  | { readonly kind: 'lease-gone' }
  | { readonly kind: 'promoted'; readonly name: string; readonly leaseId: number; readonly token: number; readonly mode: LockMode; readonly term: number }
  | { readonly kind: 'wait-cancelled'; readonly name: string; readonly leaseId: number };

export interface ClientReply {
  readonly type: 'client-reply';
  readonly client: number;
  readonly reqId: number;
  readonly attempt: number;
  readonly from: NodeId;
  readonly body: ReplyBody;
}

/** ForwardedProposal: a proposal a node could not append itself, sent to the node its core names as leader. */
export interface ForwardedProposal {
  readonly type: 'forward';
  readonly from: NodeId;
  readonly to: NodeId;
  readonly data: Uint8Array;
}

/** Packet is anything the simulated network carries. */
export type Packet = Message | ClientRequest | ClientReply | ForwardedProposal;

/** commandOf maps a logged client call to the lock command a node proposes for it. */
export function commandOf(op: LoggedOp): Command {
  switch (op.kind) {
    case 'grant':
      return { type: 'grant-lease', leaseId: op.leaseId, ttlMs: op.ttlMs, idempotent: true };
    case 'revoke':
      return { type: 'revoke-lease', leaseId: op.leaseId };
    case 'acquire':
      return { type: 'acquire', name: op.name, leaseId: op.leaseId, mode: op.mode, wait: op.wait };
    case 'release':
      return { type: 'release', name: op.name, leaseId: op.leaseId, token: op.token };
    case 'withdraw':
      return { type: 'withdraw-wait', name: op.name, leaseId: op.leaseId };
  }
}

export function formatOp(op: LockOp): string {
  switch (op.kind) {
    case 'grant': return `grant L${op.leaseId} ttl=${op.ttlMs}`;
    case 'keepalive': return `keepalive L${op.leaseId}`;
    case 'revoke': return `revoke L${op.leaseId}`;
    case 'acquire': return `acquire ${op.name} L${op.leaseId} ${op.mode}${op.wait ? ' wait' : ''}`;
    case 'release': return `release ${op.name} L${op.leaseId} token=${op.token}`;
    case 'withdraw': return `withdraw ${op.name} L${op.leaseId}`;
  }
}

export function formatReply(b: ReplyBody): string {
  switch (b.kind) {
    case 'redirect': return `redirect to ${b.leader ?? '?'}`;
    case 'retry': return `retry (${b.why})`;
    case 'result': return `${b.index}@t${b.term}: ${describeResult(b.result)}`;
    case 'keepalive-ok': return `keepalive ok ttl=${b.ttlMs}`;
    case 'lease-gone': return 'lease gone';
    case 'promoted': return `promoted: ${b.name} to L${b.leaseId} ${b.mode} token=${b.token}`;
    case 'wait-cancelled': return `wait on ${b.name} by L${b.leaseId} cancelled`;
  }
}

import * as grpc from '@grpc/grpc-js';
import { describeResult } from '../lock/describeResult.js';
import type { CommandResult, HolderView } from '../lock/results.js';
import {
  NodeError,
  NodeStoppedError,
  NotLeaderError,
  ProposalOutcomeUnknownError,
  ProposalRefusedError,
  WaitCancelledError,
} from '../node/nodeApi.js';
import { ApiError } from './apiError.js';

/**
 * statusMapping turns the state machine's refusals and the node's typed errors
 * into gRPC statuses. The message is describeResult's (or the error's), which
 * says what was wrong and what is accepted.
 *
 *   result / error                     code                 trailing metadata
 *   ---------------------------------  -------------------  ---------------------------------
 *   lease-not-found                    NOT_FOUND
 *   WaitCancelledError                 NOT_FOUND            (the lease went while waiting)
 *   held (try-lock)                    FAILED_PRECONDITION  raftlock-holders, -holders-count
 *   not-holder                         FAILED_PRECONDITION  raftlock-holders, -holders-count
 *   stale-token                        FAILED_PRECONDITION
 *   mode-mismatch                      FAILED_PRECONDITION
 *   lease-id-conflict, lease-id-taken  ALREADY_EXISTS
 *   limit-exceeded                     RESOURCE_EXHAUSTED
 *   lease-not-owned                    PERMISSION_DENIED
 *   invalid-name, invalid-ttl          INVALID_ARGUMENT
 *   NotLeaderError                     UNAVAILABLE          raftlock-leader, raftlock-leader-id
 *   NodeStoppedError                   UNAVAILABLE          raftlock-leader, raftlock-leader-id
 *   ProposalOutcomeUnknownError        UNAVAILABLE          raftlock-leader, raftlock-leader-id
 *   ProposalRefusedError (overload)    UNAVAILABLE          raftlock-leader, raftlock-leader-id
 *   stale-expiry, a success kind where
 *   a refusal was expected, any other
 *   exception                          INTERNAL
 *
 * lease-id-conflict is ALREADY_EXISTS rather than FAILED_PRECONDITION: the
 * id names an existing lease the caller did not create with this TTL, and a
 * client reacts by choosing another id, not by waiting for state to change;
 * FAILED_PRECONDITION stays reserved for lock state that a retry may find
 * changed. Leader metadata is set only when a leader is known.
 */

/** METADATA names the raftlock-specific metadata keys (lower case, as gRPC requires). */
export const METADATA = Object.freeze({
  /** leader: the leader's client address. */
  leader: 'raftlock-leader',
  leaderId: 'raftlock-leader-id',
  /** holders: JSON [{leaseId, token, mode}] of a held lock, at most MAX_HOLDERS_IN_METADATA entries. */
  holders: 'raftlock-holders',
  /** holdersCount: the number of holders, which may exceed the entries in `holders`. */
  holdersCount: 'raftlock-holders-count',
  /** forwarded: set to "1" on a call a follower forwards to the leader. */
  forwarded: 'raftlock-forwarded',
  /** caller: on a forwarded call, the original caller's key (callerKey.ts), for fair queueing at the leader. */
  caller: 'raftlock-caller',
  /** forwardedUser: the certificate user a member relays a call for (trusted only from a member's certificate). */
  forwardedUser: 'raftlock-forwarded-user',
});

/** MAX_HOLDERS_IN_METADATA keeps the holders header well under gRPC's default 8 KiB metadata limit. */
export const MAX_HOLDERS_IN_METADATA = 32;

export interface LeaderHint {
  readonly id: string;
  readonly clientAddress: string;
}

/** leaderMetadata carries the leader's address and id, when one is known, for a client to redirect to. */
export function leaderMetadata(leader: LeaderHint | null, into: grpc.Metadata = new grpc.Metadata()): grpc.Metadata {
  if (leader !== null) {
    into.set(METADATA.leader, leader.clientAddress);
    into.set(METADATA.leaderId, leader.id);
  }
  return into;
}

/** unavailable is UNAVAILABLE with the leader's metadata. */
export function unavailable(message: string, leader: LeaderHint | null): ApiError {
  return new ApiError(grpc.status.UNAVAILABLE, message, leaderMetadata(leader));
}

/** statusForResult maps a refusal to its status; a success kind reaching here is a server bug (INTERNAL). */
export function statusForResult(result: CommandResult): ApiError {
  const message = describeResult(result);
  switch (result.kind) {
    case 'lease-not-found':
      return new ApiError(grpc.status.NOT_FOUND, message);
    case 'held':
    case 'not-holder':
      return new ApiError(grpc.status.FAILED_PRECONDITION, message, holdersMetadata(result.holders));
    case 'stale-token':
    case 'mode-mismatch':
      return new ApiError(grpc.status.FAILED_PRECONDITION, message);
    case 'lease-id-conflict':
    case 'lease-id-taken':
      return new ApiError(grpc.status.ALREADY_EXISTS, message);
    case 'limit-exceeded':
      return new ApiError(grpc.status.RESOURCE_EXHAUSTED, message);
    case 'lease-not-owned':
      return new ApiError(grpc.status.PERMISSION_DENIED, message);
    case 'invalid-name':
    case 'invalid-ttl':
      return new ApiError(grpc.status.INVALID_ARGUMENT, message);
    case 'stale-expiry':
    case 'lease-granted':
    case 'lease-revoked':
    case 'lease-expired':
    case 'granted':
    case 'queued':
    case 'released':
    case 'withdrawn':
    case 'not-waiting':
      return new ApiError(grpc.status.INTERNAL, `internal error: unexpected result ${result.kind} (${message})`);
  }
}

/**
 * statusForError maps anything a handler threw. `leader` is the node's current
 * leader hint, used when the error itself does not name one.
 */
export function statusForError(err: unknown, leader: LeaderHint | null): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof NotLeaderError) {
    const named = err.leaderId !== null && err.leaderAddress !== null ? { id: err.leaderId, clientAddress: err.leaderAddress } : leader;
    return unavailable(err.message, named);
  }
  if (err instanceof NodeStoppedError || err instanceof ProposalOutcomeUnknownError || err instanceof ProposalRefusedError) {
    return unavailable(err.message, leader);
  }
  if (err instanceof WaitCancelledError) return new ApiError(grpc.status.NOT_FOUND, err.message);
  if (err instanceof NodeError) return unavailable(err.message, leader);
  const text = err instanceof Error ? err.message : String(err);
  return new ApiError(grpc.status.INTERNAL, `internal error: ${text}`);
}

/** holdersMetadata lists a lock's holders for the client library's LockHeldError. */
export function holdersMetadata(holders: readonly HolderView[]): grpc.Metadata {
  const md = new grpc.Metadata();
  const shown = holders.slice(0, MAX_HOLDERS_IN_METADATA).map((h) => ({ leaseId: h.leaseId, token: h.token, mode: h.mode }));
  md.set(METADATA.holders, JSON.stringify(shown));
  md.set(METADATA.holdersCount, String(holders.length));
  return md;
}

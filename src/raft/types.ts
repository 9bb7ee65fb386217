/**
 * Types shared by the Raft core and its callers. Everything here is plain data:
 * the core never performs I/O, and the shell (or the simulator) moves these
 * values between the core, storage and the network.
 */

import type { Membership } from './membership.js';

export type { Membership };

/** NodeId is a stable name for a member ("n1"), never an address. */
export type NodeId = string;

/** The role a node plays in its current term. */
export type Role = 'follower' | 'pre-candidate' | 'candidate' | 'leader';

/**
 * EntryType distinguishes client commands from the empty entry every new
 * leader appends so that it can commit entries of earlier terms (Figure 8),
 * and from membership changes ('config', data: an encoded ConfChange, see membership.ts).
 */
export type EntryType = 'normal' | 'empty' | 'config';

export interface Entry {
  readonly term: number;
  readonly index: number;
  readonly type: EntryType;
  readonly data: Uint8Array;
}

/** HardState must be durable before any message that depends on it is sent. */
export interface HardState {
  readonly term: number;
  /** Vote is the candidate this node voted for in `term`, or '' for none. */
  readonly vote: NodeId;
  readonly commit: number;
}

/** SnapshotMeta identifies the state-machine image taken at `index`. */
export interface SnapshotMeta {
  readonly index: number;
  readonly term: number;
  readonly voters: readonly NodeId[];
  /** Non-voting members; absent in snapshots taken before membership changes existed. */
  readonly learners?: readonly NodeId[];
  /** Each member's opaque context (its addresses) from its add-learner entry; absent for the initial members. */
  readonly contexts?: readonly { readonly id: NodeId; readonly context: Uint8Array }[];
}

export interface Snapshot {
  readonly meta: SnapshotMeta;
  readonly data: Uint8Array;
}

/** ReadState says a linearizable read registered under `ctx` may be served once `index` is applied. */
export interface ReadState {
  readonly ctx: number;
  readonly index: number;
}

/** SoftState is volatile: it is reported when it changes and never persisted. */
export interface SoftState {
  readonly role: Role;
  readonly leader: NodeId | null;
  readonly term: number;
}

interface Envelope {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
}

/** RequestVote (or its PreVote twin) carrying the candidate's last log position. */
export interface VoteRequest extends Envelope {
  readonly type: 'vote' | 'pre-vote';
  readonly lastIndex: number;
  readonly lastTerm: number;
  /** Leader transfer: the voter may ignore its "heard from a leader recently" lease. */
  readonly transfer: boolean;
}

export interface VoteResponse extends Envelope {
  readonly type: 'vote-resp' | 'pre-vote-resp';
  readonly granted: boolean;
}

/** AppendEntries: entries following (prevIndex, prevTerm), plus the leader's commit. */
export interface AppendRequest extends Envelope {
  readonly type: 'append';
  readonly prevIndex: number;
  readonly prevTerm: number;
  readonly entries: readonly Entry[];
  readonly commit: number;
}

/**
 * AppendResponse acknowledges up to `index`, or rejects `index` (the leader's
 * prevIndex) with a hint: the follower's last index at or below which its log
 * holds no entry of a term above `hintTerm`, so the leader can skip a whole
 * conflicting term in one round trip.
 */
export interface AppendResponse extends Envelope {
  readonly type: 'append-resp';
  readonly index: number;
  readonly reject: boolean;
  readonly hintIndex: number;
  readonly hintTerm: number;
}

/** Heartbeat carries the leader's commit (bounded by the follower's match) and the latest read round. */
export interface HeartbeatRequest extends Envelope {
  readonly type: 'heartbeat';
  readonly commit: number;
  readonly readRound: number;
}

export interface HeartbeatResponse extends Envelope {
  readonly type: 'heartbeat-resp';
  readonly readRound: number;
}

/** One bounded chunk of an InstallSnapshot transfer. */
export interface SnapshotChunk extends Envelope {
  readonly type: 'snapshot';
  readonly meta: SnapshotMeta;
  readonly offset: number;
  readonly totalBytes: number;
  readonly chunk: Uint8Array;
}

/** The follower's acknowledgement of a chunk: the offset it expects next, or a request to restart. */
export interface SnapshotResponse extends Envelope {
  readonly type: 'snapshot-resp';
  readonly snapshotIndex: number;
  readonly nextOffset: number;
  readonly reject: boolean;
}

/** TimeoutNow tells the transfer target to campaign at once. */
export interface TimeoutNow extends Envelope {
  readonly type: 'timeout-now';
}

export type Message =
  | VoteRequest
  | VoteResponse
  | AppendRequest
  | AppendResponse
  | HeartbeatRequest
  | HeartbeatResponse
  | SnapshotChunk
  | SnapshotResponse
  | TimeoutNow;

export type MessageType = Message['type'];

/**
 * Ready is the work the core hands to its caller. The caller must, in order:
 * 1. persist `snapshot`, `entries` (replacing any stored entries at or after
 *    the first one's index) and `hardState` in one durable write;
 * 2. send `messages`;
 * 3. restore `snapshot` into the state machine, then apply `committedEntries`;
 * 4. call `advance(ready)`.
 * Steps may be called on the core between ready() and advance(); only one
 * Ready is outstanding at a time.
 */
export interface Ready {
  readonly softState: SoftState | null;
  readonly hardState: HardState | null;
  readonly snapshot: Snapshot | null;
  readonly entries: readonly Entry[];
  readonly messages: readonly Message[];
  readonly committedEntries: readonly Entry[];
  readonly readStates: readonly ReadState[];
  /** Ctxs of reads dropped because leadership was lost; callers fail them (retry elsewhere). */
  readonly droppedReads: readonly number[];
  /** The configuration in force (latest in the log) when it changed since the last Ready, else null. */
  readonly membership: Membership | null;
}

/** Why a proposal was not appended; the caller maps these to client errors. */
export type ProposeRefusal = 'not-leader' | 'transferring' | 'too-many-uncommitted' | 'too-large';

export type ProposeResult =
  | { readonly ok: true; readonly index: number; readonly term: number }
  | { readonly ok: false; readonly reason: ProposeRefusal; readonly leader: NodeId | null };

/** Rng is the injected source of randomness: an integer in [0, bound). */
export interface Rng {
  nextInt(bound: number): number;
}

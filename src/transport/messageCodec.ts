import type {
  AppendRequest,
  AppendResponse,
  Entry,
  EntryType,
  HeartbeatRequest,
  HeartbeatResponse,
  Message,
  MessageType,
  NodeId,
  SnapshotChunk,
  SnapshotMeta,
  SnapshotResponse,
  TimeoutNow,
  VoteRequest,
  VoteResponse,
} from '../raft/types.js';
import { InvalidPeerMessageError } from './errors.js';

export { InvalidPeerMessageError } from './errors.js';

/*
 * messageCodec converts the core's Message union to and from the plain objects
 * that @grpc/proto-loader serializes for proto/raft.proto (loaded with
 * keepCase: false, longs: Number, enums: String, defaults: true, oneofs: true).
 *
 * encodeMessage trusts its input: it comes from our own core. decodeMessage
 * trusts nothing: every field is checked for type, range and structure, and
 * the result is built only once everything has passed, so a caller gets a
 * whole Message or an InvalidPeerMessageError, never a half-built value.
 */

/** MAX_NODE_ID_LENGTH bounds a node id on the wire (ids are short names like "n1"). */
export const MAX_NODE_ID_LENGTH = 128;
/** MAX_VOTERS bounds a snapshot's voter list (clusters have 3 or 5 voters). */
export const MAX_VOTERS = 64;

// ---------------------------------------------------------------- wire shapes

export type EntryTypeWire = 'ENTRY_TYPE_NORMAL' | 'ENTRY_TYPE_EMPTY' | 'ENTRY_TYPE_CONFIG';

export interface EntryWire {
  term: number;
  index: number;
  type: EntryTypeWire;
  data: Uint8Array;
}

export interface SnapshotMetaWire {
  index: number;
  term: number;
  voters: string[];
  learners?: string[];
  contexts?: { id: string; context: Uint8Array }[];
}

/** MAX_CONTEXT_BYTES bounds one member's opaque context (its addresses). */
export const MAX_CONTEXT_BYTES = 64 * 1024;

export interface VoteRequestWire { lastIndex: number; lastTerm: number; transfer: boolean }
export interface VoteResponseWire { granted: boolean }
export interface AppendRequestWire { prevIndex: number; prevTerm: number; entries: EntryWire[]; commit: number }
export interface AppendResponseWire { index: number; reject: boolean; hintIndex: number; hintTerm: number }
export interface HeartbeatRequestWire { commit: number; readRound: number }
export interface HeartbeatResponseWire { readRound: number }
export interface SnapshotChunkWire { meta: SnapshotMetaWire; offset: number; totalBytes: number; chunk: Uint8Array }
export interface SnapshotResponseWire { snapshotIndex: number; nextOffset: number; reject: boolean }
export type TimeoutNowWire = Record<string, never>;

/** BodyCase names the `oneof body` field of RaftMessage (camelCase, as proto-loader reports it). */
export type BodyCase =
  | 'vote' | 'preVote' | 'voteResp' | 'preVoteResp' | 'append' | 'appendResp'
  | 'heartbeat' | 'heartbeatResp' | 'snapshot' | 'snapshotResp' | 'timeoutNow';

/** RaftMessageWire is a RaftMessage as proto-loader produces and accepts it: the envelope and one body. */
export interface RaftMessageWire {
  from: string;
  to: string;
  term: number;
  /** The name of the body case that is set (present on decoded objects with oneofs: true). */
  body?: BodyCase;
  vote?: VoteRequestWire;
  preVote?: VoteRequestWire;
  voteResp?: VoteResponseWire;
  preVoteResp?: VoteResponseWire;
  append?: AppendRequestWire;
  appendResp?: AppendResponseWire;
  heartbeat?: HeartbeatRequestWire;
  heartbeatResp?: HeartbeatResponseWire;
  snapshot?: SnapshotChunkWire;
  snapshotResp?: SnapshotResponseWire;
  timeoutNow?: TimeoutNowWire;
}

/** PeerBatchWire is a PeerBatch as proto-loader produces and accepts it. */
export interface PeerBatchWire {
  clusterId: string;
  from: string;
  to: string;
  messages: RaftMessageWire[];
  /** senderPeerAddress: the sender's own peer address; absent ('' once decoded) from senders that predate it. */
  senderPeerAddress?: string;
}

export interface PeerAckWire {
  batches: number;
  messages: number;
}

const CASE_OF_TYPE: { readonly [T in MessageType]: BodyCase } = {
  'vote': 'vote',
  'pre-vote': 'preVote',
  'vote-resp': 'voteResp',
  'pre-vote-resp': 'preVoteResp',
  'append': 'append',
  'append-resp': 'appendResp',
  'heartbeat': 'heartbeat',
  'heartbeat-resp': 'heartbeatResp',
  'snapshot': 'snapshot',
  'snapshot-resp': 'snapshotResp',
  'timeout-now': 'timeoutNow',
};

const BODY_CASES: readonly BodyCase[] = Object.values(CASE_OF_TYPE);

const ENTRY_TYPE_TO_WIRE: { readonly [T in EntryType]: EntryTypeWire } = {
  normal: 'ENTRY_TYPE_NORMAL',
  empty: 'ENTRY_TYPE_EMPTY',
  config: 'ENTRY_TYPE_CONFIG',
};

// ---------------------------------------------------------------- encode

/** encodeMessage converts a Message from our core into its wire object. */
export function encodeMessage(m: Message): RaftMessageWire {
  const wire: RaftMessageWire = { from: m.from, to: m.to, term: m.term };
  switch (m.type) {
    case 'vote':
    case 'pre-vote': {
      const body: VoteRequestWire = { lastIndex: m.lastIndex, lastTerm: m.lastTerm, transfer: m.transfer };
      if (m.type === 'vote') wire.vote = body;
      else wire.preVote = body;
      break;
    }
    case 'vote-resp':
    case 'pre-vote-resp':
      if (m.type === 'vote-resp') wire.voteResp = { granted: m.granted };
      else wire.preVoteResp = { granted: m.granted };
      break;
    case 'append':
      wire.append = { prevIndex: m.prevIndex, prevTerm: m.prevTerm, entries: m.entries.map(encodeEntry), commit: m.commit };
      break;
    case 'append-resp':
      wire.appendResp = { index: m.index, reject: m.reject, hintIndex: m.hintIndex, hintTerm: m.hintTerm };
      break;
    case 'heartbeat':
      wire.heartbeat = { commit: m.commit, readRound: m.readRound };
      break;
    case 'heartbeat-resp':
      wire.heartbeatResp = { readRound: m.readRound };
      break;
    case 'snapshot':
      wire.snapshot = {
        meta: {
          index: m.meta.index, term: m.meta.term, voters: [...m.meta.voters],
          learners: [...(m.meta.learners ?? [])],
          contexts: (m.meta.contexts ?? []).map((c) => ({ id: c.id, context: c.context })),
        },
        offset: m.offset, totalBytes: m.totalBytes, chunk: m.chunk,
      };
      break;
    case 'snapshot-resp':
      wire.snapshotResp = { snapshotIndex: m.snapshotIndex, nextOffset: m.nextOffset, reject: m.reject };
      break;
    case 'timeout-now':
      wire.timeoutNow = {};
      break;
  }
  return wire;
}

function encodeEntry(e: Entry): EntryWire {
  return { term: e.term, index: e.index, type: ENTRY_TYPE_TO_WIRE[e.type], data: e.data };
}

/**
 * estimateWireBytes is an upper-bound guess of a message's encoded size, used
 * to bound batches below the gRPC max message size. Numbers and tags cost at
 * most 11 bytes each; strings and bytes their length plus a prefix.
 */
export function estimateWireBytes(m: Message): number {
  let bytes = 96 + m.from.length * 3 + m.to.length * 3;
  if (m.type === 'append') {
    for (const e of m.entries) bytes += 40 + e.data.length;
  } else if (m.type === 'snapshot') {
    bytes += 48 + m.chunk.length;
    for (const v of [...m.meta.voters, ...(m.meta.learners ?? [])]) bytes += 8 + v.length * 3;
    for (const c of m.meta.contexts ?? []) bytes += 16 + c.id.length * 3 + c.context.length;
  }
  return bytes;
}

// ---------------------------------------------------------------- decode

type Obj = Readonly<Record<string, unknown>>;

function fail(path: string, reason: string): never {
  throw new InvalidPeerMessageError(path, reason);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (v instanceof Uint8Array) return `${v.length} bytes`;
  if (typeof v === 'string') return `"${v.length > 40 ? `${v.slice(0, 40)}…` : v}"`;
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}

function obj(v: unknown, path: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array) {
    fail(path, `must be an object, got ${describe(v)}`);
  }
  return v as Obj;
}

/** u64 reads a non-negative safe integer (uint64 on the wire, loaded with longs: Number). */
function u64(o: Obj, key: string, path: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    fail(`${path}${key}`, `must be an integer in [0, ${Number.MAX_SAFE_INTEGER}], got ${describe(v)}`);
  }
  return v;
}

function bool(o: Obj, key: string, path: string): boolean {
  const v = o[key];
  if (typeof v !== 'boolean') fail(`${path}${key}`, `must be a boolean, got ${describe(v)}`);
  return v;
}

/** bytes copies the field into a fresh Uint8Array, so the message never pins the batch buffer it arrived in. */
function bytes(o: Obj, key: string, path: string): Uint8Array {
  const v = o[key];
  if (!(v instanceof Uint8Array)) fail(`${path}${key}`, `must be bytes, got ${describe(v)}`);
  return new Uint8Array(v);
}

/** nodeId checks a node id: a non-empty string of at most MAX_NODE_ID_LENGTH characters. */
export function checkNodeId(v: unknown, path: string): NodeId {
  if (typeof v !== 'string' || v.length === 0 || v.length > MAX_NODE_ID_LENGTH) {
    fail(path, `must be a node id (a string of 1 to ${MAX_NODE_ID_LENGTH} characters), got ${describe(v)}`);
  }
  return v;
}

/**
 * decodeMessage validates a wire object (as proto-loader decoded it) and
 * converts it into a Message; it throws InvalidPeerMessageError on anything
 * malformed and never returns a partial value.
 */
export function decodeMessage(wire: unknown): Message {
  const o = obj(wire, 'message');
  const from = checkNodeId(o['from'], 'from');
  const to = checkNodeId(o['to'], 'to');
  const term = u64(o, 'term', '');
  const bodyCase = bodyCaseOf(o);
  const b = obj(o[bodyCase], bodyCase);
  const p = `${bodyCase}.`;
  switch (bodyCase) {
    case 'vote':
    case 'preVote': {
      const lastIndex = u64(b, 'lastIndex', p);
      const lastTerm = u64(b, 'lastTerm', p);
      const transfer = bool(b, 'transfer', p);
      if (lastTerm > term) fail(`${p}lastTerm`, `must be at most the message term ${term}, got ${lastTerm}`);
      const m: VoteRequest = { type: bodyCase === 'vote' ? 'vote' : 'pre-vote', from, to, term, lastIndex, lastTerm, transfer };
      return m;
    }
    case 'voteResp':
    case 'preVoteResp': {
      const m: VoteResponse = { type: bodyCase === 'voteResp' ? 'vote-resp' : 'pre-vote-resp', from, to, term, granted: bool(b, 'granted', p) };
      return m;
    }
    case 'append':
      return decodeAppend(b, from, to, term);
    case 'appendResp': {
      const m: AppendResponse = {
        type: 'append-resp', from, to, term,
        index: u64(b, 'index', p), reject: bool(b, 'reject', p),
        hintIndex: u64(b, 'hintIndex', p), hintTerm: u64(b, 'hintTerm', p),
      };
      return m;
    }
    case 'heartbeat': {
      const m: HeartbeatRequest = { type: 'heartbeat', from, to, term, commit: u64(b, 'commit', p), readRound: u64(b, 'readRound', p) };
      return m;
    }
    case 'heartbeatResp': {
      const m: HeartbeatResponse = { type: 'heartbeat-resp', from, to, term, readRound: u64(b, 'readRound', p) };
      return m;
    }
    case 'snapshot':
      return decodeSnapshotChunk(b, from, to, term);
    case 'snapshotResp': {
      const m: SnapshotResponse = {
        type: 'snapshot-resp', from, to, term,
        snapshotIndex: u64(b, 'snapshotIndex', p), nextOffset: u64(b, 'nextOffset', p), reject: bool(b, 'reject', p),
      };
      return m;
    }
    case 'timeoutNow': {
      const m: TimeoutNow = { type: 'timeout-now', from, to, term };
      return m;
    }
  }
}

/** bodyCaseOf finds the one body case that is set, and checks it agrees with the `body` discriminator if present. */
function bodyCaseOf(o: Obj): BodyCase {
  const set = BODY_CASES.filter((c) => o[c] !== undefined && o[c] !== null);
  if (set.length !== 1) {
    fail('body', set.length === 0
      ? `is missing: exactly one of ${BODY_CASES.join(', ')} must be set`
      : `must be exactly one case, got ${set.join(' and ')}`);
  }
  const found = set[0] as BodyCase;
  const named = o['body'];
  if (named !== undefined && named !== found) fail('body', `names ${describe(named)} but the set case is ${found}`);
  return found;
}

function decodeAppend(b: Obj, from: NodeId, to: NodeId, term: number): AppendRequest {
  const prevIndex = u64(b, 'prevIndex', 'append.');
  const prevTerm = u64(b, 'prevTerm', 'append.');
  const commit = u64(b, 'commit', 'append.');
  if (prevTerm > term) fail('append.prevTerm', `must be at most the message term ${term}, got ${prevTerm}`);
  const list = b['entries'];
  if (!Array.isArray(list)) fail('append.entries', `must be a list, got ${describe(list)}`);
  if (prevIndex + list.length > Number.MAX_SAFE_INTEGER) fail('append.entries', `run past index ${Number.MAX_SAFE_INTEGER}`);
  const entries: Entry[] = [];
  let lastTerm = prevTerm;
  for (let i = 0; i < list.length; i++) {
    const path = `append.entries[${i}]`;
    const e = decodeEntry(list[i], `${path}.`);
    // Invariant: an AppendEntries run continues the log at prevIndex + 1 with
    // non-decreasing terms, none above the leader's term (the core asserts it).
    if (e.index !== prevIndex + 1 + i) fail(`${path}.index`, `must be ${prevIndex + 1 + i} (contiguous after prevIndex ${prevIndex}), got ${e.index}`);
    if (e.term < lastTerm) fail(`${path}.term`, `must be at least ${lastTerm} (terms never decrease along the log), got ${e.term}`);
    if (e.term > term) fail(`${path}.term`, `must be at most the message term ${term}, got ${e.term}`);
    lastTerm = e.term;
    entries.push(e);
  }
  return { type: 'append', from, to, term, prevIndex, prevTerm, entries, commit };
}

function decodeEntry(v: unknown, path: string): Entry {
  const e = obj(v, path.slice(0, -1));
  const term = u64(e, 'term', path);
  const index = u64(e, 'index', path);
  const wireType = e['type'];
  let type: EntryType;
  if (wireType === 'ENTRY_TYPE_NORMAL') type = 'normal';
  else if (wireType === 'ENTRY_TYPE_EMPTY') type = 'empty';
  else if (wireType === 'ENTRY_TYPE_CONFIG') type = 'config';
  else fail(`${path}type`, `must be ENTRY_TYPE_NORMAL, ENTRY_TYPE_EMPTY or ENTRY_TYPE_CONFIG, got ${describe(wireType)}`);
  const data = bytes(e, 'data', path);
  if (index < 1) fail(`${path}index`, 'must be at least 1');
  if (term < 1) fail(`${path}term`, 'must be at least 1');
  if (type === 'empty' && data.length > 0) fail(`${path}data`, `must be empty for an ENTRY_TYPE_EMPTY entry, got ${data.length} bytes`);
  return { term, index, type, data };
}

function decodeSnapshotChunk(b: Obj, from: NodeId, to: NodeId, term: number): SnapshotChunk {
  const metaObj = obj(b['meta'], 'snapshot.meta');
  const meta = decodeSnapshotMeta(metaObj, term);
  const offset = u64(b, 'offset', 'snapshot.');
  const totalBytes = u64(b, 'totalBytes', 'snapshot.');
  const chunk = bytes(b, 'chunk', 'snapshot.');
  if (offset + chunk.length > totalBytes) {
    fail('snapshot.chunk', `must end within the snapshot: offset ${offset} + ${chunk.length} bytes > totalBytes ${totalBytes}`);
  }
  return { type: 'snapshot', from, to, term, meta, offset, totalBytes, chunk };
}

function decodeSnapshotMeta(o: Obj, term: number): SnapshotMeta {
  const index = u64(o, 'index', 'snapshot.meta.');
  const metaTerm = u64(o, 'term', 'snapshot.meta.');
  if (index < 1) fail('snapshot.meta.index', 'must be at least 1');
  if (metaTerm < 1) fail('snapshot.meta.term', 'must be at least 1');
  if (metaTerm > term) fail('snapshot.meta.term', `must be at most the message term ${term}, got ${metaTerm}`);
  const list = o['voters'];
  if (!Array.isArray(list) || list.length === 0 || list.length > MAX_VOTERS) {
    fail('snapshot.meta.voters', `must list 1 to ${MAX_VOTERS} node ids, got ${Array.isArray(list) ? `${list.length}` : describe(list)}`);
  }
  const voters: NodeId[] = [];
  for (let i = 0; i < list.length; i++) {
    const id = checkNodeId(list[i], `snapshot.meta.voters[${i}]`);
    if (voters.includes(id)) fail(`snapshot.meta.voters[${i}]`, `repeats voter "${id}"`);
    voters.push(id);
  }
  const learnerList = o['learners'] ?? [];
  if (!Array.isArray(learnerList) || learnerList.length > MAX_VOTERS) {
    fail('snapshot.meta.learners', `must list at most ${MAX_VOTERS} node ids, got ${Array.isArray(learnerList) ? `${learnerList.length}` : describe(learnerList)}`);
  }
  const learners: NodeId[] = [];
  for (let i = 0; i < learnerList.length; i++) {
    const id = checkNodeId(learnerList[i], `snapshot.meta.learners[${i}]`);
    if (voters.includes(id) || learners.includes(id)) fail(`snapshot.meta.learners[${i}]`, `repeats member "${id}"`);
    learners.push(id);
  }
  const contextList = o['contexts'] ?? [];
  if (!Array.isArray(contextList) || contextList.length > 2 * MAX_VOTERS) {
    fail('snapshot.meta.contexts', `must list at most ${2 * MAX_VOTERS} member contexts, got ${Array.isArray(contextList) ? `${contextList.length}` : describe(contextList)}`);
  }
  const contexts: { id: NodeId; context: Uint8Array }[] = [];
  for (let i = 0; i < contextList.length; i++) {
    const c = obj(contextList[i], `snapshot.meta.contexts[${i}]`);
    const id = checkNodeId(c['id'], `snapshot.meta.contexts[${i}].id`);
    const context = bytes(c, 'context', `snapshot.meta.contexts[${i}].`);
    if (context.length > MAX_CONTEXT_BYTES) fail(`snapshot.meta.contexts[${i}].context`, `must be at most ${MAX_CONTEXT_BYTES} bytes, got ${context.length}`);
    contexts.push({ id, context });
  }
  // A snapshot without learners or contexts decodes to the shape older snapshots have.
  return {
    index, term: metaTerm, voters,
    ...(learners.length > 0 ? { learners } : {}),
    ...(contexts.length > 0 ? { contexts } : {}),
  };
}

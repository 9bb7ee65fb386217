import { assert } from './assert.js';
import type { Entry, NodeId, SnapshotMeta } from './types.js';

/**
 * Membership changes, one server at a time (Raft thesis §4.1). A change is a
 * log entry of type 'config' whose data encodes a ConfChange; a node uses the
 * latest configuration in its log — appended, not only committed — for
 * elections and quorums. Any two successive configurations differ by one
 * voter, so their majorities overlap and no two can decide alone.
 *
 * One server at a time was chosen over joint consensus because every change an
 * operator needs (add, promote, remove, replace) is a sequence of single
 * steps, and it keeps a single majority everywhere in the core.
 */

/** ConfChangeType: what one change does. Learners replicate but never vote. */
export type ConfChangeType = 'add-learner' | 'promote' | 'remove';

export interface ConfChange {
  readonly type: ConfChangeType;
  readonly node: NodeId;
  /** Opaque to the core: the shell stores the member's addresses here (add-learner). */
  readonly context: Uint8Array;
}

/** MemberContext is the opaque context (addresses) recorded for a member by its add-learner entry. */
export interface MemberContext {
  readonly id: NodeId;
  readonly context: Uint8Array;
}

export interface Membership {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
  readonly contexts: readonly MemberContext[];
}

const KINDS: readonly ConfChangeType[] = ['add-learner', 'promote', 'remove'];
const MAX_ID_BYTES = 255;
const MAX_CONTEXT_BYTES = 64 * 1024;
const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

/** encodeConfChange: kind u8 | id length u8 | id UTF-8 | context length u32 BE | context. */
export function encodeConfChange(cc: ConfChange): Uint8Array {
  const id = utf8Encoder.encode(cc.node);
  assert(id.length > 0 && id.length <= MAX_ID_BYTES, () => `conf change: node id of ${id.length} bytes`);
  assert(cc.context.length <= MAX_CONTEXT_BYTES, () => `conf change: context of ${cc.context.length} bytes`);
  const out = new Uint8Array(1 + 1 + id.length + 4 + cc.context.length);
  out[0] = KINDS.indexOf(cc.type);
  out[1] = id.length;
  out.set(id, 2);
  const view = new DataView(out.buffer);
  view.setUint32(2 + id.length, cc.context.length);
  out.set(cc.context, 6 + id.length);
  return out;
}

/** decodeConfChange is the inverse; a malformed entry is a corrupted log, so it asserts. */
export function decodeConfChange(data: Uint8Array): ConfChange {
  assert(data.length >= 6, () => `conf change: ${data.length} bytes is too short`);
  const type = KINDS[data[0] as number];
  assert(type !== undefined, () => `conf change: unknown kind ${String(data[0])}`);
  const idLength = data[1] as number;
  assert(idLength > 0 && data.length >= 6 + idLength, 'conf change: truncated node id');
  const node = utf8Decoder.decode(data.subarray(2, 2 + idLength));
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const contextLength = view.getUint32(2 + idLength);
  assert(data.length === 6 + idLength + contextLength, 'conf change: context length disagrees with the entry size');
  return { type, node, context: data.slice(6 + idLength) };
}

/**
 * applyConfChange returns the membership after `cc`. It is total so that every
 * node computes the same result from the same log; the leader refuses changes
 * that would be no-ops or unsafe before they reach the log (checkConfChange).
 */
export function applyConfChange(m: Membership, cc: ConfChange): Membership {
  const others = (ids: readonly NodeId[]) => ids.filter((id) => id !== cc.node);
  const contexts = m.contexts.filter((c) => c.id !== cc.node);
  switch (cc.type) {
    case 'add-learner':
      if (m.voters.includes(cc.node) || m.learners.includes(cc.node)) return m;
      return { voters: m.voters, learners: [...m.learners, cc.node], contexts: [...contexts, { id: cc.node, context: cc.context }] };
    case 'promote':
      if (!m.learners.includes(cc.node)) return m;
      return { voters: [...m.voters, cc.node], learners: others(m.learners), contexts: m.contexts };
    case 'remove':
      return { voters: others(m.voters), learners: others(m.learners), contexts };
  }
}

export function isMember(m: Membership, id: NodeId): boolean {
  return m.voters.includes(id) || m.learners.includes(id);
}

/** membershipOfSnapshot reads a snapshot's membership; snapshots from before learners existed list voters only. */
export function membershipOfSnapshot(meta: SnapshotMeta): Membership {
  return { voters: meta.voters, learners: meta.learners ?? [], contexts: meta.contexts ?? [] };
}

/** Why the leader refuses a membership change; the shell maps these to operator errors. */
export type ConfChangeRefusal =
  | 'not-leader'
  | 'transferring'
  | 'change-in-progress'
  | 'term-not-committed'
  | 'already-member'
  | 'not-learner'
  | 'not-member'
  | 'learner-behind'
  | 'last-voter';

/**
 * checkConfChange validates a change against the current membership, without
 * progress (the caller checks catch-up): '' when acceptable.
 */
export function checkConfChange(m: Membership, cc: ConfChange): ConfChangeRefusal | '' {
  switch (cc.type) {
    case 'add-learner':
      return isMember(m, cc.node) ? 'already-member' : '';
    case 'promote':
      if (!isMember(m, cc.node)) return 'not-member';
      return m.learners.includes(cc.node) ? '' : 'not-learner';
    case 'remove':
      if (!isMember(m, cc.node)) return 'not-member';
      return m.voters.length === 1 && m.voters[0] === cc.node ? 'last-voter' : '';
  }
}

interface ConfPoint {
  readonly index: number;
  readonly term: number;
  readonly membership: Membership;
}

/**
 * MembershipLog tracks the configuration at every point of the log: a base
 * (the snapshot's, or the initial one at index 0) and each config entry after
 * it. The latest point is the configuration in force; truncating an
 * uncommitted change reverts to the point before it.
 *
 * Invariant: points are in increasing index order, all above baseIndex.
 */
export class MembershipLog {
  private baseIndex: number;
  private base: Membership;
  private points: ConfPoint[] = [];

  constructor(baseIndex: number, base: Membership) {
    this.baseIndex = baseIndex;
    this.base = base;
  }

  latest(): Membership {
    return this.points[this.points.length - 1]?.membership ?? this.base;
  }

  /** latestIndex is the index of the latest config entry (or the base): a change is pending while it exceeds the commit index. */
  latestIndex(): number {
    return this.points[this.points.length - 1]?.index ?? this.baseIndex;
  }

  /** at returns the configuration in force once the log up to `index` is applied. */
  at(index: number): Membership {
    assert(index >= this.baseIndex, () => `membership: no configuration known at ${index} (base ${this.baseIndex})`);
    let m = this.base;
    for (const p of this.points) {
      if (p.index > index) break;
      m = p.membership;
    }
    return m;
  }

  /**
   * joinedAt is the index from which `id` has been a member without a break:
   * the config entry that added it, or the base index when that entry is
   * compacted away. Undefined when it is not a member.
   */
  joinedAt(id: NodeId): number | undefined {
    if (!isMember(this.latest(), id)) return undefined;
    for (let i = this.points.length - 1; i >= 0; i--) {
      const before = i === 0 ? this.base : (this.points[i - 1] as ConfPoint).membership;
      if (!isMember(before, id)) return (this.points[i] as ConfPoint).index;
    }
    return this.baseIndex;
  }

  /** appended records entries just written to the log; config entries among them change the configuration. */
  appended(entries: readonly Entry[]): void {
    for (const e of entries) {
      if (e.type !== 'config') continue;
      assert(e.index > this.latestIndex(), () => `membership: config entry ${e.index} not after ${this.latestIndex()}`);
      this.points.push({ index: e.index, term: e.term, membership: applyConfChange(this.latest(), decodeConfChange(e.data)) });
    }
  }

  /** truncated drops every point the log no longer holds (`termAt` undefined or another term there). */
  truncated(termAt: (index: number) => number | undefined): void {
    while (this.points.length > 0) {
      const p = this.points[this.points.length - 1] as ConfPoint;
      if (termAt(p.index) === p.term) return;
      this.points.pop();
    }
  }

  /** compacted moves the base up to `index` (a snapshot was taken there). */
  compacted(index: number): void {
    if (index <= this.baseIndex) return;
    this.base = this.at(index);
    this.baseIndex = index;
    this.points = this.points.filter((p) => p.index > index);
  }

  /** restored replaces everything with a received snapshot's configuration. */
  restored(index: number, m: Membership): void {
    this.baseIndex = index;
    this.base = m;
    this.points = [];
  }
}

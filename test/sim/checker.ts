import type { RaftStatus } from '../../src/raft/raft.js';
import type { Entry, Message, Ready, Role, Snapshot } from '../../src/raft/types.js';
import { fail } from './assert.js';
import { fnv1a32 } from './hash.js';
import type { SimNode } from './node.js';

/**
 * Checker holds the cluster-wide invariants and checks them incrementally
 * after every event (each check touches only what the event changed). Wire
 * and storage checks run on every message sent and every Ready persisted or
 * applied; the status-based checks run after every event that may have changed
 * a node's role, term, vote, commit or applied index — any such change
 * surfaces in the node's next Ready (soft/hard state, applied entries), which
 * sets SimNode.needsCheck — so none is missed and status() stays off the hot path.
 *
 * Invariants:
 *
 * - election safety: at most one leader per term, over the whole run;
 * - log matching: every (index, term) ever seen in a persisted Ready or on the
 *   wire maps to one payload and one previous term (which by induction gives
 *   identical prefixes); within a batch, indexes are contiguous and terms never decrease;
 * - commit safety: an index is only ever committed with one term, on any node;
 * - the Figure 8 rule: a leader's commit index only moves onto an entry of its own term;
 * - commit quorum: when a leader's commit moves, the entry there is durable on
 *   a majority of the voters of the leader's configuration in force, so no two
 *   disjoint majorities can commit (membership changes keep consecutive
 *   configurations' majorities overlapping; this checks each commit against
 *   the actual disks);
 * - leader completeness: a new leader of term T holds every entry known to be
 *   committed before T (same term at each index it still holds, lastIndex past them);
 * - state machine safety: the entry applied at an index is the same (term and
 *   payload) on every node; snapshots taken or restored at an index are
 *   byte-identical on every node (the lock checker compares each apply's
 *   results, lockChecker.ts);
 * - monotonicity per incarnation: term, commit and applied never go back;
 *   applied <= commit <= lastIndex; the core's applied matches the state machine's;
 * - persistence before send: no non-PreVote message carries a term the sender
 *   has not durably stored, and a granted vote is durably recorded.
 * Storage checks its own invariants (stored term, vote, commit) in SimStorage.
 */

const TERM_BITS = 2 ** 20;

export interface CheckerStats {
  elections: number;
  leaderChanges: number;
  entriesObserved: number;
}

interface NodeView {
  role: Role;
  term: number;
  commit: number;
  applied: number;
}

export class Checker {
  readonly stats: CheckerStats = { elections: 0, leaderChanges: 0, entriesObserved: 0 };
  /** term -> 1 + index of the node that led it. */
  private readonly leaderByTerm: number[] = [];
  /** (index, term) -> payload hash and previous term (+1; 0 when unknown). */
  private readonly entryInfo = new Map<number, number>();
  /** index -> term committed there. */
  private readonly committedTerm: number[] = [];
  /** term U -> highest index any node knew committed while in term U. */
  private readonly commitMaxByTerm: number[] = [];
  private readonly appliedTerm: number[] = [];
  private readonly appliedHash: number[] = [];
  /** index -> digest of the state machine's snapshot bytes there (recorded at compactions and restores). */
  private readonly stateDigest: number[] = [];
  private readonly views: NodeView[] = [];
  private lastLeader = -1;
  maxCommit = 0;

  constructor(
    private readonly nodes: readonly SimNode[],
    private readonly note: (node: number, text: string) => void,
    private readonly onNewLeader: (node: SimNode, term: number) => void = () => {},
  ) {
    for (let i = 0; i < nodes.length; i++) this.views.push({ role: 'follower', term: 0, commit: 0, applied: 0 });
  }

  /** nodeStarted resets the per-incarnation view of a (re)started node. */
  nodeStarted(node: SimNode): void {
    const st = node.core().status();
    this.checkShape(node, st);
    const snapIndex = node.storage.snapshotIndex;
    if (st.commit < snapIndex) fail(`${node.id}: restarted with commit ${st.commit} below its snapshot ${snapIndex}`);
    if (st.applied !== node.service.lastApplied) fail(`${node.id}: restarted with applied ${st.applied}, state machine at ${node.service.lastApplied}`);
    const view = this.views[node.idx] as NodeView;
    view.role = st.role;
    view.term = st.term;
    view.applied = st.applied;
    view.commit = Math.max(0, st.firstIndex - 1);
    this.commitAdvanced(node, st);
    if (st.role === 'leader') this.becameLeader(node, st);
  }

  /** afterEvent checks one node after an event that touched it. */
  afterEvent(node: SimNode): void {
    if (!node.up) return;
    const st = node.core().status();
    const view = this.views[node.idx] as NodeView;
    this.checkShape(node, st);
    if (st.term < view.term) fail(`${node.id}: term went back from ${view.term} to ${st.term}`);
    if (st.commit < view.commit) fail(`${node.id}: commit went back from ${view.commit} to ${st.commit}`);
    if (st.applied < view.applied) fail(`${node.id}: applied went back from ${view.applied} to ${st.applied}`);
    if (node.outstanding === null) {
      if (st.applied !== node.service.lastApplied) fail(`${node.id}: core applied ${st.applied} but the state machine applied ${node.service.lastApplied}`);
    }
    const wasLeader = view.role === 'leader';
    const termChanged = st.term !== view.term;
    if (st.commit > view.commit) {
      // Figure 8 (§5.4.2): a leader moves its commit index only onto an entry of its own term.
      if (wasLeader && !termChanged && st.role === 'leader' && node.core().termAt(st.commit) !== st.term) {
        fail(`figure 8: ${node.id}, leader of t${st.term}, committed ${st.commit}@t${String(node.core().termAt(st.commit))} (an entry of an earlier term, by counting replicas)`);
      }
      if (wasLeader && !termChanged && st.role === 'leader') this.checkCommitQuorum(node, st);
      this.commitAdvanced(node, st);
    }
    view.applied = st.applied;
    if (st.role === 'leader' && (!wasLeader || termChanged)) {
      view.role = st.role;
      view.term = st.term;
      this.becameLeader(node, st);
    }
    if (st.role !== view.role) this.note(node.idx, `role ${view.role} -> ${st.role} t${st.term} leader=${st.leader ?? '-'}`);
    view.role = st.role;
    view.term = st.term;
  }

  /**
   * checkCommitQuorum: a majority of the leader's voters hold the committed
   * entry (or a snapshot covering it) on disk. A voter id whose node slot has
   * since been wiped under a new identity cannot be checked (its disk is gone)
   * and counts as holding; a slot is only wiped after its removal committed.
   */
  private checkCommitQuorum(node: SimNode, st: RaftStatus): void {
    const voters = node.core().membership().voters;
    const holders: string[] = [];
    for (const id of voters) {
      const holder = this.nodes.find((n) => n.id === id);
      if (holder === undefined || holder.storage.termAt(st.commit) === st.term || holder.storage.snapshotIndex > st.commit) holders.push(id);
    }
    if (holders.length < Math.floor(voters.length / 2) + 1) {
      fail(`commit quorum: ${node.id}, leader of t${st.term}, committed ${st.commit} held on disk by only {${holders.join(',')}} of voters {${voters.join(',')}}`);
    }
  }

  nodeCrashed(node: SimNode): void {
    (this.views[node.idx] as NodeView).role = 'follower';
  }

  /** readyPersisted checks the entries a node just made durable. */
  readyPersisted(node: SimNode, rd: Ready): void {
    const first = rd.entries[0];
    if (first !== undefined) {
      const prevTerm = node.storage.termAt(first.index - 1);
      this.observeEntries(rd.entries, prevTerm, node.id);
    }
    const snap = rd.snapshot;
    if (snap !== null) this.recordCommitted(snap.meta.index, snap.meta.term, node, 'received snapshot');
  }

  /** messageSent checks one message as its sender hands it to the network. */
  messageSent(node: SimNode, m: Message): void {
    if (m.from !== node.id) fail(`${node.id}: sends a message from ${m.from}`);
    if (m.type !== 'pre-vote' && m.type !== 'pre-vote-resp') {
      const hs = node.storage.hardState;
      if (m.term > hs.term) fail(`${node.id}: sends ${m.type} of term ${m.term} before storing that term (stored t${hs.term})`);
      if (m.type === 'vote-resp' && m.granted && m.term === hs.term) {
        if (hs.vote !== m.to) fail(`${node.id}: grants its t${m.term} vote to ${m.to} but stored vote '${hs.vote}'`);
      }
    }
    if (m.type === 'append' && m.entries.length > 0) {
      const first = m.entries[0] as Entry;
      if (first.index !== m.prevIndex + 1) fail(`${node.id}: append prev ${m.prevIndex} followed by entry ${first.index}`);
      this.observeEntries(m.entries, m.prevTerm, node.id);
    }
  }

  entryApplied(node: SimNode, e: Entry): void {
    const hash = entryHash(e);
    const i = e.index;
    const t = this.appliedTerm[i];
    if (t === undefined) {
      this.appliedTerm[i] = e.term;
      this.appliedHash[i] = hash;
    } else {
      if (!(t === e.term && this.appliedHash[i] === hash)) fail(`state machine safety: ${node.id} applied ${i}@t${e.term} (hash ${hash}) but ${i}@t${t} (hash ${String(this.appliedHash[i])}) was applied elsewhere`);
    }
    const committed = this.committedTerm[i];
    if (!(committed === undefined || committed === e.term)) fail(`state machine safety: ${node.id} applied ${i}@t${e.term} but t${String(committed)} was committed there`);
  }

  snapshotRestored(node: SimNode, snap: Snapshot): void {
    const { index, term } = snap.meta;
    const t = this.appliedTerm[index];
    if (!(t === undefined || t === term)) fail(`state machine safety: ${node.id} restored snapshot ${index}@t${term}, but t${String(t)} was applied there`);
    const received = fnv1a32(snap.data);
    if (node.service.digest() !== received) fail(`state machine safety: ${node.id} restored snapshot ${index}@t${term} re-encodes to different bytes`);
    this.checkDigest(node, index, received, `restoring snapshot ${index}@t${term}`);
  }

  /** snapshotTaken compares a node's own snapshot with every other snapshot taken or restored at that index. */
  snapshotTaken(node: SimNode, snap: Snapshot): void {
    this.checkDigest(node, snap.meta.index, fnv1a32(snap.data), `taking snapshot ${snap.meta.index}@t${snap.meta.term}`);
  }

  /** appliedAt returns the term and payload hash applied at index, if any node applied it. */
  appliedAt(index: number): { term: number; hash: number } | undefined {
    const term = this.appliedTerm[index];
    return term === undefined ? undefined : { term, hash: this.appliedHash[index] as number };
  }

  /** committedTermAt returns the term known committed at index. */
  committedTermAt(index: number): number | undefined {
    return this.committedTerm[index];
  }

  private checkShape(node: SimNode, st: RaftStatus): void {
    if (st.id !== node.id) fail(`${node.id}: status reports id ${st.id}`);
    if (!(st.applied <= st.commit && st.commit <= st.lastIndex)) fail(`${node.id}: applied ${st.applied} <= commit ${st.commit} <= lastIndex ${st.lastIndex} violated`);
    if (!(st.snapshotIndex <= st.commit && st.firstIndex >= 1 && st.firstIndex <= st.lastIndex + 1)) fail(`${node.id}: snapshot ${st.snapshotIndex}, first ${st.firstIndex}, applied ${st.applied}, last ${st.lastIndex} inconsistent`);
    if (!(st.role !== 'leader' || st.leader === st.id)) fail(`${node.id}: leader of t${st.term} names ${st.leader ?? '-'} as leader`);
  }

  private becameLeader(node: SimNode, st: RaftStatus): void {
    const T = st.term;
    const prior = this.leaderByTerm[T];
    if (!(prior === undefined || prior === node.idx + 1)) fail(`election safety: ${node.id} and ${this.nodes[(prior as number) - 1]?.id} both lead term ${T}`);
    if (prior !== undefined) return;
    this.leaderByTerm[T] = node.idx + 1;
    this.stats.elections++;
    if (this.lastLeader !== node.idx) this.stats.leaderChanges++;
    this.lastLeader = node.idx;
    this.note(node.idx, `became leader of t${T} (last ${st.lastIndex}, commit ${st.commit})`);

    // Leader completeness: everything committed before term T is in this log.
    let mustHold = 0;
    for (let u = 0; u < T && u < this.commitMaxByTerm.length; u++) {
      const c = this.commitMaxByTerm[u];
      if (c !== undefined && c > mustHold) mustHold = c;
    }
    if (st.lastIndex < mustHold) fail(`leader completeness: ${node.id} leads t${T} with lastIndex ${st.lastIndex}, but ${mustHold} was committed before t${T}`);
    const raft = node.core();
    for (let i = Math.max(1, st.firstIndex - 1); i <= mustHold; i++) {
      const want = this.committedTerm[i];
      if (want === undefined) continue;
      const have = raft.termAt(i);
      if (!(have === undefined || have === want)) fail(`leader completeness: ${node.id} leads t${T} with ${i}@t${String(have)}, but ${i}@t${want} was committed before t${T}`);
    }
    // Also fold the leader's whole in-memory log into the log-matching map.
    const ents = raft.entriesFrom(st.firstIndex);
    if (ents.length > 0) this.observeEntries(ents, raft.termAt(st.firstIndex - 1), node.id);
    this.onNewLeader(node, T);
  }

  private commitAdvanced(node: SimNode, st: RaftStatus): void {
    const view = this.views[node.idx] as NodeView;
    const raft = node.core();
    for (let i = view.commit + 1; i <= st.commit; i++) {
      const t = raft.termAt(i);
      if (t !== undefined) this.recordCommitted(i, t, node, 'commit');
    }
    view.commit = st.commit;
    if (st.commit > this.maxCommit) this.maxCommit = st.commit;
    const prev = this.commitMaxByTerm[st.term];
    if (prev === undefined || st.commit > prev) this.commitMaxByTerm[st.term] = st.commit;
  }

  private recordCommitted(index: number, term: number, node: SimNode, how: string): void {
    const known = this.committedTerm[index];
    if (known === undefined) this.committedTerm[index] = term;
    else {
      if (known !== term) fail(`commit safety: ${node.id} ${how} ${index}@t${term}, but ${index}@t${known} was committed`);
    }
  }

  private checkDigest(node: SimNode, index: number, digest: number, what: string): void {
    const known = this.stateDigest[index];
    if (known === undefined) this.stateDigest[index] = digest;
    else if (known !== digest) fail(`state machine safety: ${node.id} state after ${what} ${index} differs from another node's state there`);
  }

  private observeEntries(ents: readonly Entry[], prevTermIn: number | undefined, where: string): void {
    let prevTerm = prevTermIn;
    let prevIndex = (ents[0] as Entry).index - 1;
    for (const e of ents) {
      if (e.index !== prevIndex + 1) fail(`log matching: ${where} has entry ${e.index} after ${prevIndex}`);
      if (!(e.term < TERM_BITS && e.term >= 1)) fail(`log matching: ${where} entry ${e.index} has term ${e.term} out of range`);
      if (!(prevTerm === undefined || e.term >= prevTerm)) fail(`log matching: ${where} entry ${e.index}@t${e.term} follows an entry of term ${String(prevTerm)}`);
      const key = e.index * TERM_BITS + e.term;
      const hash = entryHash(e);
      const packed = hash * TERM_BITS * 2 + (prevTerm === undefined ? 0 : prevTerm + 1);
      const known = this.entryInfo.get(key);
      this.stats.entriesObserved++;
      if (known === undefined) {
        this.entryInfo.set(key, packed);
      } else if (known !== packed) {
        const knownHash = Math.floor(known / (TERM_BITS * 2));
        const knownPrev = known % (TERM_BITS * 2);
        const prev = prevTerm === undefined ? 0 : prevTerm + 1;
        if (knownHash !== hash) fail(`log matching: ${where} has ${e.index}@t${e.term} with payload hash ${hash}, seen before with ${knownHash}`);
        if (!(knownPrev === 0 || prev === 0 || knownPrev === prev)) fail(`log matching: ${where} has ${e.index}@t${e.term} after t${prev - 1}, seen before after t${knownPrev - 1}`);
        if (knownPrev === 0) this.entryInfo.set(key, packed);
      }
      prevTerm = e.term;
      prevIndex = e.index;
    }
  }
}

/** entryHash identifies an entry's content: payload bytes and type. */
export function entryHash(e: Entry): number {
  const h = fnv1a32(e.data);
  if (e.type === 'empty') return (h ^ 0x5bd1e995) >>> 0;
  return e.type === 'config' ? (h ^ 0x27d4eb2f) >>> 0 : h;
}

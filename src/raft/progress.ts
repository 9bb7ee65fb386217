import { assert } from './assert.js';

/**
 * Inflights is the bounded window of AppendEntries messages sent to one
 * follower in replicate state and not yet acknowledged, by the last index each
 * carried. A full window pauses replication to that follower.
 */
export class Inflights {
  private readonly buffer: number[];
  private start = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    assert(capacity > 0, 'inflights: capacity must be positive');
    this.buffer = new Array<number>(capacity).fill(0);
  }

  full(): boolean {
    return this.count === this.capacity;
  }

  size(): number {
    return this.count;
  }

  add(lastIndex: number): void {
    assert(!this.full(), 'inflights: add to a full window');
    if (this.count > 0) {
      const newest = this.buffer[(this.start + this.count - 1) % this.capacity] as number;
      assert(lastIndex > newest, () => `inflights: ${lastIndex} not above the newest ${newest}`);
    }
    this.buffer[(this.start + this.count) % this.capacity] = lastIndex;
    this.count++;
  }

  /** freeLE drops every message whose last index is at or below `index` (they are acknowledged). */
  freeLE(index: number): void {
    while (this.count > 0 && (this.buffer[this.start] as number) <= index) {
      this.start = (this.start + 1) % this.capacity;
      this.count--;
    }
  }

  /** freeFirstOne makes room for one more message when a heartbeat shows the follower is alive. */
  freeFirstOne(): void {
    if (this.count === 0) return;
    this.start = (this.start + 1) % this.capacity;
    this.count--;
  }

  reset(): void {
    this.start = 0;
    this.count = 0;
  }
}

/**
 * ProgressState is how the leader talks to a follower:
 * - probe: one message at a time until the follower's log position is found;
 * - replicate: pipelined appends, bounded by the inflight window;
 * - snapshot: the follower's next entries are compacted away; a snapshot is being sent in chunks.
 */
export type ProgressState = 'probe' | 'replicate' | 'snapshot';

/**
 * Progress is the leader's view of one follower.
 * Invariant: match < next.
 */
export class Progress {
  match = 0;
  next: number;
  state: ProgressState = 'probe';
  /** In probe state: a probe is outstanding, so wait for its answer or a heartbeat. */
  probeSent = false;
  /** Heard from within the current election timeout (CheckQuorum). */
  recentActive = false;
  /** Snapshot index being sent, and the next byte offset to send. */
  pendingSnapshot = 0;
  snapshotOffset = 0;
  /** Heartbeats since the last snapshot chunk was acknowledged; drives retransmission. */
  snapshotStallBeats = 0;
  /** Highest read round the follower has acknowledged. */
  readRound = 0;
  readonly inflights: Inflights;

  constructor(next: number, maxInflight: number) {
    this.next = next;
    this.inflights = new Inflights(maxInflight);
  }

  becomeProbe(): void {
    if (this.state === 'snapshot') {
      this.next = Math.max(this.match + 1, this.pendingSnapshot + 1);
    } else {
      this.next = this.match + 1;
    }
    this.state = 'probe';
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.snapshotOffset = 0;
    this.inflights.reset();
  }

  becomeReplicate(): void {
    this.state = 'replicate';
    this.next = this.match + 1;
    this.probeSent = false;
    this.inflights.reset();
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.state = 'snapshot';
    this.pendingSnapshot = snapshotIndex;
    this.snapshotOffset = 0;
    this.snapshotStallBeats = 0;
    this.probeSent = false;
    this.inflights.reset();
  }

  /** maybeUpdate records an acknowledgement of everything up to `index`; true if it was news. */
  maybeUpdate(index: number): boolean {
    let updated = false;
    if (this.match < index) {
      this.match = index;
      updated = true;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, index + 1);
    return updated;
  }

  /**
   * maybeDecrTo handles a rejection of the append at `rejected`; `hint` is the
   * highest index the leader believes may match. False if the rejection is stale.
   */
  maybeDecrTo(rejected: number, hint: number): boolean {
    if (this.state === 'snapshot') return false;
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, hint + 1), this.match + 1);
    this.probeSent = false;
    return true;
  }

  /** sentEntries records an append carrying entries up to `lastIndex` (0 entries: lastIndex = next - 1). */
  sentEntries(count: number, lastIndex: number): void {
    if (this.state === 'replicate') {
      if (count > 0) {
        this.next = lastIndex + 1;
        this.inflights.add(lastIndex);
      }
    } else if (this.state === 'probe') {
      this.probeSent = true;
    }
  }

  isPaused(): boolean {
    switch (this.state) {
      case 'probe':
        return this.probeSent;
      case 'replicate':
        return this.inflights.full();
      case 'snapshot':
        return true;
    }
  }
}

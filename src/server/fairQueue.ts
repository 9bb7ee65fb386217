import * as grpc from '@grpc/grpc-js';
import { ApiError } from './apiError.js';

/**
 * FairQueue admits work (a proposal or a linearizable read) to the node at
 * most `maxActive` at a time, and when callers compete, admits them in turn,
 * one item per caller per round, whatever their arrival rate. A caller that
 * floods the node therefore waits behind its own queue, not in front of the
 * others: another caller's request waits for at most one item of each
 * competing caller plus the work already in the node.
 *
 * A caller with nothing in the node and nothing queued — one that is not
 * flooding — need not even wait for a slot to free up: it takes one of
 * `fastLaneSlots` places beyond maxActive at once. Under a flood the node's
 * slots are all the flooder's, and they free up only as its batch commits: a
 * light caller would otherwise wait a whole Raft round before its own work
 * starts. The fast lane is bounded (the node never has more than maxActive +
 * fastLaneSlots items at once); when it is full, light callers queue in turn
 * like everyone else.
 *
 * No caller may have more than `maxActivePerCaller` items in the node at
 * once, even when slots are free: the node's work goes out in shared Raft
 * batches, and a flooder holding every slot would make each batch — and so
 * every other caller's commit — as large as its flood. Items over the share
 * wait in the caller's queue; the ring skips a caller at its share.
 *
 * Each caller's queue is bounded by maxQueuedPerCaller; beyond it the item is
 * refused at once with RESOURCE_EXHAUSTED (a retry hint in the message and in
 * the `raftlock-retry-after-ms` trailer). The number of callers queued is
 * bounded by the calls the server holds open (in-flight per connection).
 */

export const RETRY_AFTER_METADATA = 'raftlock-retry-after-ms';

/**
 * INTERNAL_CALLER queues the server's own clean-up (withdrawing the wait of
 * a caller that left): it takes its turn like any caller but is never
 * refused, so an abusive caller cannot make the server leave waits behind.
 */
export const INTERNAL_CALLER = 'internal';

/** Waiting is a queued item: called at its turn, it starts its work, or drops it (its call is gone). */
type Waiting = () => void;

export class FairQueue {
  private active = 0;
  /** activeBy: caller -> its items in the node now (callers with none are absent). */
  private readonly activeBy = new Map<string, number>();
  /** queues: caller -> its waiting items; Map order is the round-robin order of callers. */
  private readonly queues = new Map<string, Waiting[]>();
  private queuedCount = 0;

  constructor(
    readonly maxActive: number,
    readonly maxQueuedPerCaller: number,
    readonly fastLaneSlots = 0,
    readonly maxActivePerCaller = maxActive,
  ) {}

  get activeCount(): number {
    return this.active;
  }

  get queued(): number {
    return this.queuedCount;
  }

  /**
   * run runs `work` once admitted. Queued work whose call is `gone` by its
   * turn (cancelled: nobody waits for the answer) is dropped with CANCELLED
   * instead, so that calls that time out in the queue cost the node nothing.
   * Clean-up that must happen exactly because a call went away (withdrawing a
   * wait) runs as INTERNAL_CALLER, whose `gone` is always false.
   */
  run<T>(caller: string, work: () => Promise<T>, gone: () => boolean = () => false): Promise<T> {
    const underShare = this.underShare(caller);
    if (underShare && this.active < this.maxActive && this.queuedCount === 0) return this.start(caller, work);
    let queue = this.queues.get(caller);
    if (queue === undefined && !this.activeBy.has(caller) && this.active < this.maxActive + this.fastLaneSlots) return this.start(caller, work);
    if (queue !== undefined && queue.length >= this.maxQueuedPerCaller && caller !== INTERNAL_CALLER) {
      return Promise.reject(tooManyQueued(this.maxQueuedPerCaller));
    }
    return new Promise<T>((resolve, reject) => {
      const item: Waiting = () => {
        if (gone()) reject(new ApiError(grpc.status.CANCELLED, 'the call was cancelled while it waited for its turn; nothing was done'));
        else this.start(caller, work).then(resolve, reject);
      };
      if (queue === undefined) {
        queue = [];
        this.queues.set(caller, queue);
      }
      queue.push(item);
      this.queuedCount++;
      this.admitNext();
    });
  }

  /** underShare: the caller may start another item now (the server's own clean-up always may). */
  private underShare(caller: string): boolean {
    return caller === INTERNAL_CALLER || (this.activeBy.get(caller) ?? 0) < this.maxActivePerCaller;
  }

  private start<T>(caller: string, work: () => Promise<T>): Promise<T> {
    this.active++;
    this.activeBy.set(caller, (this.activeBy.get(caller) ?? 0) + 1);
    let pending: Promise<T>;
    try {
      pending = work();
    } catch (err) {
      pending = Promise.reject(err);
    }
    return pending.finally(() => {
      this.active--;
      const left = (this.activeBy.get(caller) ?? 1) - 1;
      if (left === 0) this.activeBy.delete(caller);
      else this.activeBy.set(caller, left);
      this.admitNext();
    });
  }

  /**
   * admitNext starts queued items, taking the first caller in the ring and
   * moving it to the back while it has more; a caller at its share goes to the
   * back untouched. Ends when the node is full, nothing is queued, or every
   * queued caller is at its share (a whole lap without a start).
   */
  private admitNext(): void {
    let skipped = 0;
    while (this.active < this.maxActive && this.queuedCount > 0 && skipped < this.queues.size) {
      const [caller, queue] = this.queues.entries().next().value as [string, Waiting[]];
      if (!this.underShare(caller)) {
        this.queues.delete(caller);
        this.queues.set(caller, queue);
        skipped++;
        continue;
      }
      skipped = 0;
      const item = queue.shift() as Waiting;
      this.queuedCount--;
      this.queues.delete(caller);
      if (queue.length > 0) this.queues.set(caller, queue);
      item();
    }
  }
}

function tooManyQueued(max: number): ApiError {
  const metadata = new grpc.Metadata();
  metadata.set(RETRY_AFTER_METADATA, '100');
  return new ApiError(
    grpc.status.RESOURCE_EXHAUSTED,
    `limit maxQueuedPerCaller reached (${max}): this caller already has ${max} requests queued for the node; retry after 100 ms, or send fewer at once`,
    metadata,
  );
}

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

type Waiting = () => void;

export class FairQueue {
  private active = 0;
  /** queues: caller -> its waiting items; Map order is the round-robin order of callers. */
  private readonly queues = new Map<string, Waiting[]>();
  private queuedCount = 0;

  constructor(
    readonly maxActive: number,
    readonly maxQueuedPerCaller: number,
  ) {}

  get activeCount(): number {
    return this.active;
  }

  get queued(): number {
    return this.queuedCount;
  }

  /**
   * run runs `work` once admitted. Work is never skipped, even for a call
   * cancelled meanwhile: some of it (withdrawing a wait) must happen exactly
   * because the call went away.
   */
  run<T>(caller: string, work: () => Promise<T>): Promise<T> {
    if (this.active < this.maxActive && this.queuedCount === 0) return this.start(work);
    let queue = this.queues.get(caller);
    if (queue !== undefined && queue.length >= this.maxQueuedPerCaller && caller !== INTERNAL_CALLER) {
      return Promise.reject(tooManyQueued(this.maxQueuedPerCaller));
    }
    return new Promise<T>((resolve, reject) => {
      const item: Waiting = () => {
        this.start(work).then(resolve, reject);
      };
      if (queue === undefined) {
        queue = [];
        this.queues.set(caller, queue);
      }
      queue.push(item);
      this.queuedCount++;
    });
  }

  private start<T>(work: () => Promise<T>): Promise<T> {
    this.active++;
    let pending: Promise<T>;
    try {
      pending = work();
    } catch (err) {
      pending = Promise.reject(err);
    }
    return pending.finally(() => {
      this.active--;
      this.admitNext();
    });
  }

  /** admitNext starts queued items, taking the first caller in the ring and moving it to the back while it has more. */
  private admitNext(): void {
    while (this.active < this.maxActive && this.queuedCount > 0) {
      const [caller, queue] = this.queues.entries().next().value as [string, Waiting[]];
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

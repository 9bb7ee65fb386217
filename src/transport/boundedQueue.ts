/**
 * BoundedQueue is a FIFO ring of at most `capacity` items. When full, push
 * evicts the oldest item: for Raft the newest message (the latest heartbeat,
 * commit index or vote) is worth more than the oldest, and whatever is lost is
 * retried by the core.
 *
 * Invariant: 0 <= size <= capacity.
 */
export class BoundedQueue<T> {
  readonly capacity: number;
  private readonly ring: Array<T | undefined>;
  private head = 0;
  private count = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`BoundedQueue: capacity must be a positive integer, got ${capacity}`);
    }
    this.capacity = capacity;
    this.ring = new Array<T | undefined>(capacity);
  }

  get size(): number {
    return this.count;
  }

  /** push appends an item; when the queue was full it evicts and returns the oldest item. */
  push(item: T): T | undefined {
    const tail = (this.head + this.count) % this.capacity;
    const evicted = this.count === this.capacity ? this.ring[tail] : undefined;
    this.ring[tail] = item;
    if (this.count < this.capacity) {
      this.count++;
      return undefined;
    }
    this.head = (this.head + 1) % this.capacity;
    return evicted;
  }

  /** peek returns the oldest item without removing it. */
  peek(): T | undefined {
    return this.count === 0 ? undefined : this.ring[this.head];
  }

  /** shift removes and returns the oldest item. */
  shift(): T | undefined {
    if (this.count === 0) return undefined;
    const item = this.ring[this.head];
    this.ring[this.head] = undefined;
    this.head = (this.head + 1) % this.capacity;
    this.count--;
    return item;
  }

  /** clear empties the queue and returns how many items it held. */
  clear(): number {
    const n = this.count;
    this.ring.fill(undefined);
    this.head = 0;
    this.count = 0;
    return n;
  }
}

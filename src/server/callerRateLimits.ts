import { TokenBucket } from './tokenBucket.js';

/**
 * CallerRateLimits keeps one token bucket per caller key (callerKey.ts).
 * The map is bounded: at maxCallers it first forgets full buckets (callers
 * idle long enough that forgetting them changes nothing); if every bucket is
 * in use, further new callers share one overflow bucket, so a flood of new
 * identities cannot grow memory or escape the limit.
 */
const SWEEP_INTERVAL_MS = 1_000;

export class CallerRateLimits {
  private readonly buckets = new Map<string, TokenBucket>();
  private overflow: TokenBucket | null = null;
  private lastSweepMs = -Infinity;

  constructor(
    readonly ratePerS: number,
    readonly burst: number,
    readonly maxCallers: number,
  ) {}

  /** take takes a token for `key`: 0 when allowed, else the ms to wait before retrying. */
  take(key: string, nowMs: number): number {
    return this.bucketOf(key, nowMs).take(nowMs);
  }

  /** size: buckets tracked (for tests and metrics). */
  get size(): number {
    return this.buckets.size;
  }

  private bucketOf(key: string, nowMs: number): TokenBucket {
    const known = this.buckets.get(key);
    if (known !== undefined) return known;
    if (this.buckets.size >= this.maxCallers) this.forgetIdle(nowMs);
    if (this.buckets.size >= this.maxCallers) {
      this.overflow ??= new TokenBucket(this.ratePerS, this.burst, nowMs);
      return this.overflow;
    }
    const bucket = new TokenBucket(this.ratePerS, this.burst, nowMs);
    this.buckets.set(key, bucket);
    return bucket;
  }

  /** forgetIdle sweeps at most once a second: a sweep is O(maxCallers), and a flood of new keys must not make every call pay it. */
  private forgetIdle(nowMs: number): void {
    if (nowMs - this.lastSweepMs < SWEEP_INTERVAL_MS) return;
    this.lastSweepMs = nowMs;
    for (const [key, bucket] of this.buckets) if (bucket.isFull(nowMs)) this.buckets.delete(key);
  }
}

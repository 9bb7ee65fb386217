/**
 * TokenBucket is a rate limit: it holds up to `burst` tokens and gains
 * `ratePerS` tokens a second; a call takes one. It reads no clock: every
 * method takes `nowMs` (monotonic) from the caller, so tests drive it
 * deterministically.
 */
export class TokenBucket {
  private tokens: number;
  private lastMs: number;

  constructor(
    readonly ratePerS: number,
    readonly burst: number,
    nowMs: number,
  ) {
    if (!(ratePerS > 0) || !(burst >= 1)) throw new Error(`a token bucket needs ratePerS > 0 and burst >= 1, got ${ratePerS} and ${burst}`);
    this.tokens = burst;
    this.lastMs = nowMs;
  }

  /** take removes one token and returns 0, or returns how many ms until one is available (and removes nothing). */
  take(nowMs: number): number {
    this.refill(nowMs);
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil(((1 - this.tokens) * 1000) / this.ratePerS));
  }

  /** isFull: the bucket has not been used for long enough to refill; forgetting it loses nothing. */
  isFull(nowMs: number): boolean {
    this.refill(nowMs);
    return this.tokens >= this.burst;
  }

  private refill(nowMs: number): void {
    // A clock that steps back (it should not: callers pass performance.now()) gives no tokens, never negative ones.
    const elapsedMs = Math.max(0, nowMs - this.lastMs);
    this.tokens = Math.min(this.burst, this.tokens + (elapsedMs * this.ratePerS) / 1000);
    this.lastMs = Math.max(this.lastMs, nowMs);
  }
}

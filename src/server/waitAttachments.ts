/**
 * WaitAttachments tracks, on the leader, which Acquire calls are attached to
 * each queued wait (keyed by lease and lock), and holds the waits whose calls
 * were cancelled for a re-attach grace period instead of withdrawing them at
 * once.
 *
 * Why: a cancelled call is not always a client giving up. When the follower
 * that forwarded the call dies, or the client's connection drops, the client
 * library retries the Acquire elsewhere; the state machine answers a repeated
 * Acquire by a queued lease with its existing place in the queue. Withdrawing
 * at the first cancellation would send the retry to the back of the queue.
 *
 * Rules (all synchronous, so no interleaving falls between a check and its step):
 * - attach() when an Acquire arrives, before it proposes: it takes over a held
 *   wait (the grace timer stops) or marks a withdrawal in flight as re-attached,
 *   so that withdrawal does not release a grant the new call will report.
 * - detach() when the call ends; it tells whether another call of the same
 *   key is still attached (then that call carries the wait; nothing to do).
 * - hold() a wait whose last call was cancelled; `expire` runs after graceMs
 *   unless a call attaches first. At most maxHeld waits are held (and being
 *   withdrawn) at once; beyond that hold() refuses and the caller withdraws now.
 * - clear() forgets every hold (the server stops).
 */
export interface Expiring {
  /** reattached: a call attached to this wait after its grace ended (while it was being withdrawn). */
  reattached(): boolean;
  /** done: the withdrawal finished; forget it. */
  done(): void;
}

interface Entry {
  /** live: calls attached right now. */
  live: number;
  held: NodeJS.Timeout | null;
  withdrawing: { reattached: boolean } | null;
}

export class WaitAttachments {
  private readonly entries = new Map<string, Entry>();
  private heldCount = 0;
  /** epoch counts clear() calls: a withdrawal that began before one is no longer counted. */
  private epoch = 0;

  constructor(private readonly maxHeld: number) {
    if (!Number.isInteger(maxHeld) || maxHeld < 0) throw new RangeError(`maxHeld must be a non-negative integer, got ${maxHeld}`);
  }

  attach(name: string, leaseId: number): void {
    const key = keyOf(name, leaseId);
    let entry = this.entries.get(key);
    if (entry === undefined) this.entries.set(key, (entry = { live: 0, held: null, withdrawing: null }));
    entry.live++;
    if (entry.held !== null) {
      clearTimeout(entry.held);
      entry.held = null;
      this.heldCount--;
    }
    if (entry.withdrawing !== null) entry.withdrawing.reattached = true;
  }

  /** detach ends one call's attachment; true when another call of the same wait is still attached here. */
  detach(name: string, leaseId: number): boolean {
    const key = keyOf(name, leaseId);
    const entry = this.mustEntry(key);
    entry.live--;
    const othersLive = entry.live > 0;
    this.forgetIfIdle(key, entry);
    return othersLive;
  }

  /**
   * hold keeps a wait with no attached call for graceMs, then runs `expire`
   * (unless a call attached meanwhile). False when the bound is reached or a
   * call is attached: the caller decides at once.
   */
  hold(name: string, leaseId: number, graceMs: number, expire: (expiring: Expiring) => void): boolean {
    const key = keyOf(name, leaseId);
    const existing = this.entries.get(key);
    if (existing !== undefined && (existing.live > 0 || existing.held !== null)) return false;
    if (this.heldCount >= this.maxHeld) return false;
    const entry = existing ?? { live: 0, held: null, withdrawing: null };
    this.entries.set(key, entry);
    this.heldCount++;
    const timer = setTimeout(() => {
      if (entry.held !== timer) return;
      entry.held = null;
      // Still counted in heldCount until done(): a withdrawal in flight is part of the bound.
      const withdrawing = { reattached: false };
      entry.withdrawing = withdrawing;
      const epoch = this.epoch;
      let finished = false;
      expire({
        reattached: () => withdrawing.reattached,
        done: () => {
          if (finished || epoch !== this.epoch) return;
          finished = true;
          this.heldCount--;
          if (entry.withdrawing === withdrawing) entry.withdrawing = null;
          this.forgetIfIdle(key, entry);
        },
      });
    }, Math.max(0, graceMs));
    // A held wait must not keep a stopping process alive.
    timer.unref();
    entry.held = timer;
    return true;
  }

  /** clear forgets every held wait without running its expiry. */
  clear(): void {
    for (const entry of this.entries.values()) {
      if (entry.held !== null) clearTimeout(entry.held);
      entry.held = null;
      entry.withdrawing = null;
    }
    this.heldCount = 0;
    this.epoch++;
    for (const [key, entry] of this.entries) this.forgetIfIdle(key, entry);
  }

  /** size: the waits tracked (attached, held or being withdrawn). */
  get size(): number {
    return this.entries.size;
  }

  get held(): number {
    return this.heldCount;
  }

  private forgetIfIdle(key: string, entry: Entry): void {
    if (entry.live === 0 && entry.held === null && entry.withdrawing === null) this.entries.delete(key);
  }

  private mustEntry(key: string): Entry {
    const entry = this.entries.get(key);
    if (entry === undefined) throw new Error(`invariant: no attachment for ${JSON.stringify(key)}`);
    return entry;
  }
}

function keyOf(name: string, leaseId: number): string {
  return `${leaseId}\u0000${name}`;
}

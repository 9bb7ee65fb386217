import type { LockMode } from '../history.js';
import { now, type Recorder } from './recorder.js';

/**
 * FencedStore is the resource the locks protect (Kleppmann's fencing): a
 * store inside the harness that, per lock name, accepts a write only with a
 * token at least as high as the highest it has accepted. With `fencing:
 * false` it accepts everything but still tracks the highest token, so a run
 * can show the stale write that fencing would have stopped.
 *
 * A write takes `flightMs` between the client's decision (startMs: it still
 * believed it held the lock) and its arrival (endMs: where the store decides)
 * — the window in which a paused or cut-off holder's write goes stale.
 * Every write is recorded in the History.
 */
export class FencedStore {
  private readonly highest = new Map<string, bigint>();
  /** Counts for the report; `staleAccepted` is only ever non-zero with fencing off. */
  readonly stats = { writes: 0, accepted: 0, rejected: 0, staleAccepted: 0 };

  constructor(private readonly recorder: Recorder, readonly fencing: boolean) {}

  /** write sends one write for `lock` with `token`; resolves with whether the store accepted it. */
  async write(w: { client: string; lock: string; leaseId: string; token: string; mode: LockMode; flightMs: number }): Promise<boolean> {
    const startMs = now();
    if (w.flightMs > 0) await new Promise((resolve) => setTimeout(resolve, w.flightMs));
    return this.apply({ ...w, startMs });
  }

  /** apply decides a write that arrives now (synchronously): the store's whole rule. */
  apply(w: { client: string; lock: string; leaseId: string; token: string; mode: LockMode; startMs: number }): boolean {
    const token = BigInt(w.token);
    const before = this.highest.get(w.lock);
    const fresh = before === undefined || token >= before;
    const accepted = this.fencing ? fresh : true;
    if (accepted && (before === undefined || token > before)) this.highest.set(w.lock, token);
    this.stats.writes++;
    if (accepted) this.stats.accepted++;
    else this.stats.rejected++;
    if (accepted && !fresh) this.stats.staleAccepted++;
    this.recorder.write({
      client: w.client,
      lock: w.lock,
      leaseId: w.leaseId,
      token: w.token,
      mode: w.mode,
      startMs: w.startMs,
      endMs: now(),
      accepted,
      highestBeforeToken: before === undefined ? null : before.toString(),
    });
    return accepted;
  }

  /** highestToken: the highest token accepted (or, with fencing off, seen) for a lock. */
  highestToken(lock: string): bigint | null {
    return this.highest.get(lock) ?? null;
  }
}

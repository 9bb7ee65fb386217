/**
 * WarnLimiter rate-limits repeated warnings per key (for example one peer's
 * malformed messages): at most one line per `intervalMs`, and the line that
 * gets through says how many were suppressed since the last one. A peer that
 * floods garbage costs a counter increment per message, not a log line.
 */
export class WarnLimiter {
  private readonly intervalMs: number;
  private readonly now: () => number;
  private readonly keys = new Map<string, { lastMs: number; suppressed: number }>();

  constructor(intervalMs: number, now: () => number = () => performance.now()) {
    this.intervalMs = intervalMs;
    this.now = now;
  }

  /**
   * take returns null when the warning for `key` should be suppressed, else
   * the number of warnings suppressed since the last one that was logged.
   */
  take(key: string): number | null {
    const t = this.now();
    const k = this.keys.get(key);
    if (k === undefined) {
      // Bound the map: keys come from configured peers and a few kinds, but be safe.
      if (this.keys.size >= 1024) this.keys.clear();
      this.keys.set(key, { lastMs: t, suppressed: 0 });
      return 0;
    }
    if (t - k.lastMs < this.intervalMs) {
      k.suppressed++;
      return null;
    }
    const suppressed = k.suppressed;
    k.lastMs = t;
    k.suppressed = 0;
    return suppressed;
  }
}

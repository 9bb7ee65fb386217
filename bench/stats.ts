/**
 * stats: the pure arithmetic of the benchmark — percentiles of latency
 * samples and rates. No clocks here; callers pass what they measured.
 */

/** LatencySummary of a set of samples, all in milliseconds; null fields when there were no samples. */
export interface LatencySummary {
  readonly count: number;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  readonly maxMs: number | null;
  readonly meanMs: number | null;
}

/**
 * percentile returns the nearest-rank percentile (p in [0, 100]) of samples
 * already sorted ascending, or null for no samples. Nearest-rank: the
 * smallest sample such that at least p% of the samples are at or below it.
 */
export function percentile(sortedAsc: readonly number[], p: number): number | null {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile p must be within 0..100, got ${p}`);
  const n = sortedAsc.length;
  if (n === 0) return null;
  const rank = Math.max(1, Math.ceil((p / 100) * n));
  return sortedAsc[rank - 1] as number;
}

/** summarize sorts a copy of the samples and reports count, p50, p99, max and mean. */
export function summarize(samplesMs: readonly number[]): LatencySummary {
  const sorted = Float64Array.from(samplesMs).sort();
  const arr = Array.from(sorted);
  let sum = 0;
  for (const v of arr) sum += v;
  return {
    count: arr.length,
    p50Ms: percentile(arr, 50),
    p99Ms: percentile(arr, 99),
    maxMs: arr.length === 0 ? null : (arr[arr.length - 1] as number),
    meanMs: arr.length === 0 ? null : sum / arr.length,
  };
}

/** ratePerS is count / elapsed seconds, or null when nothing elapsed. */
export function ratePerS(count: number, elapsedMs: number): number | null {
  return elapsedMs > 0 ? (count * 1000) / elapsedMs : null;
}

/** ratio is a / b, or null when either is missing or b is zero. */
export function ratio(a: number | null | undefined, b: number | null | undefined): number | null {
  if (a === null || a === undefined || b === null || b === undefined || b === 0) return null;
  return a / b;
}

/** median of unsorted values (nearest rank), or null. */
export function median(values: readonly number[]): number | null {
  return percentile([...values].sort((x, y) => x - y), 50);
}

/**
 * eventLoopLag reads a raftlock member's event-loop delay from its /metrics
 * (prom-client's nodejs_eventloop_lag_* gauges). prom-client resets its
 * delay histogram at every scrape, so a scrape at the start of a phase and
 * one at its end give the delay over that phase (as long as nobody else
 * scrapes meanwhile).
 */

export interface EventLoopLag {
  readonly p99Ms: number;
  readonly maxMs: number;
}

/** SCRAPE_TIMEOUT_MS bounds one scrape; a member too busy to answer in time gives no figure. */
const SCRAPE_TIMEOUT_MS = 3_000;

/** scrapeEventLoopLag fetches http://<httpAddress>/metrics and parses the lag, or null when unreachable or absent. */
export async function scrapeEventLoopLag(httpAddress: string): Promise<EventLoopLag | null> {
  try {
    const res = await fetch(`http://${httpAddress}/metrics`, { signal: AbortSignal.timeout(SCRAPE_TIMEOUT_MS) });
    if (!res.ok) return null;
    return parseEventLoopLag(await res.text());
  } catch {
    return null;
  }
}

/** parseEventLoopLag reads nodejs_eventloop_lag_p99_seconds and _max_seconds from Prometheus text, in ms; null if either is missing. Pure. */
export function parseEventLoopLag(text: string): EventLoopLag | null {
  const read = (name: string): number | null => {
    const m = new RegExp(`^${name}(?:\\{[^}]*\\})?\\s+(\\S+)`, 'm').exec(text);
    const v = m === null ? Number.NaN : Number(m[1]);
    return Number.isFinite(v) ? v * 1000 : null;
  };
  const p99Ms = read('nodejs_eventloop_lag_p99_seconds');
  const maxMs = read('nodejs_eventloop_lag_max_seconds');
  return p99Ms === null || maxMs === null ? null : { p99Ms, maxMs };
}

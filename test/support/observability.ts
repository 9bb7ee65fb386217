/**
 * observability: reading a node's HTTP port and log the way an operator
 * would, for the metrics, status page and fault-log tests.
 */

/** httpGet fetches a URL on a node's HTTP port (bounded) and returns status, content type and body. */
export async function httpGet(url: string, init: RequestInit = {}): Promise<{ status: number; contentType: string; body: string; headers: Headers }> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(5_000) });
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', body: await res.text(), headers: res.headers };
}

/**
 * metricValue finds one sample in Prometheus text: the line of `name` whose
 * labels include every pair of `labels`. null when there is no such sample;
 * an error when several match (the test must be more specific).
 */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number | null {
  const found: number[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (m === null || m[1] !== name) continue;
    const have = new Map<string, string>();
    for (const lm of (m[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) have.set(lm[1] as string, lm[2] as string);
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) found.push(Number(m[4]));
  }
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(labels)}; add labels`);
  return found[0] ?? null;
}

/** LogLine is one pino JSON line of a node's log. */
export interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly [key: string]: unknown;
}

/** WARN is pino's numeric level for warn. */
export const WARN = 40;

/** logLines parses a node's log (JSON lines; anything else, like the harness's start marks, is skipped). */
export function logLines(text: string): LogLine[] {
  const out: LogLine[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const v = JSON.parse(line) as LogLine;
      if (typeof v.level === 'number' && typeof v.msg === 'string') out.push(v);
    } catch {
      // a line cut short by SIGKILL
    }
  }
  return out;
}

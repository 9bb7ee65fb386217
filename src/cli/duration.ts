import { UsageError } from './errors.js';

/**
 * Durations on the command line: `500ms`, `10s`, `2m`, `1h`, combinations such
 * as `1m30s`, decimals such as `1.5s`, or plain milliseconds (`1500`). The
 * result is a whole number of milliseconds.
 */

export const DURATION_HELP = 'a duration such as 500ms, 10s, 2m or 1m30s, or plain milliseconds such as 1500';

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };
const PART = /(\d+(?:\.\d+)?|\.\d+)(ms|s|m|h)/y;

export interface DurationBounds {
  /** min: the smallest accepted value in ms (default 0). */
  readonly min?: number;
  /** max: the largest accepted value in ms (default Number.MAX_SAFE_INTEGER). */
  readonly max?: number;
}

/**
 * parseDuration reads `text` as a duration in whole milliseconds, or throws a
 * UsageError naming `what` (e.g. "--ttl") and saying what is accepted.
 */
export function parseDuration(text: string, what: string, bounds: DurationBounds = {}): number {
  const ms = parseMs(text.trim());
  if (ms === null) throw new UsageError(`invalid ${what} ${JSON.stringify(text)}: expected ${DURATION_HELP}`);
  const min = bounds.min ?? 0;
  const max = bounds.max ?? Number.MAX_SAFE_INTEGER;
  if (ms < min) throw new UsageError(`invalid ${what} ${JSON.stringify(text)}: must be at least ${formatDuration(min)}`);
  if (ms > max) throw new UsageError(`invalid ${what} ${JSON.stringify(text)}: must be at most ${formatDuration(max)}`);
  return ms;
}

function parseMs(text: string): number | null {
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    return Number.isSafeInteger(n) ? n : null;
  }
  if (text === '') return null;
  let total = 0;
  let at = 0;
  const seen = new Set<string>();
  while (at < text.length) {
    PART.lastIndex = at;
    const m = PART.exec(text);
    if (m === null) return null;
    const unit = m[2] as string;
    if (seen.has(unit)) return null; // "1s2s" is a typo, not a duration
    seen.add(unit);
    total += Number(m[1]) * (UNIT_MS[unit] as number);
    at = PART.lastIndex;
  }
  // Decimals may only produce whole milliseconds (1.5s yes, 0.5ms no); allow float noise.
  const rounded = Math.round(total);
  if (Math.abs(total - rounded) > 1e-6 || !Number.isSafeInteger(rounded)) return null;
  return rounded;
}

/** formatDuration renders milliseconds the way parseDuration reads them: 500ms, 10s, 1.5s, 1m30s, 2h. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  if (ms < 0) return `-${formatDuration(-ms)}`;
  if (ms < 1_000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${trim(ms / 1_000)}s`;
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = (ms % 60_000) / 1_000;
  return `${h > 0 ? `${h}h` : ''}${m > 0 ? `${m}m` : ''}${s > 0 ? `${trim(s)}s` : ''}`;
}

function trim(n: number): string {
  return String(Math.round(n * 1000) / 1000);
}

/**
 * Output helpers: plain lines and tables for people, JSON for scripts (with
 * bigints, i.e. fencing tokens, as decimal strings so nothing loses precision).
 */

/** out writes one line to stdout. */
export function out(line = ''): void {
  process.stdout.write(`${line}\n`);
}

/** warn writes one line to stderr, prefixed with `raftlock: `. */
export function warn(message: string): void {
  process.stderr.write(`raftlock: ${message}\n`);
}

/** toJson renders a value as indented JSON, bigints as decimal strings. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2);
}

/** printJson writes a value as JSON to stdout. */
export function printJson(value: unknown): void {
  out(toJson(value));
}

/** table renders rows under a header, columns padded to their widest cell. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [header, ...rows];
  const widths = header.map((_, c) => Math.max(...all.map((r) => (r[c] ?? '').length)));
  return all.map((r) => r.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join('  ').trimEnd()).join('\n');
}

/** dash shows a missing value as '-'. */
export function dash(v: string | number | bigint | null | undefined): string {
  return v === null || v === undefined || v === '' ? '-' : String(v);
}

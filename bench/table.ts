import { ratio } from './stats.js';
import type { Row } from './results.js';

/** table renders the comparison rows as an aligned plain-text table with the raftlock/etcd ratio (pure). */

/** formatValue: rates and counts without decimals (thousands separated), small figures with 2 significant decimals. */
export function formatValue(v: number | null, unit: string): string {
  if (v === null || !Number.isFinite(v)) return 'n/a';
  const abs = Math.abs(v);
  if (Number.isInteger(v) && unit === '') return v.toLocaleString('en-US');
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3;
  const s = v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
  return unit === '' || unit === '/s' ? s : `${s} ${unit}`;
}

/** formatRatio: "5.20x", or n/a when either side is missing or etcd's figure is zero. */
export function formatRatio(a: number | null, b: number | null): string {
  const r = ratio(a, b);
  return r === null ? 'n/a' : `${r >= 10 ? r.toFixed(1) : r.toFixed(2)}x`;
}

/** verdict: '+' when raftlock's figure is the better one, '-' when worse, '' when equal or unknown. */
export function verdict(row: Row): string {
  if (row.better === 'none' || row.raftlock === null || row.etcd === null || row.raftlock === row.etcd) return '';
  const raftlockHigher = row.raftlock > row.etcd;
  return raftlockHigher === (row.better === 'higher') ? '+' : '-';
}

export function renderTable(rows: readonly Row[]): string {
  const header = ['workload', 'metric', 'raftlock', 'etcd', 'raftlock/etcd', ''];
  const body = rows.map((r) => [r.workload, r.metric, formatValue(r.raftlock, r.unit), formatValue(r.etcd, r.unit), formatRatio(r.raftlock, r.etcd), verdict(r)]);
  const all = [header, ...body];
  const widths = header.map((_, i) => Math.max(...all.map((line) => (line[i] as string).length)));
  const right = [false, false, true, true, true, false];
  const fmt = (line: string[]): string =>
    line.map((cell, i) => (right[i] ? cell.padStart(widths[i] as number) : cell.padEnd(widths[i] as number))).join('  ').trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ').trimEnd();
  const lines = [fmt(header), rule];
  let last = '';
  for (const [i, line] of body.entries()) {
    const w = rows[i]?.workload ?? '';
    lines.push(fmt(w === last ? ['', ...line.slice(1)] : line));
    last = w;
  }
  return `${lines.join('\n')}\n(+ : raftlock's figure is the better one; - : etcd's is)\n`;
}

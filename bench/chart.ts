/**
 * chart: a hand-built SVG with two small panels — uncontended throughput and
 * p99 latency against the number of clients, one line per system (pure).
 */

export interface ChartPoint {
  readonly clients: number;
  readonly pairsPerS: number | null;
  readonly p99Ms: number | null;
}

export interface ChartSeries {
  readonly name: string;
  readonly color: string;
  readonly points: readonly ChartPoint[];
}

const PANEL_W = 360;
const PANEL_H = 240;
const MARGIN = { left: 60, right: 16, top: 36, bottom: 40 };

export function chartSvg(series: readonly ChartSeries[], title: string): string {
  const clients = [...new Set(series.flatMap((s) => s.points.map((p) => p.clients)))].sort((a, b) => a - b);
  const panels = [
    panel(series, clients, (p) => p.pairsPerS, 'pairs/s (higher is better)', 0),
    panel(series, clients, (p) => p.p99Ms, 'p99 pair latency, ms (lower is better)', PANEL_W),
  ];
  const legend = series
    .map((s, i) => `<g transform="translate(${MARGIN.left + i * 120},${2 * 0 + 18})"><rect width="12" height="12" fill="${esc(s.color)}"/><text x="18" y="11">${esc(s.name)}</text></g>`)
    .join('');
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${2 * PANEL_W}" height="${PANEL_H + 40}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${PANEL_W}" y="12" text-anchor="middle" font-size="12">${esc(title)}</text>`,
    legend,
    `<g transform="translate(0,30)">${panels.join('')}</g>`,
    '</svg>',
    '',
  ].join('\n');
}

function panel(series: readonly ChartSeries[], clients: readonly number[], value: (p: ChartPoint) => number | null, label: string, x0: number): string {
  const w = PANEL_W - MARGIN.left - MARGIN.right;
  const h = PANEL_H - MARGIN.top - MARGIN.bottom;
  const values = series.flatMap((s) => s.points.map(value)).filter((v): v is number => v !== null && Number.isFinite(v));
  const yMax = niceMax(values.length === 0 ? 1 : Math.max(...values));
  // Clients are categories (1, 16, 64 ...), evenly spaced.
  const xOf = (c: number): number => (clients.length <= 1 ? w / 2 : (clients.indexOf(c) / (clients.length - 1)) * w);
  const yOf = (v: number): number => h - (v / yMax) * h;
  const parts: string[] = [`<g transform="translate(${x0 + MARGIN.left},${MARGIN.top})">`];
  parts.push(`<text x="${w / 2}" y="-10" text-anchor="middle">${esc(label)}</text>`);
  for (let k = 0; k <= 4; k++) {
    const v = (yMax * k) / 4;
    const y = yOf(v);
    parts.push(`<line x1="0" x2="${w}" y1="${y}" y2="${y}" stroke="#ddd"/><text x="-6" y="${y + 4}" text-anchor="end">${esc(tick(v))}</text>`);
  }
  parts.push(`<line x1="0" x2="0" y1="0" y2="${h}" stroke="#333"/><line x1="0" x2="${w}" y1="${h}" y2="${h}" stroke="#333"/>`);
  for (const c of clients) parts.push(`<text x="${xOf(c)}" y="${h + 16}" text-anchor="middle">${c}</text>`);
  parts.push(`<text x="${w / 2}" y="${h + 32}" text-anchor="middle">concurrent clients</text>`);
  for (const s of series) {
    const pts = s.points.filter((p) => value(p) !== null).map((p) => `${fix(xOf(p.clients))},${fix(yOf(value(p) as number))}`);
    if (pts.length > 1) parts.push(`<polyline fill="none" stroke="${esc(s.color)}" stroke-width="2" points="${pts.join(' ')}"/>`);
    for (const pt of pts) {
      const [cx, cy] = pt.split(',');
      parts.push(`<circle cx="${cx}" cy="${cy}" r="3" fill="${esc(s.color)}"/>`);
    }
  }
  parts.push('</g>');
  return parts.join('');
}

/** niceMax rounds a maximum up to 1, 2 or 5 times a power of ten, so the grid lines get round labels. */
export function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

function tick(v: number): string {
  return v >= 1000 ? `${(v / 1000).toLocaleString('en-US', { maximumFractionDigits: 1 })}k` : v.toLocaleString('en-US', { maximumFractionDigits: 2 });
}

function fix(n: number): string {
  return n.toFixed(1);
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

import type { CheckResult, History, NemesisEvent, NodeObservation, Op } from './history.js';

/**
 * timeline renders a History as one self-contained HTML page (inline SVG and
 * CSS, no scripts, no external assets) for a person looking at a run: a lane
 * per node (up / down / paused, role, term and leader over time, from the
 * harness's polls), the nemesis faults as shaded intervals across the lanes
 * they hit, a lane per lock with its holders over time (from acquire /
 * release ops, lease losses and fenced writes) and, when checker results are
 * given, the violations listed below and marked where they name an op.
 *
 * Pure: same history, same bytes.
 */

const LABEL_W = 150;
const PLOT_W = 1100;
const LANE_H = 26;
const GAP_H = 8;
const AXIS_H = 24;

interface Interval {
  readonly fromMs: number;
  readonly toMs: number;
}

interface HolderBar extends Interval {
  readonly op: Op;
  readonly label: string;
  row: number;
}

/** FAULT_CLOSERS: which event ends which kind of fault (heal ends every link fault). */
const CLOSES: Readonly<Record<string, readonly string[]>> = {
  resume: ['pause'],
  restart: ['kill'],
  heal: ['partition', 'cut-client', 'latency', 'flap', 'isolate', 'split', 'bridge', 'ring', 'drop', 'blackhole'],
};

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function hue(key: string): number {
  let h = 0;
  for (let i = 0; i < key.length; i++) h = (h * 31 + key.charCodeAt(i)) % 360;
  return h;
}

/** faultIntervals pairs each fault with the event that ends it (or the end of the run). */
export function faultIntervals(history: History): Array<Interval & { readonly event: NemesisEvent }> {
  const open: NemesisEvent[] = [];
  const out: Array<Interval & { readonly event: NemesisEvent }> = [];
  const closers = new Set(Object.keys(CLOSES));
  for (const event of [...history.nemesis].sort((a, b) => a.atMs - b.atMs)) {
    if (!closers.has(event.kind)) {
      open.push(event);
      continue;
    }
    const kinds = CLOSES[event.kind]!;
    for (let i = open.length - 1; i >= 0; i--) {
      const fault = open[i]!;
      const sameNodes = event.kind === 'heal' || event.nodes.length === 0 || fault.nodes.some((n) => event.nodes.includes(n));
      const closes = event.kind === 'heal' ? !['pause', 'kill'].includes(fault.kind) : kinds.includes(fault.kind);
      if (closes && sameNodes) {
        out.push({ fromMs: fault.atMs, toMs: event.atMs, event: fault });
        open.splice(i, 1);
      }
    }
  }
  for (const fault of open) out.push({ fromMs: fault.atMs, toMs: history.endMs, event: fault });
  return out;
}

/** holderBars: each grant, from its acknowledgement to its release, lease loss, revoke or the end. */
function holderBars(history: History, lock: string): HolderBar[] {
  const bars: HolderBar[] = [];
  for (const op of history.ops) {
    if (op.kind !== 'acquire' || op.lock !== lock || op.outcome !== 'ok' || op.completeMs === null || op.result?.existing === true) continue;
    const lease = op.leaseId ?? '';
    const token = op.result?.token ?? '?';
    const ends: number[] = [history.endMs];
    for (const other of history.ops) {
      if (other.invokeMs < op.completeMs || other.leaseId !== lease) continue;
      if ((other.kind === 'release' && other.lock === lock && other.token === token) || other.kind === 'revoke') {
        if (other.outcome !== 'fail') ends.push(other.completeMs ?? other.invokeMs);
      }
    }
    for (const loss of history.leaseLosses) if (loss.leaseId === lease && loss.atMs >= op.completeMs) ends.push(loss.atMs);
    bars.push({ fromMs: op.completeMs, toMs: Math.min(...ends), op, label: `${op.client} ${lease} #${token}${op.mode === 'shared' ? ' (s)' : ''}`, row: 0 });
  }
  // Greedy rows so overlapping (shared, or violating) grants stay visible.
  const rowEnds: number[] = [];
  for (const bar of bars.sort((a, b) => a.fromMs - b.fromMs)) {
    let row = rowEnds.findIndex((end) => end <= bar.fromMs);
    if (row < 0) row = rowEnds.length;
    rowEnds[row] = bar.toMs;
    bar.row = row;
  }
  return bars;
}

function roleColour(o: NodeObservation | undefined, paused: boolean): string {
  if (o === undefined) return '#eeeeee';
  if (paused) return '#f4d35e';
  if (!o.up) return '#9e9e9e';
  switch (o.role) {
    case 'leader':
      return '#2e7d32';
    case 'candidate':
    case 'precandidate':
    case 'pre-candidate':
      return '#ef6c00';
    case 'follower':
      return '#90caf9';
    default:
      return '#cfd8dc';
  }
}

function niceStepMs(spanMs: number): number {
  for (const step of [100, 200, 500, 1000, 2000, 5000, 10_000, 20_000, 30_000, 60_000, 120_000, 300_000, 600_000]) if (spanMs / step <= 12) return step;
  return 1_200_000;
}

export function renderTimeline(history: History, results: readonly CheckResult[] = []): string {
  const spanMs = Math.max(1, history.endMs - history.startMs);
  const x = (ms: number): number => LABEL_W + (Math.min(Math.max(ms, history.startMs), history.endMs) - history.startMs) * (PLOT_W / spanMs);
  const rel = (ms: number): string => `+${Math.round(ms - history.startMs)}ms`;
  const parts: string[] = [];
  let y = AXIS_H;

  // Axis.
  const step = niceStepMs(spanMs);
  const axis: string[] = [];
  for (let t = 0; t <= spanMs; t += step) {
    const tx = x(history.startMs + t).toFixed(1);
    axis.push(`<line x1="${tx}" y1="${AXIS_H - 4}" x2="${tx}" y2="${AXIS_H}" class="tick"/><text x="${tx}" y="${AXIS_H - 8}" class="axis">${(t / 1000).toFixed(t % 1000 === 0 ? 0 : 1)}s</text>`);
  }

  // Node lanes.
  const laneY = new Map<string, number>();
  const faults = faultIntervals(history);
  const pausedAt = (node: string, ms: number): boolean =>
    faults.some((f) => f.event.kind === 'pause' && f.event.nodes.includes(node) && f.fromMs <= ms && ms < f.toMs);
  parts.push(`<g id="nodes">`);
  for (const node of history.nodes) {
    laneY.set(node, y);
    const obs = history.observations.filter((o) => o.node === node).sort((a, b) => a.atMs - b.atMs);
    parts.push(`<g id="lane-node-${escapeXml(node)}" class="lane"><text x="4" y="${y + LANE_H / 2 + 4}" class="label">node ${escapeXml(node)}</text>`);
    parts.push(`<rect x="${LABEL_W}" y="${y}" width="${PLOT_W}" height="${LANE_H}" class="bg"/>`);
    let lastTermLabel = '';
    for (let i = 0; i < obs.length; i++) {
      const o = obs[i]!;
      const toMs = obs[i + 1]?.atMs ?? history.endMs;
      const paused = pausedAt(node, o.atMs);
      const state = !o.up ? 'down' : paused ? 'paused' : (o.role ?? 'up');
      const title = `${node} ${state}${o.term !== undefined ? ` term ${o.term}` : ''}${o.leader ? ` leader ${o.leader}` : ''} ${rel(o.atMs)}..${rel(toMs)}`;
      parts.push(
        `<rect x="${x(o.atMs).toFixed(1)}" y="${y}" width="${Math.max(0.5, x(toMs) - x(o.atMs)).toFixed(1)}" height="${LANE_H}" fill="${roleColour(o, paused)}"><title>${escapeXml(title)}</title></rect>`,
      );
      const termLabel = o.up && o.term !== undefined ? `t${o.term}${o.role === 'leader' ? ' L' : ''}` : '';
      if (termLabel !== '' && termLabel !== lastTermLabel) {
        parts.push(`<text x="${(x(o.atMs) + 2).toFixed(1)}" y="${y + LANE_H - 6}" class="term">${escapeXml(termLabel)}</text>`);
      }
      lastTermLabel = termLabel;
    }
    parts.push(`</g>`);
    y += LANE_H + GAP_H;
  }
  parts.push(`</g>`);
  const nodesBottom = y - GAP_H;

  // Faults: shaded across the lanes they hit (all node lanes when they name none).
  parts.push(`<g id="nemesis">`);
  for (const f of faults) {
    const lanes = f.event.nodes.filter((n) => laneY.has(n));
    const targets = lanes.length === 0 ? [null] : lanes;
    for (const node of targets) {
      const top = node === null ? AXIS_H : laneY.get(node)!;
      const height = node === null ? nodesBottom - AXIS_H : LANE_H;
      parts.push(
        `<rect x="${x(f.fromMs).toFixed(1)}" y="${top}" width="${Math.max(1, x(f.toMs) - x(f.fromMs)).toFixed(1)}" height="${height}" class="fault fault-${escapeXml(f.event.kind)}"><title>${escapeXml(`${f.event.kind}: ${f.event.detail} ${rel(f.fromMs)}..${rel(f.toMs)}`)}</title></rect>`,
      );
    }
  }
  parts.push(`<text x="4" y="${y + LANE_H / 2 + 4}" class="label">nemesis</text>`);
  for (const e of history.nemesis) {
    parts.push(
      `<g class="event"><line x1="${x(e.atMs).toFixed(1)}" y1="${y}" x2="${x(e.atMs).toFixed(1)}" y2="${y + LANE_H}"/><text x="${(x(e.atMs) + 2).toFixed(1)}" y="${y + 11}" class="event-label">${escapeXml(e.kind)}</text><title>${escapeXml(`${rel(e.atMs)} ${e.kind} ${e.nodes.join(',')}: ${e.detail}`)}</title></g>`,
    );
  }
  parts.push(`</g>`);
  y += LANE_H + GAP_H;

  // Lock lanes.
  const flaggedOps = new Set<number>();
  for (const r of results) for (const v of r.violations) for (const m of v.matchAll(/op #(\d+)/g)) flaggedOps.add(Number(m[1]));
  const locks = [...new Set([...history.ops.flatMap((op) => (op.lock === undefined ? [] : [op.lock])), ...history.writes.map((w) => w.lock)])].sort();
  parts.push(`<g id="locks">`);
  for (const lock of locks) {
    const bars = holderBars(history, lock);
    const rows = Math.max(1, ...bars.map((b) => b.row + 1));
    const rowH = LANE_H;
    const height = rows * rowH;
    parts.push(`<g id="lane-lock-${escapeXml(lock)}" class="lane"><text x="4" y="${y + LANE_H / 2 + 4}" class="label">lock ${escapeXml(lock)}</text>`);
    parts.push(`<rect x="${LABEL_W}" y="${y}" width="${PLOT_W}" height="${height}" class="bg"/>`);
    for (const bar of bars) {
      const by = y + bar.row * rowH + 3;
      const width = Math.max(1, x(bar.toMs) - x(bar.fromMs));
      parts.push(
        `<rect x="${x(bar.fromMs).toFixed(1)}" y="${by}" width="${width.toFixed(1)}" height="${rowH - 6}" fill="hsl(${hue(bar.op.client)},55%,70%)" class="holder"><title>${escapeXml(`${bar.label} held ${rel(bar.fromMs)}..${rel(bar.toMs)} (op #${bar.op.id})`)}</title></rect>`,
      );
      if (width > 60) parts.push(`<text x="${(x(bar.fromMs) + 3).toFixed(1)}" y="${by + rowH - 11}" class="holder-label">${escapeXml(bar.label)}</text>`);
    }
    for (const w of history.writes.filter((w) => w.lock === lock)) {
      const wx = x(w.startMs).toFixed(1);
      parts.push(
        `<line x1="${wx}" y1="${y}" x2="${wx}" y2="${y + 5}" class="${w.accepted ? 'write' : 'write-refused'}"><title>${escapeXml(`${w.client} write token ${w.token} ${w.accepted ? 'accepted' : 'refused'} ${rel(w.startMs)}..${rel(w.endMs)}`)}</title></line>`,
      );
    }
    for (const op of history.ops.filter((op) => op.lock === lock && flaggedOps.has(op.id))) {
      const toMs = op.completeMs ?? history.endMs;
      parts.push(
        `<rect x="${x(op.invokeMs).toFixed(1)}" y="${y}" width="${Math.max(2, x(toMs) - x(op.invokeMs)).toFixed(1)}" height="${height}" class="violation"><title>${escapeXml(`violation names op #${op.id} (${op.client} ${op.kind})`)}</title></rect>`,
      );
    }
    parts.push(`</g>`);
    y += height + GAP_H;
  }
  parts.push(`</g>`);

  const heightPx = y + 4;
  const widthPx = LABEL_W + PLOT_W + 10;
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${widthPx}" height="${heightPx}" viewBox="0 0 ${widthPx} ${heightPx}">` +
    `<g id="axis">${axis.join('')}</g>${parts.join('')}</svg>`;

  const failed = results.filter((r) => !r.ok);
  const verdicts = results
    .map((r) => `<li class="${r.ok ? 'ok' : 'fail'}">${escapeXml(r.checker)}: ${r.ok ? 'ok' : `${r.violations.length} violation(s)`}${r.violations.length === 0 ? '' : `<ul>${r.violations.map((v) => `<li>${escapeXml(v)}</li>`).join('')}</ul>`}</li>`)
    .join('');
  const title = `raftlock chaos run, seed ${history.seed}`;
  return [
    '<!DOCTYPE html>',
    `<html lang="en"><head><meta charset="utf-8"><title>${escapeXml(title)}</title><style>`,
    'body{font:13px system-ui,sans-serif;margin:16px} svg text{font:11px system-ui,sans-serif}',
    '.label{font-weight:600} .axis{text-anchor:middle;fill:#555} .tick{stroke:#555}',
    '.bg{fill:#fafafa;stroke:#ddd} .term{fill:#fff;font-size:10px} .event line{stroke:#b71c1c} .event-label{fill:#b71c1c;font-size:9px}',
    '.fault{fill:#e53935;fill-opacity:.18;stroke:#e53935;stroke-opacity:.4} .fault-pause{fill:#fbc02d} .holder{stroke:#555;stroke-width:.5}',
    '.holder-label{font-size:10px} .write{stroke:#1b5e20;stroke-width:1.5} .write-refused{stroke:#d50000;stroke-width:2}',
    '.violation{fill:none;stroke:#d50000;stroke-width:2;stroke-dasharray:4 2} .ok{color:#1b5e20} .fail{color:#b71c1c}',
    '</style></head><body>',
    `<h1>${escapeXml(title)}</h1>`,
    `<p>nodes ${escapeXml(history.nodes.join(', '))}; fencing ${history.fencing ? 'on' : 'off'}; ${history.ops.length} ops; ran ${Math.round(spanMs)} ms; ` +
      `final heal ${history.healedMs === null ? 'none' : escapeXml(rel(history.healedMs))}. ` +
      `Lanes: green leader, blue follower, orange candidate, grey down, yellow paused; red shading a fault; bars the lock holders; ticks fenced writes (red: refused).</p>`,
    results.length === 0 ? '' : `<h2>${failed.length === 0 ? 'All checks passed' : `${failed.length} check(s) failed`}</h2><ul id="verdicts">${verdicts}</ul>`,
    svg,
    '</body></html>',
    '',
  ].join('\n');
}

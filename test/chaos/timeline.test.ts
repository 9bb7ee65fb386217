import { describe, expect, it } from 'vitest';
import type { CheckResult, History, NodeObservation } from './history.js';
import { HistoryBuilder, START_MS } from './checkers/historyBuilder.js';
import { faultIntervals, renderTimeline } from './timeline.js';

function smallHistory(): History {
  const h = new HistoryBuilder();
  h.acquire('c1', 'L1', 'x', [100, 120], { token: '5' });
  h.write('c1', 'x', 'L1', '5', [130, 140], true, null);
  h.release('c1', 'L1', 'x', '5', [300, 320]);
  h.acquire('c2', 'L2', 'a<&>"b', [400, 420], { token: '9', mode: 'shared' });
  h.write('c2', 'a<&>"b', 'L2', '9', [430, 440], false, '11', 'shared');
  const observations: NodeObservation[] = [];
  for (const [i, node] of ['n1', 'n2', 'n3'].entries()) {
    observations.push({ atMs: START_MS, node, up: true, role: i === 0 ? 'leader' : 'follower', term: 1, leader: 'n1' });
    observations.push({ atMs: START_MS + 500, node, up: node !== 'n1', role: i === 1 ? 'leader' : 'follower', term: 2, leader: 'n2' });
  }
  return h.build({
    observations,
    endMs: START_MS + 1000,
    healedMs: START_MS + 800,
    nemesis: [
      { atMs: START_MS + 200, kind: 'pause', detail: 'SIGSTOP n3', nodes: ['n3'] },
      { atMs: START_MS + 450, kind: 'resume', detail: 'SIGCONT n3', nodes: ['n3'] },
      { atMs: START_MS + 480, kind: 'kill', detail: 'SIGKILL leader n1', nodes: ['n1'] },
      { atMs: START_MS + 600, kind: 'partition', detail: 'n2 | n1 n3 both ways', nodes: ['n2'] },
      { atMs: START_MS + 800, kind: 'heal', detail: 'all links', nodes: [] },
    ],
  });
}

/** tagBalance walks the SVG's tags and returns the first mismatch, or null when every tag closes in order. */
function tagBalance(markup: string): string | null {
  const stack: string[] = [];
  for (const m of markup.matchAll(/<(\/?)([a-zA-Z][\w-]*)([^<>]*?)(\/?)>/g)) {
    const [, closing, name, , selfClosing] = m;
    if (selfClosing === '/') continue;
    if (closing === '/') {
      const open = stack.pop();
      if (open !== name) return `</${name}> closes <${open}>`;
    } else stack.push(name!);
  }
  return stack.length === 0 ? null : `unclosed <${stack.join('> <')}>`;
}

describe('timeline page', () => {
  const results: CheckResult[] = [
    { checker: 'linearizability', ok: false, violations: ['lock "x": not linearizable; no order of effects explains op #2 [c1] release'], stats: {} },
    { checker: 'liveness', ok: true, violations: [], stats: {} },
  ];
  const html = renderTimeline(smallHistory(), results);
  const svg = /<svg[\s\S]*<\/svg>/.exec(html)?.[0] ?? '';

  it('is one self-contained page: inline SVG, no scripts or external assets', () => {
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(svg).not.toBe('');
    expect(html).not.toMatch(/<script|<link|src=|href=/);
    expect(html.replaceAll('http://www.w3.org/2000/svg', '')).not.toMatch(/https?:/);
  });

  it('is well-formed: every SVG tag closes in order, text is escaped', () => {
    expect(tagBalance(svg)).toBeNull();
    expect(tagBalance(/<body>[\s\S]*<\/body>/.exec(html)![0])).toBeNull();
    expect(html).toContain('lock a&lt;&amp;&gt;&quot;b');
    expect(html).not.toContain('a<&>"b');
  });

  it('has a lane per node with its roles and terms, and a lane per lock with its holders', () => {
    for (const node of ['n1', 'n2', 'n3']) expect(svg).toContain(`id="lane-node-${node}"`);
    expect(svg).toMatch(/<title>n1 leader term 1 leader n1 \+0ms\.\.\+500ms<\/title>/);
    expect(svg).toMatch(/<title>n1 down term 2 leader n2 \+500ms\.\.\+1000ms<\/title>/);
    expect(svg).toMatch(/>t2 L</);
    expect(svg).toContain('id="lane-lock-x"');
    expect(svg).toMatch(/<title>c1 L1 #5 held \+120ms\.\.\+320ms \(op #1\)<\/title>/);
    expect(svg).toMatch(/<title>c2 L2 #9 \(s\) held \+420ms\.\.\+1000ms \(op #3\)<\/title>/);
    expect(svg).toMatch(/class="write-refused"><title>c2 write token 9 refused/);
  });

  it('shades each fault until the event that ends it, and lists every nemesis event', () => {
    expect(faultIntervals(smallHistory()).map((f) => [f.event.kind, f.fromMs - START_MS, f.toMs - START_MS])).toEqual([
      ['pause', 200, 450],
      ['partition', 600, 800],
      ['kill', 480, 1000],
    ]);
    expect(svg).toMatch(/class="fault fault-pause"><title>pause: SIGSTOP n3 \+200ms\.\.\+450ms<\/title>/);
    expect(svg).toMatch(/class="fault fault-kill"><title>kill: SIGKILL leader n1 \+480ms\.\.\+1000ms/);
    for (const kind of ['pause', 'resume', 'kill', 'partition', 'heal']) expect(svg).toContain(`class="event-label">${kind}</text>`);
  });

  it('marks the ops a violation names, and lists the verdicts', () => {
    expect(svg).toMatch(/class="violation"><title>violation names op #2 \(c1 release\)<\/title>/);
    expect(html).toContain('<h2>1 check(s) failed</h2>');
    expect(html).toContain('no order of effects explains op #2 [c1] release');
    expect(renderTimeline(smallHistory())).not.toContain('class="violation"');
  });
});

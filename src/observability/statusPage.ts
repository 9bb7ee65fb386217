import { createHash } from 'node:crypto';

/**
 * statusPage is the self-contained HTML of a node's status page: no
 * framework, no external file. Its script polls /status.json every second and
 * builds the DOM with textContent only, never HTML strings, so a lock name (user
 * input) is always shown as text. The Content-Security-Policy allows exactly
 * this inline script and style (by hash) and fetches to this origin.
 */

const STYLE = `
:root { --bg:#f4f5f7; --card:#fff; --ink:#1d2330; --mute:#5b6474; --line:#e3e6ea; --leader:#1f8a4c; --follower:#2f6fd6; --candidate:#c98a00; --unknown:#8a93a3; --bad:#c2372b; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif; background:var(--bg); color:var(--ink); }
header { background:#1d2330; color:#fff; padding:14px 24px; display:flex; align-items:baseline; gap:16px; flex-wrap:wrap; }
header h1 { font-size:18px; margin:0; font-weight:600; }
header .sub { color:#c4cad4; font-size:13px; }
#conn { margin-left:auto; font-size:12px; padding:2px 10px; border-radius:10px; background:#2e7d4f; }
#conn.down { background:var(--bad); }
main { padding:18px 24px 32px; max-width:1200px; }
.note { background:#fff6dc; border:1px solid #efd58c; padding:8px 12px; border-radius:6px; margin-bottom:14px; }
.tiles { display:grid; grid-template-columns:repeat(auto-fit,minmax(130px,1fr)); gap:10px; margin-bottom:18px; }
.tile { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:10px 14px; }
.tile .k { color:var(--mute); font-size:12px; text-transform:uppercase; letter-spacing:.04em; }
.tile .v { font-size:22px; font-weight:600; font-variant-numeric:tabular-nums; overflow:hidden; text-overflow:ellipsis; white-space:nowrap; }
section { background:var(--card); border:1px solid var(--line); border-radius:8px; margin-bottom:18px; overflow:hidden; }
section h2 { font-size:15px; margin:0; padding:10px 14px; border-bottom:1px solid var(--line); display:flex; gap:10px; align-items:baseline; }
section h2 .count { color:var(--mute); font-weight:400; font-size:13px; }
table { width:100%; border-collapse:collapse; }
th, td { text-align:left; padding:7px 14px; border-bottom:1px solid var(--line); vertical-align:top; }
th { color:var(--mute); font-weight:500; font-size:12px; text-transform:uppercase; letter-spacing:.04em; background:#fafbfc; }
tr:last-child td { border-bottom:none; }
td.num { font-variant-numeric:tabular-nums; }
code { font:12.5px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace; background:#f0f2f5; padding:1px 5px; border-radius:4px; word-break:break-all; }
.badge { display:inline-block; padding:1px 9px; border-radius:10px; color:#fff; font-size:12px; font-weight:600; background:var(--unknown); }
.badge.leader { background:var(--leader); } .badge.follower { background:var(--follower); }
.badge.candidate, .badge.pre-candidate { background:var(--candidate); }
.up { color:var(--leader); } .down { color:var(--bad); } .mute { color:var(--mute); }
.chip { display:inline-block; margin:0 6px 3px 0; padding:1px 8px; border:1px solid var(--line); border-radius:10px; font-size:12.5px; white-space:nowrap; }
.chip b { font-weight:600; }
.empty { padding:14px; color:var(--mute); }
footer { color:var(--mute); font-size:12px; }
`;

const SCRIPT = `
"use strict";
const $ = (id) => document.getElementById(id);
function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}
function cell(row, text, cls) { const td = el('td', cls, text); row.appendChild(td); return td; }
function tile(key, value, id) {
  const t = el('div', 'tile'); t.appendChild(el('div', 'k', key));
  const v = el('div', 'v', value); v.id = id; v.title = String(value); t.appendChild(v); return t;
}
function render(v) {
  $('cluster').textContent = v.clusterId;
  const whose = v.view === 'leader' ? 'the leader ' + v.node + "'s view" : v.node + "'s own view";
  $('sub').textContent = whose + ', served by ' + v.servedBy + ', as of ' + new Date(v.generatedAt).toLocaleTimeString();
  const note = $('note'); note.hidden = !v.note; note.textContent = v.note || '';
  const tiles = $('tiles'); tiles.replaceChildren(
    tile('Leader', v.leader || 'none', 'leader'), tile('Term', v.term, 'term'),
    tile('Commit index', v.commitIndex, 'commit'), tile('Applied index', v.appliedIndex, 'applied'),
    tile('Leases', v.counts.leases, 'leases'), tile('Locks', v.counts.locks, 'lockCount'), tile('Waiters', v.counts.waiters, 'waiters'));
  const mb = $('memberRows'); mb.replaceChildren();
  for (const m of v.members) {
    const r = el('tr'); r.dataset.member = m.id;
    const id = cell(r, ''); id.appendChild(el('b', null, m.id));
    const role = cell(r, '', 'role'); role.dataset.role = m.role; role.appendChild(el('span', 'badge ' + m.role, m.role));
    cell(r, '').appendChild(el('code', null, m.clientAddress));
    cell(r, m.matchIndex === null ? '-' : m.matchIndex, 'num');
    cell(r, m.lagEntries === null ? '-' : m.lagEntries + (m.lagEntries === 1 ? ' entry' : ' entries'), 'num');
    cell(r, m.replication || '-', 'mute');
    cell(r, m.connected === null ? 'this node' : m.connected ? 'connected' : 'not connected', m.connected === null ? 'mute' : m.connected ? 'up' : 'down');
    mb.appendChild(r);
  }
  $('memberCount').textContent = v.members.length + ' members' + (v.view === 'leader' ? ', lag as the leader sees it' : '');
  const lb = $('lockRows'); lb.replaceChildren();
  for (const l of v.locks) {
    const r = el('tr'); r.dataset.lock = l.name;
    cell(r, '', 'name').appendChild(el('code', null, l.name));
    cell(r, l.mode, 'mute');
    const h = cell(r, '', 'holders');
    for (const x of l.holders) {
      const c = el('span', 'chip holder'); c.appendChild(document.createTextNode('lease '));
      c.appendChild(el('b', 'lease', x.leaseId)); c.appendChild(document.createTextNode(' · token '));
      c.appendChild(el('b', 'token', x.token)); h.appendChild(c);
    }
    if (l.holdersTotal > l.holders.length) h.appendChild(el('span', 'mute', '+' + (l.holdersTotal - l.holders.length) + ' more'));
    if (l.holdersTotal === 0) h.appendChild(el('span', 'mute', 'none'));
    const q = cell(r, '', 'queue');
    l.waiters.forEach((w, i) => q.appendChild(el('span', 'chip waiter', (i + 1) + '. lease ' + w.leaseId + (w.mode === 'shared' ? ' (shared)' : ''))));
    if (l.waitersTotal > l.waiters.length) q.appendChild(el('span', 'mute', '+' + (l.waitersTotal - l.waiters.length) + ' more'));
    if (l.waitersTotal === 0) q.appendChild(el('span', 'mute', 'empty'));
    lb.appendChild(r);
  }
  $('lockEmpty').hidden = v.locks.length > 0;
  $('lockCountLabel').textContent = v.locks.length < v.counts.locks ? 'showing the first ' + v.locks.length + ' of ' + v.counts.locks + ' by name' : v.counts.locks + ' held or awaited';
}
async function refresh() {
  try {
    const res = await fetch('status.json', { cache: 'no-store' });
    if (!res.ok) throw new Error('HTTP ' + res.status);
    render(await res.json());
    $('conn').textContent = 'live'; $('conn').className = '';
  } catch (err) {
    $('conn').textContent = 'cannot reach this node (' + err.message + '), retrying'; $('conn').className = 'down';
  } finally {
    setTimeout(refresh, 1000);
  }
}
refresh();
`;

const BODY = `<header><h1>raftlock · <span id="cluster">…</span></h1><span class="sub" id="sub">loading</span><span id="conn">connecting</span></header>
<main>
<div class="note" id="note" hidden></div>
<div class="tiles" id="tiles"></div>
<section><h2>Members <span class="count" id="memberCount"></span></h2>
<table id="members"><thead><tr><th>Member</th><th>Role</th><th>Client address</th><th>Match index</th><th>Lag</th><th>Replication</th><th>Link</th></tr></thead><tbody id="memberRows"></tbody></table></section>
<section><h2>Locks <span class="count" id="lockCountLabel"></span></h2>
<table id="locks"><thead><tr><th>Name</th><th>Mode</th><th>Holders</th><th>Queue (in order)</th></tr></thead><tbody id="lockRows"></tbody></table>
<div class="empty" id="lockEmpty">No lock is held or awaited.</div></section>
<footer>Refreshes every second from <a href="status.json">status.json</a>. Prometheus metrics: <a href="metrics">/metrics</a>.</footer>
</main>`;

function sha256(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

/** statusPage returns the page and the Content-Security-Policy that allows exactly its inline script and style. */
export function statusPage(): { readonly html: string; readonly contentSecurityPolicy: string } {
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>raftlock status</title><style>${STYLE}</style></head>
<body>${BODY}<script>${SCRIPT}</script></body></html>
`;
  const contentSecurityPolicy = `default-src 'none'; connect-src 'self'; script-src ${sha256(SCRIPT)}; style-src ${sha256(STYLE)}; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;
  return { html, contentSecurityPolicy };
}

import type { Message, Ready } from '../../src/raft/types.js';
import { formatOp, formatReply, type Packet } from './packets.js';

/**
 * Trace keeps the last `capacity` notable events in a ring buffer of
 * preallocated slots. Slots hold references (packets, Readies are immutable)
 * and are formatted only when a failure is printed, so recording is cheap.
 * With `live` every record is formatted and printed as it happens.
 */

const KIND_TEXT = 0;
const KIND_DELIVER = 1;
const KIND_DROP = 2;
const KIND_PERSIST = 3;

class Slot {
  timeMs = 0;
  node = -1;
  kind = KIND_TEXT;
  text = '';
  msg: Packet | null = null;
  ready: Ready | null = null;
}

export class Trace {
  private readonly slots: Slot[] = [];
  private next = 0;
  private count = 0;

  constructor(
    private readonly capacity: number,
    private readonly live: boolean,
    private readonly nodeNames: readonly string[],
    private readonly print: (line: string) => void = (line) => console.log(line),
  ) {
    for (let i = 0; i < capacity; i++) this.slots.push(new Slot());
  }

  note(timeMs: number, node: number, text: string): void {
    const s = this.slot(timeMs, node, KIND_TEXT);
    s.text = text;
    this.flush(s);
  }

  deliver(timeMs: number, node: number, msg: Packet): void {
    const s = this.slot(timeMs, node, KIND_DELIVER);
    s.msg = msg;
    this.flush(s);
  }

  /** drop records a message the network lost; `reason` is a short constant string. */
  drop(timeMs: number, node: number, msg: Packet, reason: string): void {
    const s = this.slot(timeMs, node, KIND_DROP);
    s.msg = msg;
    s.text = reason;
    this.flush(s);
  }

  persist(timeMs: number, node: number, rd: Ready): void {
    const s = this.slot(timeMs, node, KIND_PERSIST);
    s.ready = rd;
    this.flush(s);
  }

  /** dump formats the retained records, oldest first. */
  dump(): string {
    const lines: string[] = [];
    const n = Math.min(this.count, this.capacity);
    const start = (this.next - n + this.capacity) % this.capacity;
    for (let k = 0; k < n; k++) lines.push(this.format(this.slots[(start + k) % this.capacity] as Slot));
    return lines.join('\n');
  }

  private slot(timeMs: number, node: number, kind: number): Slot {
    const s = this.slots[this.next] as Slot;
    this.next = (this.next + 1) % this.capacity;
    this.count++;
    s.timeMs = timeMs;
    s.node = node;
    s.kind = kind;
    s.msg = null;
    s.ready = null;
    s.text = '';
    return s;
  }

  private flush(s: Slot): void {
    if (this.live) this.print(this.format(s));
  }

  private format(s: Slot): string {
    const who = s.node >= 0 ? (this.nodeNames[s.node] ?? `?${s.node}`) : '--';
    const head = `${s.timeMs.toFixed(3).padStart(10)} ${who.padEnd(3)} `;
    switch (s.kind) {
      case KIND_DELIVER: return `${head}<- ${formatPacket(s.msg as Packet)}`;
      case KIND_DROP: return `${head}xx ${formatPacket(s.msg as Packet)} (${s.text})`;
      case KIND_PERSIST: return `${head}persist ${formatReady(s.ready as Ready)}`;
      default: return `${head}${s.text}`;
    }
  }
}

function range(xs: readonly { index: number; term: number }[]): string {
  if (xs.length === 0) return '[]';
  const a = xs[0] as { index: number; term: number };
  const b = xs[xs.length - 1] as { index: number; term: number };
  return a === b ? `[${a.index}@t${a.term}]` : `[${a.index}@t${a.term}..${b.index}@t${b.term}]`;
}

export function formatPacket(p: Packet): string {
  switch (p.type) {
    case 'client-request': return `request c${p.client}#${p.reqId}.${p.attempt} ${formatOp(p.op)}`;
    case 'client-reply': return `reply ${p.from}->c${p.client}#${p.reqId}.${p.attempt} ${formatReply(p.body)}`;
    case 'forward': return `forward ${p.from}->${p.to} ${p.data.length}B`;
    default: return formatMessage(p);
  }
}

export function formatMessage(m: Message): string {
  const head = `${m.type} ${m.from}->${m.to} t${m.term}`;
  switch (m.type) {
    case 'vote':
    case 'pre-vote':
      return `${head} last=${m.lastIndex}@t${m.lastTerm}${m.transfer ? ' transfer' : ''}`;
    case 'vote-resp':
    case 'pre-vote-resp':
      return `${head} ${m.granted ? 'granted' : 'rejected'}`;
    case 'append':
      return `${head} prev=${m.prevIndex}@t${m.prevTerm} ents=${range(m.entries)} commit=${m.commit}`;
    case 'append-resp':
      return `${head} ${m.reject ? `reject ${m.index} hint=${m.hintIndex}@t${m.hintTerm}` : `ack ${m.index}`}`;
    case 'heartbeat':
      return `${head} commit=${m.commit} round=${m.readRound}`;
    case 'heartbeat-resp':
      return `${head} round=${m.readRound}`;
    case 'snapshot':
      return `${head} snap=${m.meta.index}@t${m.meta.term} off=${m.offset}+${m.chunk.length}/${m.totalBytes}`;
    case 'snapshot-resp':
      return `${head} snap=${m.snapshotIndex} next=${m.nextOffset}${m.reject ? ' reject' : ''}`;
    case 'timeout-now':
      return head;
  }
}

export function formatReady(rd: Ready): string {
  const parts: string[] = [];
  if (rd.softState) parts.push(`soft=${rd.softState.role}/t${rd.softState.term}/L=${rd.softState.leader ?? '-'}`);
  if (rd.hardState) parts.push(`hs=t${rd.hardState.term}/v=${rd.hardState.vote || '-'}/c${rd.hardState.commit}`);
  if (rd.snapshot) parts.push(`snap=${rd.snapshot.meta.index}@t${rd.snapshot.meta.term}`);
  if (rd.entries.length) parts.push(`ents=${range(rd.entries)}`);
  if (rd.messages.length) parts.push(`msgs=${rd.messages.length}`);
  if (rd.committedEntries.length) parts.push(`apply=${range(rd.committedEntries)}`);
  if (rd.readStates.length) parts.push(`reads=${rd.readStates.map((r) => `${r.ctx}@${r.index}`).join(',')}`);
  if (rd.droppedReads.length) parts.push(`dropped=${rd.droppedReads.join(',')}`);
  return parts.join(' ');
}

import type { Entry, Message, SnapshotMeta } from '../../../src/raft/types.js';

/** Sample messages: one of every variant of the Message union, from n1 to n2. */

export function bytesOf(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

export function entries(prevIndex: number, terms: readonly number[], dataBytes = 8): Entry[] {
  return terms.map((term, i) => ({ term, index: prevIndex + 1 + i, type: 'normal' as const, data: bytesOf(dataBytes, i + 1) }));
}

const meta: SnapshotMeta = { index: 120, term: 4, voters: ['n1', 'n2', 'n3'] };

export const env = { from: 'n1', to: 'n2' } as const;

/** everyVariant names a sample for each message type, some with edge values. */
export const everyVariant: ReadonlyArray<readonly [string, Message]> = [
  ['vote', { ...env, type: 'vote', term: 5, lastIndex: 10, lastTerm: 4, transfer: false }],
  ['vote (transfer)', { ...env, type: 'vote', term: 6, lastIndex: 0, lastTerm: 0, transfer: true }],
  ['pre-vote', { ...env, type: 'pre-vote', term: 6, lastIndex: 10, lastTerm: 5, transfer: false }],
  ['vote-resp', { ...env, type: 'vote-resp', term: 5, granted: true }],
  ['pre-vote-resp', { ...env, type: 'pre-vote-resp', term: 6, granted: false }],
  ['append (empty: commit only)', { ...env, type: 'append', term: 3, prevIndex: 7, prevTerm: 3, entries: [], commit: 7 }],
  ['append (entries)', {
    ...env, type: 'append', term: 3, prevIndex: 7, prevTerm: 2,
    entries: [{ term: 3, index: 8, type: 'empty', data: new Uint8Array(0) }, ...entries(8, [3, 3, 3])], commit: 6,
  }],
  ['append (1 MiB entry)', { ...env, type: 'append', term: 9, prevIndex: 0, prevTerm: 0, entries: entries(0, [9], 1 << 20), commit: 0 }],
  ['append (512 entries)', { ...env, type: 'append', term: 9, prevIndex: 1000, prevTerm: 9, entries: entries(1000, new Array<number>(512).fill(9), 100), commit: 999 }],
  ['append (max safe integers)', {
    ...env, type: 'append', term: Number.MAX_SAFE_INTEGER, prevIndex: Number.MAX_SAFE_INTEGER - 1, prevTerm: Number.MAX_SAFE_INTEGER,
    entries: entries(Number.MAX_SAFE_INTEGER - 1, [Number.MAX_SAFE_INTEGER]), commit: Number.MAX_SAFE_INTEGER,
  }],
  ['append-resp', { ...env, type: 'append-resp', term: 3, index: 11, reject: false, hintIndex: 0, hintTerm: 0 }],
  ['append-resp (reject with hint)', { ...env, type: 'append-resp', term: 3, index: 11, reject: true, hintIndex: 9, hintTerm: 2 }],
  ['heartbeat', { ...env, type: 'heartbeat', term: 3, commit: 42, readRound: 17 }],
  ['heartbeat-resp', { ...env, type: 'heartbeat-resp', term: 3, readRound: 17 }],
  ['snapshot (first chunk)', { ...env, type: 'snapshot', term: 4, meta, offset: 0, totalBytes: 3 << 20, chunk: bytesOf(1 << 20, 7) }],
  ['snapshot (last chunk)', { ...env, type: 'snapshot', term: 5, meta, offset: 2 << 20, totalBytes: (2 << 20) + 10, chunk: bytesOf(10, 8) }],
  ['snapshot (empty image)', { ...env, type: 'snapshot', term: 5, meta: { index: 1, term: 1, voters: ['n1'] }, offset: 0, totalBytes: 0, chunk: new Uint8Array(0) }],
  ['snapshot-resp', { ...env, type: 'snapshot-resp', term: 4, snapshotIndex: 120, nextOffset: 1 << 20, reject: false }],
  ['snapshot-resp (reject)', { ...env, type: 'snapshot-resp', term: 4, snapshotIndex: 120, nextOffset: 0, reject: true }],
  ['timeout-now', { ...env, type: 'timeout-now', term: 8 }],
];

/** heartbeat makes a small message whose readRound numbers it, to check order. */
export function heartbeat(from: string, to: string, n: number): Message {
  return { type: 'heartbeat', from, to, term: 1, commit: 0, readRound: n };
}

/** appendOf makes an append carrying one entry of `dataBytes` bytes, numbered by its index. */
export function appendOf(from: string, to: string, n: number, dataBytes: number): Message {
  return { type: 'append', from, to, term: 1, prevIndex: n - 1, prevTerm: n > 1 ? 1 : 0, entries: entries(n - 1, [1], dataBytes), commit: 0 };
}

/** seqOf returns the sequence number heartbeat() or appendOf() put in a message. */
export function seqOf(m: Message): number {
  if (m.type === 'heartbeat') return m.readRound;
  if (m.type === 'append') return m.prevIndex + 1;
  throw new Error(`seqOf: unexpected ${m.type}`);
}

/**
 * comparable replaces every byte array by a base64 string so that deep
 * equality on megabyte payloads stays fast (vitest compares typed arrays
 * element by element).
 */
export function comparable(v: unknown): unknown {
  if (v instanceof Uint8Array) return `bytes:${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64')}`;
  if (Array.isArray(v)) return v.map(comparable);
  if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, comparable(x)]));
  return v;
}

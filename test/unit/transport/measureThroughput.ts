/**
 * measureThroughput: messages per second between two PeerTransports on
 * loopback. Not a test (speed lives in benchmarks): run it by hand with
 *
 *   npx tsx test/unit/transport/measureThroughput.ts [seconds] [entriesPerMessage]
 *
 * n1 sends AppendEntries messages carrying `entriesPerMessage` entries of 100
 * bytes each to n2, as fast as n1's queue takes them without dropping (the
 * producer waits while more than half the queue is in use); the figure is
 * what n2's onMessage received per second.
 */
import { pino } from 'pino';
import type { Message } from '../../../src/raft/types.js';
import { PeerTransport } from '../../../src/transport/peerTransport.js';

const seconds = Number(process.argv[2] ?? 5);
const perMessage = Number(process.argv[3] ?? 1);
const ENTRY_BYTES = 100;
const CHUNK = 256;

async function main(): Promise<void> {
  const logger = pino({ level: 'warn' });
  let received = 0;
  let receivedEntries = 0;
  const make = (id: string, peers: Map<string, string>, onMessage: (m: Message) => void): PeerTransport =>
    new PeerTransport({ nodeId: id, clusterId: 'bench', peers, onMessage, logger });

  // Listen first on port 0, then wire the peers: n2 never sends, so it needs no address for n1.
  const b = make('n2', new Map([['n1', '127.0.0.1:1']]), (m) => {
    received++;
    if (m.type === 'append') receivedEntries += m.entries.length;
  });
  const portB = await b.listen('127.0.0.1:0');
  const a = make('n1', new Map([['n2', `127.0.0.1:${portB}`]]), () => undefined);

  const data = new Uint8Array(ENTRY_BYTES).fill(7);
  let index = 0;
  const nextMessage = (): Message => {
    const prevIndex = index;
    const entries = Array.from({ length: perMessage }, () => ({ term: 1, index: ++index, type: 'normal' as const, data }));
    return { type: 'append', from: 'n1', to: 'n2', term: 1, prevIndex, prevTerm: prevIndex === 0 ? 0 : 1, entries, commit: 0 };
  };

  const stats = (): { queued: number; dropped: number; sent: number } => a.stats().peers.get('n2') as { queued: number; dropped: number; sent: number };
  const pump = async (untilMs: number): Promise<void> => {
    while (performance.now() < untilMs) {
      if (stats().queued < 2048) a.send(Array.from({ length: CHUNK }, nextMessage));
      await new Promise((resolve) => setImmediate(resolve));
    }
  };

  await pump(performance.now() + 1000); // warm up: connect, JIT
  const r0 = received;
  const e0 = receivedEntries;
  const t0 = performance.now();
  await pump(t0 + seconds * 1000);
  const elapsed = (performance.now() - t0) / 1000;
  const msgs = (received - r0) / elapsed;
  const entries = (receivedEntries - e0) / elapsed;
  const s = stats();
  console.log(JSON.stringify({
    node: process.version,
    seconds: Number(elapsed.toFixed(2)),
    entriesPerMessage: perMessage,
    entryBytes: ENTRY_BYTES,
    messagesPerSecond: Math.round(msgs),
    entriesPerSecond: Math.round(entries),
    payloadMiBPerSecond: Number(((entries * ENTRY_BYTES) / (1 << 20)).toFixed(1)),
    dropped: s.dropped,
  }));
  await Promise.all([a.stop(), b.stop()]);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});

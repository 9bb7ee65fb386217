import { spawn, type ChildProcess } from 'node:child_process';
import { connect, createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { FaultProxy } from './faultProxy.js';
import { LinkDemux } from './linkDemux.js';

/**
 * LinkDemux: connections to one address are told apart by the process that
 * opened them and each goes through its own link's FaultProxy; a connection
 * from a process that is not a known node is closed. Two child processes
 * stand in for node processes: each connects, sends its name and prints
 * what comes back (an echo server is the target).
 */

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function echoServer(): Promise<string> {
  const server: Server = createServer((s) => s.pipe(s));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.push(() => new Promise((resolve) => server.close(() => resolve())));
  const a = server.address();
  if (a === null || typeof a === 'string') throw new Error('no address');
  return `127.0.0.1:${a.port}`;
}

/** child connects to `address`, writes `name`, prints what it reads within 3 s (or "closed"), then exits. */
function child(address: string, name: string): { proc: ChildProcess; output: Promise<string> } {
  const [host, port] = address.split(':');
  const script = `
    const s = require('node:net').connect({ host: ${JSON.stringify(host)}, port: ${Number(port)} });
    let got = '';
    s.on('connect', () => s.write(${JSON.stringify(name)}));
    s.on('data', (d) => { got += d; if (got.length >= ${name.length}) { process.stdout.write('echo:' + got); process.exit(0); } });
    s.on('close', () => { process.stdout.write('closed'); process.exit(0); });
    s.on('error', () => undefined);
    setTimeout(() => { process.stdout.write('silent'); process.exit(0); }, 3000);
  `;
  const proc = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  cleanup.push(async () => {
    if (proc.exitCode === null) proc.kill('SIGKILL');
  });
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  const output = new Promise<string>((resolve) => proc.once('exit', () => resolve(out)));
  return { proc, output };
}

describe('LinkDemux', () => {
  it('routes each connection through the link of the process that opened it, and closes strangers', async () => {
    const target = await echoServer();
    const links = new Map([
      ['a', new FaultProxy({ name: 'raft a->s', target })],
      ['b', new FaultProxy({ name: 'raft b->s', target })],
    ]);
    cleanup.push(async () => { for (const p of links.values()) await p.close(); });
    links.get('b')!.setMode({ kind: 'refuse' });
    const pids = new Map<string, number>();
    const demux = new LinkDemux('raft *->s', () => pids, (from) => links.get(from));
    const address = await demux.listen();
    cleanup.push(() => demux.close());

    const a = child(address, 'from-a');
    const b = child(address, 'from-b');
    pids.set('a', a.proc.pid!);
    pids.set('b', b.proc.pid!);
    const [outA, outB] = await Promise.all([a.output, b.output]);

    expect(outA).toBe('echo:from-a'); // a's link passes
    expect(outB).toBe('closed'); // b's link refuses: b's bytes never reached the target
    expect(links.get('a')!.stats.accepted).toBe(1);
    expect(links.get('b')!.stats.refused).toBe(1);
    expect(demux.stats.routed).toBe(2);

    // This process is no node: its connection is closed without reaching any link.
    const own = connect({ host: '127.0.0.1', port: Number(address.split(':')[1]) });
    const ownEnd = await new Promise<string>((resolve) => {
      own.on('data', () => resolve('data'));
      own.on('close', () => resolve('closed'));
      own.on('error', () => undefined);
      own.write('hello');
    });
    expect(ownEnd).toBe('closed');
    expect(demux.stats.unidentified).toBe(1);
    expect(links.get('a')!.stats.accepted + links.get('b')!.stats.accepted).toBe(1);
  });
});

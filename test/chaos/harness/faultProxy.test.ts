import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { FaultProxy } from './faultProxy.js';
import { trackLocalSockets } from './localSockets.js';

/** An echo server and a proxy in front of it; everything closed after each test. */
const opened: { servers: Server[]; proxies: FaultProxy[]; sockets: Socket[] } = { servers: [], proxies: [], sockets: [] };

afterEach(async () => {
  for (const s of opened.sockets.splice(0)) s.destroy();
  await Promise.all(opened.proxies.splice(0).map((p) => p.close()));
  await Promise.all(opened.servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
});

async function echoBehindProxy(o: { refuseOwnProcess?: boolean } = {}): Promise<FaultProxy> {
  const server = createServer((s) => {
    s.on('error', () => undefined);
    s.pipe(s);
  });
  opened.servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  const proxy = new FaultProxy({ name: 'test', target: `127.0.0.1:${address.port}`, ...o });
  opened.proxies.push(proxy);
  await proxy.listen();
  return proxy;
}

/** dial connects to the proxy and collects what comes back; `closed` resolves when the connection ends. */
async function dial(proxy: FaultProxy): Promise<{ socket: Socket; received: () => string; closed: Promise<void> }> {
  const [host, port] = proxy.address.split(':');
  const socket = createConnection({ host: host!, port: Number(port) });
  opened.sockets.push(socket);
  let data = '';
  socket.on('data', (c: Buffer) => (data += c.toString()));
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  return { socket, received: () => data, closed };
}

async function until(probe: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (probe()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`not within 2 s: ${what}`);
}

describe('FaultProxy', () => {
  it('passes bytes both ways', async () => {
    const proxy = await echoBehindProxy();
    const c = await dial(proxy);
    c.socket.write('hello');
    await until(() => c.received() === 'hello', 'the echo');
  });

  it('refuse closes open connections and every new one', async () => {
    const proxy = await echoBehindProxy();
    const c = await dial(proxy);
    proxy.setMode({ kind: 'refuse' });
    await c.closed;
    const d = await dial(proxy);
    await d.closed;
    expect(proxy.stats.refused).toBe(1);
  });

  it('blackhole keeps the connection open and drops every byte; healing closes the broken connection', async () => {
    const proxy = await echoBehindProxy();
    const c = await dial(proxy);
    proxy.setMode({ kind: 'blackhole' });
    c.socket.write('lost');
    await until(() => proxy.stats.droppedBytes === 4, 'the bytes dropped');
    expect(c.received()).toBe('');
    expect(c.socket.destroyed).toBe(false);
    proxy.setMode({ kind: 'pass' });
    await c.closed;
    const d = await dial(proxy);
    d.socket.write('again');
    await until(() => d.received() === 'again', 'the echo after the heal');
  });

  it('latency delivers late but in order, and leaving latency mode flushes what it holds', async () => {
    const proxy = await echoBehindProxy();
    const c = await dial(proxy);
    proxy.setMode({ kind: 'latency', delayMs: 200 });
    for (const part of ['a', 'b', 'c']) c.socket.write(part);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(c.received()).toBe('');
    await until(() => c.received() === 'abc', 'the delayed bytes, in order');
    proxy.setMode({ kind: 'latency', delayMs: 10_000 });
    c.socket.write('d');
    await new Promise((resolve) => setTimeout(resolve, 50));
    proxy.setMode({ kind: 'pass' });
    c.socket.write('e');
    await until(() => c.received() === 'abcde', 'the held byte flushed before the next one');
  });

  it('refuseOwnProcess closes connections this process opened (clients must use their own proxies)', async () => {
    trackLocalSockets();
    const proxy = await echoBehindProxy({ refuseOwnProcess: true });
    const c = await dial(proxy);
    c.socket.write('x');
    await c.closed;
    expect(c.received()).toBe('');
    expect(proxy.stats.refused).toBe(1);
  });

  it('rejects a latency outside 0-60000 ms', async () => {
    const proxy = await echoBehindProxy();
    expect(() => proxy.setMode({ kind: 'latency', delayMs: -1 })).toThrow(/0 to 60000/);
  });
});

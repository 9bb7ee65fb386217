import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { isOwnConnection } from './localSockets.js';
import { listenLoopback } from './listenLoopback.js';

/**
 * LinkMode is what a fault point does to the bytes of its connections:
 * - pass: relay both ways.
 * - refuse: close every open connection and close each new one at once (a
 *   dead port or a REJECT rule: the sender learns at once).
 * - blackhole: accept and keep connections open but silently drop every byte
 *   both ways (a DROP rule: the sender learns only by timing out). A
 *   connection that lost bytes is closed when the mode changes again, since
 *   its byte stream is broken (TCP would have retransmitted; HTTP/2 cannot
 *   resume mid-frame).
 * - latency: deliver the bytes from the connecting side `delayMs` late, in
 *   order; the answering side's bytes (acks, replies) pass at once.
 */
export type LinkMode =
  | { readonly kind: 'pass' }
  | { readonly kind: 'refuse' }
  | { readonly kind: 'blackhole' }
  | { readonly kind: 'latency'; readonly delayMs: number };

export const PASS: LinkMode = Object.freeze({ kind: 'pass' });

export function describeMode(mode: LinkMode): string {
  return mode.kind === 'latency' ? `latency ${mode.delayMs} ms` : mode.kind;
}

export interface FaultProxyOptions {
  /** name, for messages: e.g. "raft n1->n2", "fwd n1->n2", "client c3->n2". */
  readonly name: string;
  /** target: "127.0.0.1:port" the proxy relays to (settable later with setTarget, before any connection). */
  readonly target: string;
  /**
   * refuseOwnProcess: close connections opened by the harness process itself
   * (see localSockets.ts) — set on node->node forwarding proxies, so workload
   * clients only ever reach the cluster through their own proxies.
   */
  readonly refuseOwnProcess?: boolean;
}

/** MAX_DELAYED_BYTES bounds what a latency link holds per connection; the sender is paused beyond it. */
const MAX_DELAYED_BYTES = 4 * 1024 * 1024;

/**
 * FaultProxy is one fault point: a TCP relay on 127.0.0.1 in front of one
 * listener, whose mode the harness switches at any time. Node processes are
 * configured to reach each other (and clients to reach nodes) only through
 * these, so no fault needs code inside the node.
 */
export class FaultProxy {
  private server: Server | null = null;
  private readonly pipes = new Set<Pipe>();
  private current: LinkMode = PASS;
  private port = 0;
  /** Counts for the report: connections accepted, refused, and bytes dropped. */
  readonly stats = { accepted: 0, refused: 0, droppedBytes: 0 };

  private targetAddress: string;

  constructor(readonly options: FaultProxyOptions) {
    this.targetAddress = options.target;
  }

  /** target: where connections are relayed. */
  get target(): string {
    return this.targetAddress;
  }

  /**
   * setTarget points new connections elsewhere. The cluster opens its proxies
   * before it picks the nodes' ports, so that picking never hands out a port
   * a proxy is about to take.
   */
  setTarget(address: string): void {
    this.targetAddress = address;
  }

  /** listen binds a free port on 127.0.0.1 and returns "127.0.0.1:port". */
  async listen(): Promise<string> {
    const server = createServer({ noDelay: true }, (socket) => this.accept(socket));
    this.server = server;
    this.port = await listenLoopback(server, this.options.name);
    return this.address;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  get mode(): LinkMode {
    return this.current;
  }

  /** setMode switches the fault; see LinkMode for what each mode does to open connections. */
  setMode(mode: LinkMode): void {
    if (mode.kind === 'latency' && !(Number.isInteger(mode.delayMs) && mode.delayMs >= 0 && mode.delayMs <= 60_000)) {
      throw new Error(`${this.options.name}: latency delayMs must be an integer from 0 to 60000, got ${mode.delayMs}`);
    }
    const previous = this.current;
    this.current = mode;
    for (const pipe of [...this.pipes]) {
      if (mode.kind === 'refuse' || (previous.kind === 'blackhole' && mode.kind !== 'blackhole' && pipe.droppedBytes > 0)) pipe.destroy();
      else if (previous.kind === 'latency' && mode.kind !== 'latency') pipe.flushDelayed();
    }
  }

  /** close stops listening and closes every connection. */
  async close(): Promise<void> {
    for (const pipe of [...this.pipes]) pipe.destroy();
    const server = this.server;
    this.server = null;
    if (server !== null) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** @internal */
  forget(pipe: Pipe): void {
    this.pipes.delete(pipe);
  }

  /**
   * adopt takes over a connection accepted elsewhere (a LinkDemux that found
   * which node opened it) as if this proxy had accepted it. The socket may
   * have been paused while its origin was looked up: it flows again here.
   */
  adopt(down: Socket): void {
    this.accept(down);
    if (!down.destroyed) down.resume();
  }

  private accept(down: Socket): void {
    down.setNoDelay(true);
    if (this.current.kind === 'refuse') {
      this.stats.refused++;
      down.on('error', () => undefined);
      down.destroy();
      return;
    }
    this.stats.accepted++;
    this.pipes.add(new Pipe(this, down));
  }

  /** @internal: whether a connection must be refused because this process opened it. */
  refusesOwn(down: Socket): boolean {
    return this.options.refuseOwnProcess === true && isOwnConnection(down);
  }
}

interface Delayed {
  readonly chunk: Buffer;
  readonly dueAt: number;
}

/** Pipe is one relayed connection: `down` accepted from the connecting side, `up` opened to the target. */
class Pipe {
  private readonly up: Socket;
  private checkedOrigin = false;
  private closed = false;
  droppedBytes = 0;
  private readonly delayed: Delayed[] = [];
  private delayedBytes = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly proxy: FaultProxy, private readonly down: Socket) {
    const [host, port] = splitAddress(proxy.target);
    this.up = createConnection({ host, port, noDelay: true });
    down.on('data', (chunk: Buffer) => this.fromDown(chunk));
    this.up.on('data', (chunk: Buffer) => this.fromUp(chunk));
    for (const s of [down, this.up]) {
      s.on('error', () => this.destroy());
      s.on('close', () => this.destroy());
    }
    this.up.on('drain', () => down.resume());
    down.on('drain', () => this.up.resume());
  }

  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.delayed.length = 0;
    this.down.destroy();
    this.up.destroy();
    this.proxy.forget(this);
  }

  /** flushDelayed delivers everything a latency link still holds (the link left latency mode). */
  flushDelayed(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    for (const d of this.delayed.splice(0)) this.write(this.up, this.down, d.chunk);
    this.delayedBytes = 0;
  }

  private fromDown(chunk: Buffer): void {
    if (this.closed) return;
    if (!this.checkedOrigin) {
      this.checkedOrigin = true;
      if (this.proxy.refusesOwn(this.down)) {
        this.proxy.stats.refused++;
        this.destroy();
        return;
      }
    }
    const mode = this.proxy.mode;
    if (mode.kind === 'blackhole' || mode.kind === 'refuse') {
      this.drop(chunk);
      return;
    }
    if (mode.kind === 'latency' && mode.delayMs > 0) {
      const last = this.delayed.at(-1)?.dueAt ?? 0;
      this.delayed.push({ chunk, dueAt: Math.max(last, performance.now() + mode.delayMs) });
      this.delayedBytes += chunk.length;
      if (this.delayedBytes > MAX_DELAYED_BYTES) this.down.pause();
      this.schedule();
      return;
    }
    if (this.delayed.length > 0) {
      this.flushDelayed();
    }
    this.write(this.up, this.down, chunk);
  }

  private fromUp(chunk: Buffer): void {
    if (this.closed) return;
    const mode = this.proxy.mode;
    if (mode.kind === 'blackhole' || mode.kind === 'refuse') {
      this.drop(chunk);
      return;
    }
    this.write(this.down, this.up, chunk);
  }

  private drop(chunk: Buffer): void {
    this.droppedBytes += chunk.length;
    this.proxy.stats.droppedBytes += chunk.length;
  }

  /** write relays with backpressure: the source pauses until the destination drains. */
  private write(to: Socket, from: Socket, chunk: Buffer): void {
    if (!to.write(chunk)) from.pause();
  }

  private schedule(): void {
    if (this.timer !== null || this.delayed.length === 0) return;
    const waitMs = Math.max(0, this.delayed[0]!.dueAt - performance.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      const now = performance.now();
      while (this.delayed.length > 0 && this.delayed[0]!.dueAt <= now + 1) {
        const d = this.delayed.shift()!;
        this.delayedBytes -= d.chunk.length;
        if (this.proxy.mode.kind === 'blackhole' || this.proxy.mode.kind === 'refuse') this.drop(d.chunk);
        else this.write(this.up, this.down, d.chunk);
      }
      if (this.delayedBytes <= MAX_DELAYED_BYTES) this.down.resume();
      this.schedule();
    }, waitMs);
  }
}

function splitAddress(address: string): [string, number] {
  const at = address.lastIndexOf(':');
  return [address.slice(0, at), Number(address.slice(at + 1))];
}

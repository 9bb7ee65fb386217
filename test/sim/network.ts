import type { SeededRng } from '../../src/raft/prng.js';
import { check, fail } from './assert.js';
import type { Packet } from './packets.js';

/**
 * Network is the virtual packet network between n nodes and m clients:
 * endpoints 0..n-1 are the nodes, n..n+m-1 the clients, so a partition can put
 * clients on either side (and strand one with a deposed leader). Every directed
 * link is up or cut; a packet sent over an up link may be lost, duplicated, and
 * is delayed by a random amount (so packets reorder). Packets are immutable:
 * the same object is delivered (twice, if duplicated). A link holds at most
 * `inflightMaxPerLink` packets in flight; beyond that it drops, like a full
 * socket buffer.
 */

export interface NetworkFaults {
  lossRate: number;
  dupRate: number;
  delayMinMs: number;
  delayMaxMs: number;
}

export interface NetworkStats {
  sent: number;
  delivered: number;
  dropped: number;
  duplicated: number;
}

/** NetworkSink schedules the arrival of `msg` on the link from -> to at `atMs`. */
export type NetworkSink = (atMs: number, from: number, to: number, msg: Packet) => void;
/** DropObserver sees every packet the network loses, with a constant reason. */
export type DropObserver = (from: number, to: number, msg: Packet, reason: string) => void;

export class Network {
  private readonly cut: Uint8Array;
  private readonly inflight: Int32Array;
  readonly endpointCount: number;
  readonly stats: NetworkStats = { sent: 0, delivered: 0, dropped: 0, duplicated: 0 };

  constructor(
    readonly nodeCount: number,
    readonly clientCount: number,
    private readonly faults: NetworkFaults,
    private readonly rng: SeededRng,
    private readonly sink: NetworkSink,
    private readonly onDrop: DropObserver,
    private readonly inflightMaxPerLink: number = 256,
  ) {
    check(faults.delayMinMs >= 0 && faults.delayMaxMs >= faults.delayMinMs, 'network: bad delay range');
    this.endpointCount = nodeCount + clientCount;
    this.cut = new Uint8Array(this.endpointCount * this.endpointCount);
    this.inflight = new Int32Array(this.endpointCount * this.endpointCount);
  }

  /** clientEndpoint is the endpoint of client `c`. */
  clientEndpoint(c: number): number {
    return this.nodeCount + c;
  }

  send(nowMs: number, from: number, to: number, msg: Packet): void {
    if (from === to) fail(`network: endpoint ${from} sends ${msg.type} to itself`);
    if (!(to >= 0 && to < this.endpointCount)) fail(`network: unknown destination ${to} for ${msg.type}`);
    if (from >= this.nodeCount && to >= this.nodeCount) fail(`network: client endpoint ${from} sends to client endpoint ${to}`);
    this.stats.sent++;
    if (this.cut[from * this.endpointCount + to] === 1) return this.drop(from, to, msg, 'cut');
    if (this.faults.lossRate > 0 && this.rng.chance(this.faults.lossRate)) return this.drop(from, to, msg, 'lost');
    this.enqueue(nowMs, from, to, msg);
    if (this.faults.dupRate > 0 && this.rng.chance(this.faults.dupRate)) {
      this.stats.duplicated++;
      this.enqueue(nowMs, from, to, msg);
    }
  }

  /**
   * arrive is called when a scheduled message reaches the destination's NIC;
   * it returns false when the link was cut while the message was in flight.
   */
  arrive(from: number, to: number, msg: Packet): boolean {
    const link = from * this.endpointCount + to;
    check((this.inflight[link] as number) > 0, 'network: arrival on a link with nothing in flight');
    this.inflight[link] = (this.inflight[link] as number) - 1;
    if (this.cut[link] === 1) {
      this.drop(from, to, msg, 'cut in flight');
      return false;
    }
    this.stats.delivered++;
    return true;
  }

  isCut(from: number, to: number): boolean {
    return this.cut[from * this.endpointCount + to] === 1;
  }

  setCut(from: number, to: number, isCut: boolean): void {
    check(from !== to, 'network: an endpoint cannot be cut from itself');
    this.cut[from * this.endpointCount + to] = isCut ? 1 : 0;
  }

  healAll(): void {
    this.cut.fill(0);
  }

  cutCount(): number {
    let n = 0;
    for (let i = 0; i < this.cut.length; i++) n += this.cut[i] as number;
    return n;
  }

  /** stopFaults turns off loss and duplication for the liveness phase; delays (reordering) stay. */
  stopFaults(): void {
    this.faults.lossRate = 0;
    this.faults.dupRate = 0;
  }

  private enqueue(nowMs: number, from: number, to: number, msg: Packet): void {
    const link = from * this.endpointCount + to;
    if ((this.inflight[link] as number) >= this.inflightMaxPerLink) return this.drop(from, to, msg, 'link full');
    this.inflight[link] = (this.inflight[link] as number) + 1;
    const { delayMinMs, delayMaxMs } = this.faults;
    const delayMs = delayMinMs + this.rng.nextFloat() * (delayMaxMs - delayMinMs);
    this.sink(nowMs + delayMs, from, to, msg);
  }

  private drop(from: number, to: number, msg: Packet, reason: string): void {
    this.stats.dropped++;
    this.onDrop(from, to, msg, reason);
  }
}

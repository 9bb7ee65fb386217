import { fail } from './assert.js';
import type { Packet } from './packets.js';

/** EventKind names everything that can happen at an instant of virtual time. */
export const EventKind = {
  tick: 0,
  deliver: 1,
  persistDone: 2,
  client: 3,
  crash: 4,
  restart: 5,
  pause: 6,
  resume: 7,
  partition: 8,
  heal: 9,
  transfer: 10,
  livenessStart: 11,
  livenessCheck: 12,
  leaderPause: 13,
  membership: 14,
} as const;
export type EventKind = (typeof EventKind)[keyof typeof EventKind];

/**
 * SimEvent is one scheduled event. `node` is the node (or client; for a
 * delivery, the destination endpoint: nodes first, then clients) it concerns,
 * -1 for cluster-wide events; `arg` is kind specific: the sender's endpoint for
 * a delivery, the incarnation for node-scoped timers. Events are pooled: the
 * queue sets timeMs and seq, and `held` marks an event parked in a paused
 * node's backlog (it must not be recycled yet).
 */
export class SimEvent {
  timeMs = 0;
  seq = 0;
  kind: EventKind = EventKind.tick;
  node = -1;
  arg = 0;
  msg: Packet | null = null;
  held = false;
}

/** EventPool recycles SimEvents so the hot loop allocates almost nothing. */
export class EventPool {
  private readonly free: SimEvent[] = [];

  constructor(private readonly freeMax: number) {}

  take(kind: EventKind, node: number, arg: number, msg: Packet | null): SimEvent {
    const ev = this.free.pop() ?? new SimEvent();
    ev.kind = kind;
    ev.node = node;
    ev.arg = arg;
    ev.msg = msg;
    ev.held = false;
    return ev;
  }

  give(ev: SimEvent): void {
    if (ev.held) fail('event pool: recycling an event held in a backlog');
    ev.msg = null;
    if (this.free.length < this.freeMax) this.free.push(ev);
  }
}
